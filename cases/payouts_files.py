"""Reading the spreadsheets staff upload for mass payouts: payee lists and bank result files.

A file is CSV (UTF-8, UTF-8 with a BOM, or GBK/GB18030: the encoding is found, never
guessed silently) or XLSX (read with openpyxl in read-only mode). What comes out is a
:class:`Table`: the columns found, by field name, and the data rows with their row number
as a spreadsheet program shows it (the header is row 1). Anything that stops the whole file
being read — too large, not a spreadsheet, an encoding we cannot tell, missing columns —
is a :class:`PayoutFileError` that says what to do.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from kernel.errors import BilingualError

MIB = 1024 * 1024
MAX_FILE_BYTES = 32 * MIB  # a 170,000-payee CSV is about 10 MB, its XLSX about 6 MB
MAX_ROWS = 500_000  # well above any batch; bounds memory for a hostile file under the byte cap
MAX_CELL_CHARS = 200
LONG_NUMBER = "\x00n:"  # marks a workbook cell that was a long number (see Table.long_numbers)
MAX_XLSX_UNPACKED = 400 * MIB  # a 170,000-payee workbook unpacks to about 40 MB

UTF8_BOM = b"\xef\xbb\xbf"
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary Excel format (OLE compound file)


class PayoutFileError(BilingualError):
    """The file as a whole cannot be taken: nothing is imported."""

    status_code = 400
    code = "payout_file"


class FileTooLarge(PayoutFileError):
    status_code = 413
    code = "payout_file_too_large"


class UnreadableEncoding(PayoutFileError):
    code = "payout_file_encoding"


class WrongColumns(PayoutFileError):
    code = "payout_file_columns"


@dataclass(frozen=True)
class Column:
    """A column a file must (or may) have, and the headings it is known by."""

    field: str
    zh: str
    en: str
    aliases: tuple[str, ...]
    required: bool = True


def _key(heading: str) -> str:
    """A heading compared loosely: width, case, spaces, brackets and underscores do not matter."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    for ch in " _-()（）[]【】:：*":
        text = text.replace(ch, "")
    return text


@dataclass
class Table:
    """The rows of one file, each a dict field → cell text, with its spreadsheet row number."""

    kind: str  # "csv" or "xlsx"
    encoding: str  # "UTF-8", "UTF-8 (BOM)", "GBK", or "XLSX"
    columns: list[str]  # the fields found, in file order
    rows: list[tuple[int, dict[str, str]]]
    empty_rows: list[int] = field(default_factory=list)  # rows with nothing in them: reported, not imported
    ignored_headings: list[str] = field(default_factory=list)
    # (row, field) of workbook cells that held a number of 15+ digits: Excel keeps only 15 significant
    # digits, so an ID number or account typed as a number has already lost its last digits.
    long_numbers: set[tuple[int, str]] = field(default_factory=set)


def check_size(size: int) -> None:
    if size > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"文件过大:最多 {MAX_FILE_BYTES // MIB} MB,此文件 {size / MIB:.1f} MB。请分成几个批次上传。",
            f"The file is too large: at most {MAX_FILE_BYTES // MIB} MB, and this one is {size / MIB:.1f} MB. "
            "Split it into several batches.",
            limit_bytes=MAX_FILE_BYTES, size_bytes=size)
    if size == 0:
        raise PayoutFileError("文件是空的。请选择导出的 CSV 或 XLSX 文件。",
                              "The file is empty. Choose the exported CSV or XLSX file.")


