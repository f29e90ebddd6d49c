"""Reading form answers: parse and check one value against its schema field.

Everything here is pure (no I/O), so it is tested directly. ``check`` returns the
normalised value or, when the answer doesn't fit, ``None`` and a short problem in
the person's language.
"""
from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

# Tracking numbers typed loosely ("zt 2026 000001", "ZT-2026000001", full-width): the portal
# strips the same separators and upper-cases (title_transfer/codes.py normalise_tracking_no).
TRACKING_RE = re.compile(r"(?<![A-Za-z0-9])([Zz][\s\-_]*[Tt](?:[\s\-_]*\d){10})(?!\d)")
CASE_RE = re.compile(r"[（(](\d{4})[）)]([\u4e00-\u9fa5]\d{0,4}执[恢保异复]?\d{1,6}号)")
PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
ISO_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
MD_DATE_RE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
CODE_RE = re.compile(r"[A-Za-z0-9]{4,32}")

# The portal's rule for codes and numbers typed on the web (title_transfer/codes.py):
# whitespace, "-" and "_" removed, upper case, at most 64 characters. The bot does not import
# portal code; a portal test checks that both give the same result on the same inputs
# (tests/portal/test_chat_codes_agree.py). Before that rule the bot folds full-width
# characters (ＡＢＣＤ２３４５, typed with a Chinese input method) to their ASCII form.
_SEPARATORS = re.compile(r"[\s\-_]+")
_CODE_LEAD_RE = re.compile(
    r"^\s*(?:(?:我的|the|my|your)\s*)?(?:查询码|验证码|校验码|query code|verification code|code)?\s*"
    r"(?:是|为|:|：|=|\bis\b)?\s*",
    re.IGNORECASE,
)

# Words a person may use for a choice, beyond the schema's own value and labels.
CHOICE_WORDS: dict[str, list[str]] = {
    "water": ["水", "自来水", "水费", "供水", "用水", "水表", "water"],
    "electricity": ["电", "电费", "供电", "电力", "用电", "电表", "electricity", "electric", "power"],
    "gas": ["气", "燃气", "煤气", "天然气", "燃气费", "管道气", "gas"],
    "real_estate": ["房产", "房子", "房屋", "不动产", "商铺", "门面", "住宅", "real estate",
                    "house", "flat", "apartment", "property", "home"],
    "vehicle": ["车", "车辆", "汽车", "轿车", "car", "vehicle", "truck"],
    "bank_account": ["银行", "账户", "存款", "银行卡", "bank", "bank account", "account", "deposit"],
    "equity": ["股权", "股份", "股票", "equity", "shares", "stock", "stake"],
    "other": ["其他", "其它", "别的", "other", "something else"],
    "morning": ["上午", "早上", "早晨", "morning", "am", "a.m."],
    "afternoon": ["下午", "午后", "afternoon", "pm", "p.m."],
}

PROBLEMS: dict[str, dict[str, str]] = {
    "empty": {"zh": "不能为空。", "en": "can't be empty."},
    "too_long": {"zh": "太长了（{n} 字，最多 {max} 字），请精简一下。",
                 "en": "is too long ({n} characters, at most {max}); please shorten it."},
    "tracking_number": {"zh": "格式应为 ZT 加 10 位数字，例如 ZT2026000001。",
                        "en": "should be ZT followed by 10 digits, e.g. ZT2026000001."},
    "case_number": {"zh": "格式应类似 (2024)浙0681执1234号。",
                    "en": "should look like (2024)浙0681执1234号."},
    "phone": {"zh": "应为11位大陆手机号（1开头，第二位3-9）。",
              "en": "should be an 11-digit mainland mobile number starting 13–19."},
    "date": {"zh": "请给出日期，例如 2026-12-01。", "en": "needs a date, e.g. 2026-12-01."},
    "date_past": {"zh": "不能早于今天。", "en": "can't be in the past."},
    "enum": {"zh": "请从这些里选一个：{choices}。", "en": "please pick one of: {choices}."},
    "name": {"zh": "看起来不像姓名，请只写姓名。", "en": "doesn't look like a name; please give just the name."},
    "code": {"zh": "应为4到{max}位的字母或数字。", "en": "should be 4 to {max} letters or digits."},
    "id_number": {"zh": "应为18位身份证号（最后一位可能是X），请核对。",
                  "en": "should be an 18-character ID number (the last may be X); please check it."},
}

