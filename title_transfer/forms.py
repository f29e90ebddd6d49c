"""The forms a buyer sends during the title transfer, owned here and registered with the queue.

The composition root registers :data:`FORMS` and the kinds in :data:`KINDS_FILE` (same format
as the back office's own ``kinds.toml``) with the back office; the queue validates and files
them like any other kind, without naming them. A form names its transfer in the
``tracking_number`` field, a :class:`~kernel.forms.FieldType` of this domain.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from kernel.forms import Choice, FieldType, check_literal, date, enum, field_meta, phone, string, text, typed
from title_transfer.codes import TRACKING_RE

KINDS_FILE = Path(__file__).parent / "data" / "kinds.toml"
TRACKING_FIELD = "tracking_number"  # the field a form names its transfer in
CODE_FIELD = "verification_code"  # the sale confirmation's query code, never stored
_SEPARATORS = re.compile(r"[\s\-_]+")


def normalise_tracking_no(raw: str) -> str:
    return _SEPARATORS.sub("", raw).upper()


TRACKING_NUMBER = FieldType(
    "tracking_number", (TRACKING_RE.pattern, r"[\s\-_]*[Zz][\s\-_]*[Tt](?:[\s\-_]*\d){10}[\s\-_]*"), normalise_tracking_no,
    "查询号格式应为 ZT 加 10 位数字,例如 ZT2026000001。",
    "A tracking number is ZT followed by 10 digits, e.g. ZT2026000001.",
    noun_zh="查询号", noun_en="tracking number")


def tracking_number() -> msgspec.Meta:
    return typed(TRACKING_NUMBER, ("查询号", "Tracking number"),
                 ("成交确认书上的查询号,ZT 加 10 位数字", "On your sale confirmation: ZT followed by 10 digits"),
                 max_length=12)


def verification_code() -> msgspec.Meta:
    return field_meta("string", ("查询码", "Query code"),
                      ("成交确认书上的 8 位查询码;已登录本人账户可不填",
                       "The 8-character query code on your sale confirmation; not needed when you are signed in"),
                      max_length=16, required_unless_identified=True)


UTILITIES: list[Choice] = [("water", "水", "Water"), ("electricity", "电", "Electricity"), ("gas", "燃气", "Gas")]
TIME_SLOTS: list[Choice] = [("morning", "上午(9:00–12:00)", "Morning (9:00–12:00)"),
                            ("afternoon", "下午(14:00–17:30)", "Afternoon (14:00–17:30)")]
Utility = Literal["water", "electricity", "gas"]
TimeSlot = Literal["morning", "afternoon"]
check_literal(UTILITIES, Utility)
check_literal(TIME_SLOTS, TimeSlot)


class UtilityHandover(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    tracking_number: Annotated[str, tracking_number()]
    verification_code: Annotated[str, verification_code()] = ""
    utility_type: Annotated[Utility, enum(("过户类型", "Utility"), UTILITIES)]
    account_holder_name: Annotated[str, string(("新户名", "New account holder"),
                                               ("过户后的户名,一般为买受人", "Usually the buyer"), 60)]
    contact_phone: Annotated[str, phone()]
    preferred_date: Annotated[str, date(("希望办理日期", "Preferred date"), optional=True)] = ""
    notes: Annotated[str, text(("备注", "Notes"), max_length=1000)] = ""


class DeliveryAppointment(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    tracking_number: Annotated[str, tracking_number()]
    verification_code: Annotated[str, verification_code()] = ""
    preferred_date: Annotated[str, date(("希望交付日期", "Preferred date"),
                                        ("工作日,格式 YYYY-MM-DD", "A working day, as YYYY-MM-DD"), working_day=True)]
    time_slot: Annotated[TimeSlot, enum(("时段", "Time of day"), TIME_SLOTS)]
    contact_phone: Annotated[str, phone()]
    notes: Annotated[str, text(("备注", "Notes"), max_length=1000)] = ""


FORMS: dict[str, type[msgspec.Struct]] = {
    "utility_handover": UtilityHandover,
    "delivery_appointment": DeliveryAppointment,
}

__all__ = ["CODE_FIELD", "FORMS", "KINDS_FILE", "TRACKING_FIELD", "TRACKING_NUMBER", "DeliveryAppointment",
           "UtilityHandover", "normalise_tracking_no", "tracking_number", "verification_code"]