# Non-ASCII characters a Chinese payee list is made of: CJK ideographs (with extension A),
# CJK punctuation, full-width forms and the middle dot of transliterated names.
def _plausible_chinese(ch: str) -> bool:
    cp = ord(ch)
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x3000 <= cp <= 0x303F
            or 0xFF00 <= cp <= 0xFFEF or cp in (0x00B7, 0x2022, 0x2014, 0x2026, 0x201C, 0x201D, 0x2018, 0x2019)
            or 0x20000 <= cp <= 0x2A6DF)


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file and the encoding it was in.

    UTF-8 with a BOM is taken as such; otherwise strict UTF-8; otherwise GB18030 (a superset
    of GBK), but only when what it decodes to looks like Chinese: a Latin-1 or Windows-1252
    file can also pass a GBK decoder, and would turn into nonsense names. Anything else is
    refused with what to do about it.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise UnreadableEncoding(
            "文件是 UTF-16 编码(Excel 的“Unicode 文本”)。请在 Excel 中另存为“CSV UTF-8(逗号分隔)”或 XLSX。",
            "The file is UTF-16 (Excel's “Unicode Text”). In Excel, save it as “CSV UTF-8 (Comma delimited)” or XLSX.")
    if data.startswith(UTF8_BOM):
        try:
            return data[len(UTF8_BOM):].decode("utf-8"), "UTF-8 (BOM)"
        except UnicodeDecodeError as exc:
            raise _undecodable(data, exc.start + len(UTF8_BOM), "UTF-8") from None
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise _undecodable(data, utf8_error.start, None) from None
        wide = [ch for ch in text if ord(ch) > 0x7F]
        odd = sum(1 for ch in wide if not _plausible_chinese(ch))
        if odd > max(2, len(wide) // 50):  # more than ~2% of the non-ASCII text is not Chinese
            raise _undecodable(data, utf8_error.start, None) from None
        return text, "GBK"


def _undecodable(data: bytes, offset: int, encoding: str | None) -> UnreadableEncoding:
    line = data.count(b"\n", 0, offset) + 1
    if encoding:
        return UnreadableEncoding(
            f"文件标明为 {encoding},但第 {line} 行有不是 {encoding} 的字节。请重新导出为 CSV UTF-8 或 XLSX。",
            f"The file says it is {encoding}, but line {line} has bytes that are not {encoding}. "
            "Export it again as CSV UTF-8 or XLSX.", line=line)
    return UnreadableEncoding(
        f"无法识别文件的编码(第 {line} 行起既不是 UTF-8 也不是 GBK)。请在 Excel 中另存为“CSV UTF-8(逗号分隔)”或 XLSX。",
        f"Cannot tell the file's encoding (from line {line} on it is neither UTF-8 nor GBK). "
        "In Excel, save it as “CSV UTF-8 (Comma delimited)” or XLSX.", line=line)


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a number cell typed 1500 comes back as 1500.0
    text = str(value).strip()
    return text[:MAX_CELL_CHARS + 1]  # one character more, so "too long" can still be told


def _csv_records(text: str) -> Iterator[list[str]]:
    sample = text[:4096]
    delimiter = ","
    first_line = sample.split("\n", 1)[0]
    if first_line.count("\t") > first_line.count(","):
        delimiter = "\t"  # a tab-separated export saved with a .csv name
    elif first_line.count(";") > first_line.count(","):
        delimiter = ";"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    try:
        yield from reader
    except csv.Error as exc:
        raise PayoutFileError(f"CSV 文件格式有误(第 {reader.line_num} 行):请检查引号是否成对。",
                              f"The CSV file is malformed at line {reader.line_num}: check that quotes come in pairs.",
                              line=reader.line_num, reason=str(exc)) from None


def _xlsx_records(data: bytes) -> Iterator[list[str]]:
    import openpyxl  # imported here: only staff uploads need it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        unpacked = 0  # openpyxl below says it cannot open the file
    if unpacked > MAX_XLSX_UNPACKED:  # a workbook that unpacks to far more than any payee list (a zip bomb)
        raise PayoutFileError(f"XLSX 文件解压后过大(超过 {MAX_XLSX_UNPACKED // MIB} MB)。请另存为 CSV UTF-8 后上传。",
                              f"The XLSX file unpacks to more than {MAX_XLSX_UNPACKED // MIB} MB. Save it as CSV "
                              "UTF-8 and upload that.")
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise PayoutFileError("XLSX 文件无法打开(文件可能已损坏或不是 Excel 工作簿)。请重新导出。",
                              "The XLSX file cannot be opened (it may be damaged, or not an Excel workbook). "
                              "Export it again.", reason=type(exc).__name__) from None
    try:
        sheet = book.worksheets[0]  # the first sheet: say so in the docs and the form
        for values in sheet.iter_rows(values_only=True):
            cells = [_clean(v) for v in values]
            for i, v in enumerate(values):
                if isinstance(v, int | float) and not isinstance(v, bool) and abs(v) >= 1e14:
                    cells[i] = LONG_NUMBER + cells[i]  # told apart below; never a real cell's text
            yield cells
    finally:
        book.close()


def sniff(data: bytes, filename: str) -> str:
    """"csv" or "xlsx", from the file's first bytes (a name can lie), else a clear refusal."""
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    if data.startswith(XLS_MAGIC):
        raise PayoutFileError("这是旧版 Excel(.xls)文件。请另存为 .xlsx 或 CSV UTF-8 后上传。",
                              "This is an old Excel (.xls) file. Save it as .xlsx or CSV UTF-8 and upload that.")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PayoutFileError("这不是 CSV 或 XLSX 文件。请上传导出的表格。",
                              "This is not a CSV or XLSX file. Upload the exported spreadsheet.",
                              filename=filename[:100])
    return "csv"


def read_table(data: bytes, filename: str, columns: Sequence[Column]) -> Table:
    """The file's rows by field, or a PayoutFileError (size, format, encoding, headings)."""
    check_size(len(data))
    kind = sniff(data, filename)
    if kind == "xlsx":
        records: Iterator[list[str]] = _xlsx_records(data)
        encoding = "XLSX"
    else:
        text, encoding = decode(data)
        if "\x00" in text:
            raise PayoutFileError("文件中有空字符(NUL),不是文本表格。请重新导出为 CSV 或 XLSX。",
                                  "The file contains NUL characters: it is not a text table. Export it again.")
        cap = MAX_CELL_CHARS + 1
        records = ([cell.strip()[:cap] for cell in r] for r in _csv_records(text))  # CSV cells are text already
    header: list[str] | None = None
    header_row = 0
    row_no = 0
    table = Table(kind=kind, encoding=encoding, columns=[], rows=[])
    positions: list[tuple[int, str]] = []
    for record in records:
        row_no += 1
        if header is None:
            if not any(record):
                continue  # blank lines above the headings
            header, header_row = record, row_no
            positions, table.columns, table.ignored_headings = _match_headings(header, columns)
            continue
        if not any(record):
            table.empty_rows.append(row_no)
            continue
        if len(table.rows) >= MAX_ROWS:
            raise PayoutFileError(f"行数过多:一个文件最多 {MAX_ROWS} 行。请分成几个批次。",
                                  f"Too many rows: at most {MAX_ROWS} in one file. Split it into several batches.")
        cells = {name: (record[i] if i < len(record) else "") for i, name in positions}
        if kind == "xlsx":
            for name, value in cells.items():
                if value.startswith(LONG_NUMBER):
                    cells[name] = value[len(LONG_NUMBER):]
                    table.long_numbers.add((row_no, name))
        table.rows.append((row_no, cells))
    if header is None:
        raise PayoutFileError("文件中没有内容。第一行应为列名:" + "、".join(c.zh for c in columns) + "。",
                              "The file has no content. Its first row should name the columns: "
                              + ", ".join(c.en for c in columns) + ".")
    # Empty rows after the last row with data are only the end of the file, not rows.
    last = table.rows[-1][0] if table.rows else header_row
    table.empty_rows = [n for n in table.empty_rows if n < last]
    return table


def _match_headings(header: list[str], columns: Sequence[Column]) -> tuple[list[tuple[int, str]], list[str], list[str]]:
    by_key: dict[str, Column] = {}
    for column in columns:
        for alias in (column.field, column.zh, column.en, *column.aliases):
            by_key[_key(alias)] = column
    positions: list[tuple[int, str]] = []
    found: list[str] = []
    ignored: list[str] = []
    for i, heading in enumerate(header):
        match = by_key.get(_key(heading))
        if match is None or match.field in found:
            if heading:
                ignored.append(heading)
            continue
        positions.append((i, match.field))
        found.append(match.field)
    missing = [c for c in columns if c.required and c.field not in found]
    if missing:
        raise WrongColumns(
            "缺少列:" + "、".join(c.zh for c in missing) + "。第一行应为列名:"
            + "、".join(c.zh for c in columns if c.required) + "(找到的列:" + ("、".join(h for h in header if h) or "无")
            + ")。",
            "Missing columns: " + ", ".join(c.en for c in missing) + ". The first row should name the columns: "
            + ", ".join(c.en for c in columns if c.required) + " (found: " + (", ".join(h for h in header if h)
                                                                              or "none") + ").",
            missing=[c.field for c in missing], found=[h for h in header if h][:20])
    return positions, found, ignored


__all__ = ["Column", "FileTooLarge", "MAX_FILE_BYTES", "PayoutFileError", "Table", "UnreadableEncoding",
           "WrongColumns", "check_size", "decode", "read_table", "sniff"]