_HELP_RE = re.compile(
    r"(什么意思|啥意思|是什么|什么是|指什么|指的是|是啥|怎么填|填什么|不懂|不明白|不知道.{0,4}(填|写)|"
    r"what does|what is|what's|what do you mean|meaning|\bmean\b|explain|don't understand|"
    r"not sure what|which one is|why do you need)",
    re.IGNORECASE,
)
_STOP_RE = re.compile(
    r"^\s*(算了|算了吧|不办了|不弄了|不填了|不要了|取消|取消吧|停止|停|退出|放弃|"
    r"stop|cancel|quit|exit|abort|never ?mind|forget it)\s*[。.!！~～]*\s*$",
    re.IGNORECASE,
)
_CUE_RE = re.compile(
    r"^\s*(不对|错了|不是|改一下|改成|改为|换成|更正|修改|应该是|其实|"
    r"no\b|nope|not\b|actually|change|correction|wrong|instead|sorry|update)",
    re.IGNORECASE,
)
_FILLER_PREFIX_RE = re.compile(
    r"^\s*(我叫|我是|名字是|姓名是|姓名|名字|叫|户主是|户主|is|it's|it is|my name is|"
    r"name is|name:|the name is|i am|i'm|this is)\s*[:：]?\s*",
    re.IGNORECASE,
)
_EDGE_PUNCT = " \t\r\n,，。.;；:：!！?？\"'“”‘’"

# Words that point at a field in a correction ("电话改成…", "the phone is …").
FIELD_WORDS: dict[str, list[str]] = {
    "contact_phone": ["联系电话", "手机号", "手机", "电话", "号码", "phone", "mobile", "number"],
    "contact_name": ["联系人", "姓名", "名字", "称呼", "my name", "name"],
    "account_holder_name": ["新户主", "户主", "户名", "account holder", "holder"],
    # The glossary's words first (the sale confirmation's 查询号/查询码); older names people still use after.
    "tracking_number": ["查询号", "跟踪号", "tracking number", "tracking"],
    "verification_code": ["查询码", "验证码", "query code", "verification code", "code"],
    "utility_type": ["过户项目", "项目", "utility"],
    "preferred_date": ["日期", "哪天", "date", "day"],
    "time_slot": ["时段", "time slot", "time"],
    "case_number": ["案号", "case number"],
    "asset_type": ["财产类型", "类型", "asset type", "type"],
    "description": ["描述", "线索", "description"],
    "location": ["所在地", "地址", "位置", "location", "address"],
    "notes": ["备注", "notes", "note"],
    "topic": ["咨询事项", "事项", "主题", "topic"],
    "message": ["留言", "message"],
    "id_number": ["身份证号码", "身份证号", "身份证", "证件号码", "证件号", "ID number", "ID card", "ID no"],
    "case_query_code": ["案件查询码", "查询码", "验证码", "query code", "code"],
    "batch_code": ["发放批次号", "批次号", "批次", "batch code", "batch number", "batch"],
}
_COPULA = r"\s*(?:应该|应|要)?\s*(?:是|为|改为|改成|换成|写成|写|:|：|=|is|should be|to|was)\s*"


CODE_FIELDS = {"verification_code", "case_query_code"}
_BATCH_LEAD_RE = re.compile(
    r"^\s*(?:发放批次号|批次号|批次|batch code|batch number|batch)?\s*(?:是|为|:|：|=|\bis\b)?\s*", re.IGNORECASE)


def find_batch_code(text: str, max_length: int = 32) -> str | None:
    """A payout batch code: its dashes kept (PB-2026-0007), spaces dropped, upper case."""
    rest = _BATCH_LEAD_RE.sub("", fold_width(text).strip(), count=1).strip(_EDGE_PUNCT)
    body = "{2,%d}" % (max_length - 2)  # noqa: UP031 - a regex quantifier, braces and all
    m = re.search(r"(?<![A-Za-z0-9\-])((?=[A-Za-z\-]*\d)[A-Za-z0-9][A-Za-z0-9\-]" + body
                  + r"[A-Za-z0-9])(?![A-Za-z0-9\-])", rest)
    return m.group(1).upper() if m else None


