"""PRC resident ID numbers (GB 11643-1999): checked, then kept only as a keyed hash + last four.

An ID number is 17 digits (region, birth date, sequence) and a check digit (0–9 or X) from
ISO 7064 MOD 11-2. :func:`parse_id_number` normalises what people type (full-width digits,
spaces, a lower-case x) and raises :class:`~cases.errors.IdNumberInvalid` saying what is wrong.

The portal never stores the number itself: :func:`id_hash` is HMAC-SHA256 under a key the
caller derives from the app's secret (:func:`id_key`), so equal numbers match in an index and
a stolen table cannot be reversed by hashing the (small) space of ID numbers without the key.
Changing the secret means re-hashing from the source system (see docs/cases.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import unicodedata

from cases.errors import IdNumberInvalid

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_SPACES = re.compile(r"[\s\u3000\-]+")
KEY_PURPOSE = b"purpose:case-id-number"


def check_digit(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def normalise_id_number(raw: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", raw or "")).upper()


def _refuse(zh: str, en: str, part: str) -> IdNumberInvalid:
    return IdNumberInvalid(f"身份证号码有误:{zh}。", f"The ID number is not valid: {en}.", field="id_number", part=part)


def parse_id_number(raw: str) -> str:
    """The normalised 18-character ID number, or IdNumberInvalid saying what is wrong."""
    value = normalise_id_number(raw)
    if not value:
        raise _refuse("没有填写", "it is empty", "empty")
    if len(value) != 18:
        raise _refuse(f"应为 18 位,您填写了 {len(value)} 位", f"it must have 18 characters, not {len(value)}",
                      "length")
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise _refuse("前 17 位应为数字,最后一位为数字或 X", "the first 17 characters must be digits and the "
                      "last a digit or X", "characters")
    try:
        dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise _refuse("第 7–14 位的出生日期不存在", "characters 7–14 are not a real date of birth",
                      "birth_date") from None
    if check_digit(value[:17]) != value[17]:
        raise _refuse("校验位不符,请逐位核对", "the check digit does not match; please check each digit",
                      "check_digit")
    return value


def is_valid_id_number(raw: str) -> bool:
    try:
        parse_id_number(raw)
    except IdNumberInvalid:
        return False
    return True


def id_key(secret: str) -> bytes:
    """The key ID numbers are hashed under, derived from the app's secret (its own purpose)."""
    return hmac.new(secret.encode(), KEY_PURPOSE, hashlib.sha256).digest()


def id_hash(key: bytes, id_number: str) -> str:
    """Keyed hash (HMAC-SHA256, hex) of an already-parsed ID number."""
    return hmac.new(key, normalise_id_number(id_number).encode(), hashlib.sha256).hexdigest()


def last_four(id_number: str) -> str:
    return normalise_id_number(id_number)[-4:]


def mask_id(last4: str | None) -> str:
    """****1234: what a page shows of anyone's ID number."""
    return f"****{last4}" if last4 else "****"


def mask_name(name: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; a company keeps its first two and last two characters."""
    name = (name or "").strip()
    if not name:
        return ""
    if len(name) > 6:  # organisations: 杭州某某贸易有限公司 → 杭州****公司
        return name[:2] + "*" * 4 + name[-2:]
    return name[0] + "*" * max(1, len(name) - 1)


__all__ = ["check_digit", "id_hash", "id_key", "is_valid_id_number", "last_four", "mask_id", "mask_name",
           "normalise_id_number", "parse_id_number"]
