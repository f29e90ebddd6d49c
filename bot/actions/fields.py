"""Reading form answers: parse and check one value against its schema field.

Everything here is pure (no I/O), so it is tested directly. ``check`` returns the
normalised value or, when the answer doesn't fit, ``None`` and a short problem in
the person's language.
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

TRACKING_RE = re.compile(r"(?<![A-Za-z0-9])([Zz][Tt]\d{10})(?!\d)")
CASE_RE = re.compile(r"[（(](\d{4})[）)]([\u4e00-\u9fa5]\d{0,4}执[恢保异复]?\d{1,6}号)")
PHONE_RE = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
ISO_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
MD_DATE_RE = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
CODE_RE = re.compile(r"[A-Za-z0-9]{4,32}")

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
}
_COPULA = r"\s*(?:应该|应|要)?\s*(?:是|为|改为|改成|换成|写成|写|:|：|=|is|should be|to|was)\s*"


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


def find_tracking_number(text: str) -> str | None:
    m = TRACKING_RE.search(text or "")
    return m.group(1).upper() if m else None


def find_case_number(text: str) -> str | None:
    m = CASE_RE.search(text or "")
    return f"({m.group(1)}){m.group(2)}" if m else None


def find_phone(text: str) -> str | None:
    m = PHONE_RE.search(text or "")
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
    if name == "verification_code":
        tokens = CODE_RE.findall(text)
        # the code is the token with a digit in it ("验证码是 482913", "code 556677")
        with_digit = [tok for tok in tokens if any(ch.isdigit() for ch in tok)]
        value = (with_digit or tokens or [None])[-1]
        if value is None or len(value) > max_length:
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


def find_corrections(
    text: str, fields: dict[str, dict[str, Any]], lang: str
) -> dict[str, str]:
    """Field values a message names explicitly ("不对，电话是139…", "the date is …").

    Returns raw text per field; the caller checks each and ignores those that
    don't fit (so "the number is ZT…" never becomes a phone number).
    """
    found: dict[str, str] = {}
    if not text:
        return found
    for name, field in fields.items():
        words = list(FIELD_WORDS.get(name, []))
        words += [str(field.get(k)) for k in ("label_zh", "label_en") if field.get(k)]
        for word in sorted(set(words), key=len, reverse=True):
            pattern = re.escape(word) + _COPULA + r"(.+)"
            m = re.search(pattern, text, re.IGNORECASE)
            if m:
                value = m.group(1)
                if field.get("type") != "text":
                    value = re.split(r"[，,。；;！!？?]", value)[0]
                found[name] = value.strip(_EDGE_PUNCT)
                break
    # Values that can only be one thing, named without a field word.
    if "contact_phone" in fields and "contact_phone" not in found:
        phone = find_phone(text)
        if phone:
            found["contact_phone"] = phone
    if "tracking_number" in fields and "tracking_number" not in found:
        number = find_tracking_number(text)
        if number:
            found["tracking_number"] = number
    if "case_number" in fields and "case_number" not in found:
        case = find_case_number(text)
        if case:
            found["case_number"] = case
    return found