def _p(key: str, lang: str, **values: Any) -> str:
    text = PROBLEMS[key].get(lang) or PROBLEMS[key]["zh"]
    return text.format(**values) if values else text


def is_help_request(text: str) -> bool:
    """Does the message ask what a field means, rather than answer it?"""
    return bool(text) and len(text) <= 60 and bool(_HELP_RE.search(text))


_REFUSAL_RE = re.compile(
    r"^\s*(不|不是|不要|不用|不用了|不需要|没有|否|不行|不对|no|nope|nah|not now|no thanks?|"
    r"no,? thank you|don'?t)\s*[。.!！~～,，]*\s*$",
    re.IGNORECASE,
)


def is_refusal(text: str) -> bool:
    """An explicit "no" or "stop" (as opposed to an answer the NLU mistook for one)."""
    return bool(_REFUSAL_RE.match(text or "")) or is_stop(text)


def is_stop(text: str) -> bool:
    return bool(_STOP_RE.match(text or ""))


def starts_with_correction(text: str) -> bool:
    return bool(_CUE_RE.match(text or ""))


def fold_width(text: str) -> str:
    """Full-width letters, digits, spaces and brackets as their ASCII forms."""
    return unicodedata.normalize("NFKC", text or "")


def web_normalise_code(raw: str) -> str:
    """Exactly the portal's normalise_code (title_transfer/codes.py)."""
    return _SEPARATORS.sub("", raw or "").upper()[:64]


def normalise_code(raw: str) -> str:
    """A code as the portal reads it, after folding full-width characters."""
    return web_normalise_code(fold_width(raw))


def find_code(text: str, max_length: int = 16) -> str | None:
    """The code in an answer: "abcd 2345", "查询码是 ABCD-2345", "the code is ab12cd", "ａｂｃｄ２３４５".

    The whole answer (without a leading "查询码是"/"the code is") is the code when, read as the
    portal reads it, it is 4 to ``max_length`` letters and digits with a digit in it, or one
    word; otherwise the last word with a digit in it ("好的 482913 谢谢")."""
    s = fold_width(text).strip().strip(_EDGE_PUNCT)
    rest = _CODE_LEAD_RE.sub("", s, count=1).strip(_EDGE_PUNCT)
    whole = web_normalise_code(rest)
    if 4 <= len(whole) <= max_length and re.fullmatch(r"[A-Z0-9]+", whole) and (
            any(ch.isdigit() for ch in whole) or not _SEPARATORS.search(rest)):
        return whole
    # a code typed in groups inside a sentence ("查询码 k7m2 p9qx 进度怎样")
    runs = [web_normalise_code(r) for r in re.findall(r"[A-Za-z0-9]+(?:[ \-_][A-Za-z0-9]+)*", s)]
    runs = [r for r in runs if 4 <= len(r) <= max_length and any(ch.isdigit() for ch in r)
            and not PHONE_RE.fullmatch(r)]
    if runs:
        return runs[-1]
    tokens = [tok for tok in CODE_RE.findall(s) if any(ch.isdigit() for ch in tok)]
    tokens = [tok for tok in tokens if len(tok) <= max_length and not PHONE_RE.fullmatch(tok)]
    return tokens[-1].upper() if tokens else None


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6}[\s\-]?\d{8}[\s\-]?\d{3}[0-9Xx])(?![0-9A-Za-z])")


def id_number_valid(value: str) -> bool:
    """An 18-character resident ID number with its GB 11643 check character."""
    if not re.fullmatch(r"\d{17}[0-9X]", value):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


def find_id_number(text: str) -> str | None:
    m = ID_RE.search(fold_width(text))
    return web_normalise_code(m.group(1)) if m else None


def find_tracking_number(text: str) -> str | None:
    m = TRACKING_RE.search(fold_width(text))
    return web_normalise_code(m.group(1)) if m else None


def find_case_number(text: str) -> str | None:
    m = CASE_RE.search(fold_width(text))
    return f"({m.group(1)}){m.group(2)}" if m else None


def find_phone(text: str) -> str | None:
    m = PHONE_RE.search(fold_width(text))
    return "".join(m.groups()) if m else None


