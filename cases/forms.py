"""The forms that name an enforcement case (asset clues, refusal-to-execute clues), owned here
and registered with the queue.

The composition root (``portal/form_wiring.py``) registers :data:`FORMS` and the kinds in
:data:`KINDS_FILE` (same format as the back office's own ``kinds.toml``) with the back
office; the queue validates and files them like any other kind, without naming them. A form
names its case in the ``case_number`` field, a :class:`~kernel.forms.FieldType` of this
domain; ``verification_code`` (the case's query code, or the case page's signed proof) is
checked by the cases source adapter (``portal/case_wiring.py``) and never stored.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from kernel.forms import Choice, FieldType, check_literal, enum, phone, string, text, typed

KINDS_FILE = Path(__file__).parent / "data" / "kinds.toml"
CASE_FIELD = "case_number"  # the field a form names its case in
CODE_FIELD = "verification_code"  # the case's query code, never stored


def normalise_case_no(raw: str) -> str:
    return re.sub(r"\s+", "", raw).replace("（", "(").replace("）", ")")


# (2024)浙0681执1234号: year, province + court code (2 or 4 digits), case type, number.
CASE_NUMBER = FieldType(
    "case_number",
    (r"^\(\d{4}\)[\u4e00-\u9fff]\d{2}(?:\d{2})?(?:执恢|执保|执异|执复|执)\d{1,6}号$",
     r"\s*[\(（]\s*\d{4}\s*[\)）]\s*[\u4e00-\u9fff]\s*\d{2}(?:\d{2})?\s*(?:执恢|执保|执异|执复|执)"
     r"\s*\d{1,6}\s*号\s*"),
    normalise_case_no, "案号格式应如 (2024)浙0681执1234号。", "A case number looks like (2024)浙0681执1234号.",
    noun_zh="案号", noun_en="case number")


def case_query_code() -> msgspec.Meta:
    return string(("查询码", "Query code"),
                  ("当事人可填写法院送达的案件查询码,线索将记为当事人提供;其他知情人可不填",
                   "Parties may give the case query code the court sent them, so the clue is recorded as theirs; "
                   "anyone else may leave it empty"), max_length=120)  # room for the case page's signed proof


def case_number() -> msgspec.Meta:
    return typed(CASE_NUMBER, ("案号", "Case number"), ("例如 (2024)浙0681执1234号", "For example (2024)浙0681执1234号"),
                 max_length=40)


NAME = ("姓名", "Name")
ASSET_TYPES: list[Choice] = [
    ("real_estate", "不动产", "Real estate"), ("vehicle", "车辆", "Vehicle"),
    ("bank_account", "银行账户", "Bank account"), ("equity", "股权", "Equity"), ("other", "其他", "Other"),
]
AssetType = Literal["real_estate", "vehicle", "bank_account", "equity", "other"]
check_literal(ASSET_TYPES, AssetType)


# 财产线索: where the debtor's assets are, told to the court (by a creditor, or anyone). No docstring:
# a Struct's docstring is its JSON schema's description, and the served schema stays as it was.
class AssetClue(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    case_number: Annotated[str, case_number()]
    verification_code: Annotated[str, case_query_code()] = ""  # checked by the cases adapter, never stored
    asset_type: Annotated[AssetType, enum(("财产类型", "Kind of asset"), ASSET_TYPES)]
    description: Annotated[str, text(("线索描述", "What you know"),
                                     ("财产是什么、在哪里、如何得知", "What the asset is, where, and how you know"))]
    location: Annotated[str, string(("所在地", "Where it is"), max_length=200)] = ""
    contact_name: Annotated[str, string(NAME, max_length=60)]
    contact_phone: Annotated[str, phone()]


REFUSAL_CONDUCTS: list[Choice] = [
    ("hiding_assets", "隐藏、转移、毁损财产", "Hiding, moving or destroying assets"),
    ("false_report", "拒不报告或虚假报告财产", "Not reporting assets, or reporting them falsely"),
    ("spending_ban", "违反限制消费令", "Breaking the spending restriction"),
    ("obstruction", "暴力、威胁等阻碍执行", "Obstructing enforcement by force or threats"),
    ("other", "其他拒不执行行为", "Other refusal to comply"),
]
RefusalConduct = Literal["hiding_assets", "false_report", "spending_ban", "obstruction", "other"]
check_literal(REFUSAL_CONDUCTS, RefusalConduct)


class RefusalClue(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """拒执线索: a debtor's refusal to comply with the judgment, reported to the court."""

    case_number: Annotated[str, case_number()]
    verification_code: Annotated[str, case_query_code()] = ""  # checked by the cases adapter, never stored
    conduct: Annotated[RefusalConduct, enum(("行为类型", "What the debtor did"), REFUSAL_CONDUCTS)]
    description: Annotated[str, text(("具体情况", "What happened"),
                                     ("时间、地点、经过,以及您如何得知", "When, where, what happened, and how you know"))]
    contact_name: Annotated[str, string(NAME, max_length=60)]
    contact_phone: Annotated[str, phone()]


FORMS: dict[str, type[msgspec.Struct]] = {
    "asset_clue": AssetClue,
    "refusal_clue": RefusalClue,
}

__all__ = ["ASSET_TYPES", "CASE_FIELD", "CASE_NUMBER", "CODE_FIELD", "FORMS", "KINDS_FILE", "REFUSAL_CONDUCTS",
           "AssetClue", "RefusalClue", "case_number", "case_query_code", "normalise_case_no"]
