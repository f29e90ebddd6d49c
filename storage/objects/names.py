"""File names: cleaned for display, and encoded for Content-Disposition (RFC 6266 / RFC 5987).

A display name is only ever shown and offered as a download name; it is never used to
build a storage key or a path.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

__all__ = ["content_disposition", "sanitize_filename"]

# Characters reserved on common file systems or meaningful in headers.
_RESERVED = set('<>:"/\\|?*')
# Unicode categories dropped from names: controls, format characters (bidi overrides such as
# U+202E, zero-width joiners, BOM), line/paragraph separators, private use, surrogates, unassigned.
_DROP_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"}
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(1, 10)} | {f"lpt{i}" for i in range(1, 10)}
_MAX_NAME_BYTES = 240  # under the 255-byte name limit of common file systems


def _clean_chars(text: str) -> str:
    out: list[str] = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat in _DROP_CATEGORIES:
            continue
        if ch in _RESERVED:
            out.append("_")
        elif cat.startswith("Z"):  # any kind of space becomes a plain space
            out.append(" ")
        else:
            out.append(ch)
    return re.sub(r" {2,}", " ", "".join(out))


def _truncate(stem: str, ext: str, max_chars: int) -> str:
    suffix = f".{ext}" if ext else ""
    budget = max(1, max_chars - len(suffix))
    stem = stem[:budget]
    while len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES and len(stem) > 1:
        stem = stem[:-1]
    return stem.rstrip(" .") + suffix


def sanitize_filename(name: str, *, fallback: str = "document", max_chars: int = 100) -> str:
    """A safe display name: last path component only, no control/bidi/reserved characters,
    no leading dots, bounded length, Chinese and other letters kept.

    >>> sanitize_filename("../../etc/成交裁定书\u202egpj.pdf")
    '成交裁定书gpj.pdf'
    """
    text = unicodedata.normalize("NFC", name or "")
    # Browsers (old IE: C:\\fakepath\\x.pdf) and tools may send whole paths: keep the last part.
    parts = [p for p in re.split(r"[/\\]", text) if p.strip()]
    text = parts[-1] if parts else ""
    text = _clean_chars(text).strip()

    if only_ext := re.fullmatch(r"\.+([A-Za-z0-9]{1,10})", text):  # ".pdf": an extension without a name
        stem, ext = "", only_ext.group(1)
    else:
        text = text.lstrip(".").strip().rstrip(". ")  # no hidden files, no trailing dots
        if "." in text:
            stem, ext = text.rsplit(".", 1)
            stem, ext = stem.strip().rstrip("."), ext.strip()
        else:
            stem, ext = text, ""
    # Extensions are short and plain; anything else is part of the name.
    if ext and not re.fullmatch(r"[A-Za-z0-9]{1,10}", ext):
        stem, ext = f"{stem}.{ext}" if stem else ext, ""
    ext = ext.lower()

    if not stem or stem.lower() in _WINDOWS_DEVICES or stem.lower().split(".")[0] in _WINDOWS_DEVICES:
        stem = f"{fallback}_{stem}" if stem else fallback
    return _truncate(stem, ext, max_chars)


def _to_ascii(text: str) -> str:
    ascii_only = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    ascii_only = re.sub(r"[^A-Za-z0-9._ ()\-]", "_", ascii_only)
    return re.sub(r"_{2,}", "_", ascii_only).strip(" ._-")


def _ascii_fallback(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, ""
    ascii_stem = _to_ascii(stem) or "document"
    ascii_ext = ext if re.fullmatch(r"[A-Za-z0-9]{1,10}", ext) else ""
    if not ascii_ext and dot:
        ascii_stem = _to_ascii(filename) or "document"
    return f"{ascii_stem}.{ascii_ext}" if ascii_ext else ascii_stem


def content_disposition(filename: str, *, disposition: str = "attachment") -> str:
    """``attachment; filename="ascii.pdf"; filename*=UTF-8''%E6%88%90…`` for any display name.

    Old clients read the ASCII ``filename``; every current browser prefers ``filename*``.
    """
    if disposition not in ("attachment", "inline"):
        raise ValueError("disposition must be 'attachment' or 'inline'")
    safe = sanitize_filename(filename)
    fallback = _ascii_fallback(safe)
    encoded = quote(safe, safe="")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