_WEEKDAYS_ZH = "一二三四五六日天"
_WEEKDAYS_EN = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def parse_date(text: str, today: dt.date) -> dt.date | None:
    """Dates as people type them: 2026-12-01, 2026/12/1, 2026年12月1日, 12月1日,
    今天/明天/后天, today/tomorrow, 下周一, next Monday."""
    s = (text or "").strip().lower()
    m = ISO_DATE_RE.search(s)
    try:
        if m:
            return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = MD_DATE_RE.search(s)
        if m:
            d = dt.date(today.year, int(m.group(1)), int(m.group(2)))
            return d if d >= today else dt.date(today.year + 1, d.month, d.day)
    except ValueError:
        return None
    for words, days in ((("后天", "day after tomorrow"), 2), (("明天", "tomorrow"), 1), (("今天", "today"), 0)):
        if any(w in s for w in words):
            return today + dt.timedelta(days=days)
    m = re.search(r"(下周|下星期|下礼拜)([一二三四五六日天])", s)
    if m:
        wd = min(_WEEKDAYS_ZH.index(m.group(2)), 6)
        start = today + dt.timedelta(days=7 - today.weekday())
        return start + dt.timedelta(days=wd)
    m = re.search(r"next (" + "|".join(_WEEKDAYS_EN) + r")", s)
    if m:
        wd = _WEEKDAYS_EN.index(m.group(1))
        start = today + dt.timedelta(days=7 - today.weekday())
        return start + dt.timedelta(days=wd)
    return None


def match_choice(text: str, choices: Iterable[dict[str, Any]]) -> str | None:
    """The choice a person means, by value, label or a common word; None if unclear."""
    s = (text or "").strip().strip(_EDGE_PUNCT).lower()
    if not s:
        return None
    words: dict[str, list[str]] = {}
    for c in choices:
        value = str(c.get("value"))
        words[value] = [value.lower(), value.replace("_", " ").lower()] + [
            str(c.get(k, "")).lower() for k in ("label_zh", "label_en") if c.get(k)
        ] + [w.lower() for w in CHOICE_WORDS.get(value, [])]
    for value, ws in words.items():  # exact first
        if s in ws:
            return value
    found = set()
    for value, ws in words.items():
        for w in ws:
            if not w:
                continue
            if re.fullmatch(r"[a-z .]+", w):
                if re.search(r"(?<![a-z])" + re.escape(w) + r"(?![a-z])", s):
                    found.add(value)
            elif (len(w) >= 2 or len(s) <= 6) and w in s:
                # one-character words (车, 水) only count in short answers ("一辆车")
                found.add(value)
    return found.pop() if len(found) == 1 else None


def _choices_text(field: dict[str, Any], lang: str) -> str:
    sep = "、" if lang == "zh" else ", "
    return sep.join(
        str(c.get(f"label_{lang}") or c.get("value")) for c in field.get("choices") or []
    )


def choice_label(field: dict[str, Any], value: Any, lang: str) -> str:
    for c in field.get("choices") or []:
        if c.get("value") == value:
            return str(c.get(f"label_{lang}") or value)
    return str(value)


def check(
    field: dict[str, Any], raw: Any, lang: str, today: dt.date | None = None
) -> tuple[Any | None, str | None]:
    """Validate and normalise one answer for a schema field.

    Returns (value, None) when it fits, (None, problem) when it doesn't.
    """
    today = today or dt.date.today()
    ftype = field.get("type", "string")
    name = field.get("name", "")
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None, _p("empty", lang)

    if ftype == "tracking_number":
        value = find_tracking_number(text)
        return (value, None) if value else (None, _p("tracking_number", lang))
    if ftype == "case_number":
        value = find_case_number(text)
        return (value, None) if value else (None, _p("case_number", lang))
    if ftype == "id_number":
        value = find_id_number(text)
        return (value, None) if value and id_number_valid(value) else (None, _p("id_number", lang))
    if ftype == "phone":
        value = find_phone(text)
        return (value, None) if value else (None, _p("phone", lang))
    if ftype == "date":
        d = parse_date(text, today)
        if d is None:
            return None, _p("date", lang)
        if d < today:
            return None, _p("date_past", lang)
        return d.isoformat(), None
    if ftype == "enum":
        value = match_choice(text, field.get("choices") or [])
        if value is None:
            return None, _p("enum", lang, choices=_choices_text(field, lang))
        return value, None

    max_length = int(field.get("max_length") or (2000 if ftype == "text" else 200))
    if name == "batch_code":
        value = find_batch_code(text, max_length)
        return (value, None) if value else (None, _p("code", lang, max=max_length))
    if name in CODE_FIELDS:
        value = find_code(text, max_length)
        if value is None:
            return None, _p("code", lang, max=max_length)
        return value, None
    if name.endswith("_name"):
        value = _FILLER_PREFIX_RE.sub("", text).strip(_EDGE_PUNCT)
        if (
            not value
            or len(value) > min(max_length, 50)
            or re.search(r"\d{3,}|[?？@#/\\]", text)
            or is_help_request(text)
        ):
            return None, _p("name", lang)
        return value, None
    value = text if ftype == "text" else text.strip(_EDGE_PUNCT)
    if not value:
        return None, _p("empty", lang)
    if len(value) > max_length:
        return None, _p("too_long", lang, n=len(value), max=max_length)
    return value, None


def field_named(text: str, fields: dict[str, dict[str, Any]]) -> str | None:
    """The field a question is about ("户主是什么意思？" → account_holder_name)."""
    low = (text or "").lower()
    best: tuple[int, str | None] = (0, None)
    for name, field in fields.items():
        words = FIELD_WORDS.get(name, []) + [str(field.get(k) or "") for k in ("label_zh", "label_en")]
        for word in words:
            if len(word) >= 2 and word.lower() in low and len(word) > best[0]:
                best = (len(word), name)
    return best[1]


# A field named without a new value ("姓名填错了", "户主不是他"): asked again.
NAMED_ONLY = "\x00named"
# Words that say which value replaces the old one; the value is what follows the last of them
# ("户主不是他，是王五" → 王五, "change the name to Wang Wu" → Wang Wu).
_CHANGE_RE = re.compile(
    r"(?:应该是|应是|应为|改成|改为|换成|写成|更正为|改|是|为|叫|:|：|=|"
    r"(?<![A-Za-z])(?:should be|change(?:d)? (?:it )?to|to|is|was)(?![A-Za-z]))",
    re.IGNORECASE,
)
# What people say around a correction that is not a value.
_NOISE_RE = re.compile(
    r"^\s*(?:的|也|都|有点|好像)?\s*(?:填错了|写错了|弄错了|打错了|错了|不对|有误|不正确|错|不是他|不是她|不是这个|"
    r"is wrong|was wrong|wrong|is incorrect|incorrect|is not right|isn't right)\s*[了啊呀吧]?\s*$",
    re.IGNORECASE,
)
_NAME_WORDS = ["姓名", "名字", "名称", "户名", "name"]


def _field_words(name: str, field: dict[str, Any], fields: dict[str, dict[str, Any]]) -> list[str]:
    words = list(FIELD_WORDS.get(name, []))
    words += [str(field.get(k)) for k in ("label_zh", "label_en") if field.get(k)]
    name_fields = [n for n in fields if n.endswith("_name")]
    if name.endswith("_name") and len(name_fields) == 1:
        words += _NAME_WORDS  # the form's only name: "姓名填错了" means this one
    return sorted({w for w in words if w}, key=len, reverse=True)


@functools.lru_cache(maxsize=1024)
def _word_pattern(word: str) -> re.Pattern[str]:
    """A field's word as a pattern, compiled once: every form turn looks for every word of every
    field (some forty), and escaping each and finding it in re's cache again was most of that
    work. English words only as whole words."""
    if re.fullmatch(r"[A-Za-z ]+", word):
        return re.compile(r"(?<![A-Za-z])" + re.escape(word) + r"(?![A-Za-z])", re.IGNORECASE)
    return re.compile(re.escape(word), re.IGNORECASE)


def _mentions(text: str, fields: dict[str, dict[str, Any]]) -> list[tuple[int, int, str]]:
    """Where the message names a field: (start, end, field), longest words first, no overlaps."""
    hits: list[tuple[int, int, str]] = []
    for name, field in fields.items():
        for word in _field_words(name, field, fields):
            hits += [(m.start(), m.end(), name) for m in _word_pattern(word).finditer(text)]
    hits.sort(key=lambda h: (h[0], -(h[1] - h[0])))
    chosen: list[tuple[int, int, str]] = []
    for hit in hits:
        if not chosen or hit[0] >= chosen[-1][1]:
            chosen.append(hit)
    return chosen


def _value_after(segment: str, field: dict[str, Any]) -> str | None:
    """The value in the words after a field's name: after the last change word if there is
    one, else all of them; None when they only say that the old value is wrong."""
    changes = list(_CHANGE_RE.finditer(segment))
    value = segment[changes[-1].end():] if changes else segment
    if field.get("type") != "text":
        value = re.split(r"[，,。；;！!？?]", value.strip(_EDGE_PUNCT))[0]
    value = value.strip(_EDGE_PUNCT)
    if not value or _NOISE_RE.match(value):
        return None
    return value


def find_corrections(
    text: str, fields: dict[str, dict[str, Any]], lang: str
) -> dict[str, str]:
    """Field values a message names ("不对，电话是139…", "姓名填错了 改成王五", "户主不是他 是王五",
    "change the name to Wang Wu", "查询号ZT… 查询码… 新户主张三 手机…").

    Returns raw text per field (the caller checks each and ignores those that don't fit, so
    "the number is ZT…" never becomes a phone number); ``NAMED_ONLY`` for a field the message
    says is wrong without giving the new value.
    """
    found: dict[str, str] = {}
    if not text:
        return found
    mentions = _mentions(text, fields)
    for i, (_start, end, name) in enumerate(mentions):
        stop = mentions[i + 1][0] if i + 1 < len(mentions) else len(text)
        segment = text[end:stop]
        value = _value_after(segment, fields[name])
        if value is not None:
            found[name] = value
        elif name not in found and (_NOISE_RE.match(segment.strip(_EDGE_PUNCT)) or starts_with_correction(text)):
            found[name] = NAMED_ONLY
    # Values that can only be one thing, named without a field word.
    if "contact_phone" in fields and found.get("contact_phone", NAMED_ONLY) == NAMED_ONLY:
        phone = find_phone(text)
        if phone:
            found["contact_phone"] = phone
    if "tracking_number" in fields and found.get("tracking_number", NAMED_ONLY) == NAMED_ONLY:
        number = find_tracking_number(text)
        if number:
            found["tracking_number"] = number
    if "case_number" in fields and found.get("case_number", NAMED_ONLY) == NAMED_ONLY:
        case = find_case_number(text)
        if case:
            found["case_number"] = case
    # "ZT2026000001 482913": a code right after the tracking number.
    if "verification_code" in fields and "verification_code" not in found:
        m = re.search(TRACKING_RE.pattern + r"[\s,，;；/]+([A-Za-z0-9][A-Za-z0-9 \-]{2,20}[A-Za-z0-9])(?![A-Za-z0-9])",
                      fold_width(text))
        if m and any(ch.isdigit() for ch in m.group(2)) and not find_phone(m.group(2)):
            found["verification_code"] = m.group(2)
    return found


_YES_WORD = (
    r"(?:对|对的|对了|是|是的|是滴|好|好的|好吧|好啊|嗯|嗯嗯|可以|行|没问题|没错|确认|确定|提交|确认提交|提交吧|就这样|"
    r"對|確認|確定|"
    r"ok|okay|yes|yep|yeah|yup|sure|correct|right|confirm|confirmed|submit|submit it|send it|go ahead|"
    r"please do|that's right|that is right|looks good|all good|fine|y|👍)"
)
_POLITE = r"(?:please|thanks|thank you|谢谢|请|吧|啊|呀|哈)"
_YES_RE = re.compile(r"^\s*(?:(?:" + _YES_WORD + "|" + _POLITE + r")[\s,，。.!！~～]*)+$", re.IGNORECASE)
_YES_WORD_RE = re.compile(r"(?<![A-Za-z])" + _YES_WORD + r"(?![A-Za-z])", re.IGNORECASE)


def is_clear_yes(text: str) -> bool:
    """A plain yes: only yes words and politeness ("对", "好的，提交", "yes please"), or the
    Submit button. Anything else at the read-back (a correction, a question, "户主不是他") is not."""
    stripped = (text or "").strip()
    if stripped == "/affirm":
        return True
    return bool(_YES_RE.match(stripped)) and bool(_YES_WORD_RE.search(stripped))
