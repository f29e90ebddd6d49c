"""Form schemas: fetched from the portal (GET /api/v1/forms/{kind}), cached briefly.

The portal's schema is the source of truth for required fields, types, choices,
limits, labels and help text. When the portal cannot be reached the built-in copy
below (the contract as agreed) lets the person keep filling the form; the
submission itself still goes to the portal, which validates again.
"""
from __future__ import annotations

import copy
import time
from typing import Any

from actions.portal_client import PortalClient

CACHE_TTL_S = 300.0
_cache: dict[str, tuple[float, dict[str, Any]]] = {}

FORM_KINDS = {
    "utility_handover_form": "utility_handover",
    "asset_clue_form": "asset_clue",
    "delivery_appointment_form": "delivery_appointment",
    "talk_to_person_form": "talk_to_person",
}

_PHONE_HELP_ZH = "中国大陆手机号，11位，以1开头。"
_PHONE_HELP_EN = "A mainland China mobile number: 11 digits starting with 1."
_TRACKING = {
    "name": "tracking_number", "type": "tracking_number", "required": True, "max_length": 12,
    "label_zh": "跟踪号", "label_en": "Tracking number",
    "help_zh": "过户事项的编号，ZT加10位数字，在成交后收到的通知上，也显示在 /track 页面。",
    "help_en": "The number of your transfer: ZT followed by 10 digits, on the notice you received after the sale and on /track.",
}
_CODE = {
    "name": "verification_code", "type": "string", "required": True, "max_length": 32,
    "label_zh": "验证码", "label_en": "Verification code",
    "help_zh": "与跟踪号一起发给您的验证码，用来确认是您本人。登录门户后不需要。",
    "help_en": "The code sent to you with the tracking number; it shows the request is yours. Not needed when signed in.",
}
_PHONE = {
    "name": "contact_phone", "type": "phone", "required": True, "max_length": 11,
    "label_zh": "联系电话", "label_en": "Contact phone",
    "help_zh": _PHONE_HELP_ZH, "help_en": _PHONE_HELP_EN,
}
_NAME = {
    "name": "contact_name", "type": "string", "required": True, "max_length": 50,
    "label_zh": "联系人姓名", "label_en": "Contact name",
    "help_zh": "怎么称呼您，经办人联系您时使用。", "help_en": "Your name, for the staff who contact you.",
}
_NOTES = {
    "name": "notes", "type": "text", "required": False, "max_length": 500,
    "label_zh": "备注", "label_en": "Notes",
    "help_zh": "其他需要说明的情况（可不填）。", "help_en": "Anything else staff should know (optional).",
}

BUILTIN: dict[str, dict[str, Any]] = {
    "utility_handover": {
        "kind": "utility_handover", "title_zh": "水电气过户申请", "title_en": "utility handover request",
        "department": "utilities",
        "fields": [
            _TRACKING, _CODE,
            {"name": "utility_type", "type": "enum", "required": True,
             "choices": [
                 {"value": "water", "label_zh": "水", "label_en": "Water"},
                 {"value": "electricity", "label_zh": "电", "label_en": "Electricity"},
                 {"value": "gas", "label_zh": "燃气", "label_en": "Gas"}],
             "label_zh": "过户项目", "label_en": "Utility",
             "help_zh": "水、电、燃气分别由不同单位办理，每项单独申请。",
             "help_en": "Water, electricity and gas are separate providers; one request each."},
            {"name": "account_holder_name", "type": "string", "required": True, "max_length": 50,
             "label_zh": "新户主姓名", "label_en": "New account holder",
             "help_zh": "过户后账户登记在谁的名下，一般是买受人本人。",
             "help_en": "Whose name the account will be in after the handover, usually the buyer."},
            _PHONE,
            {"name": "preferred_date", "type": "date", "required": False,
             "label_zh": "希望办理日期", "label_en": "Preferred date",
             "help_zh": "希望上门或办理的日期，格式 YYYY-MM-DD（可不填）。",
             "help_en": "The day you'd like it done, YYYY-MM-DD (optional)."},
            _NOTES,
        ],
    },
    "asset_clue": {
        "kind": "asset_clue", "title_zh": "财产线索", "title_en": "asset clue",
        "department": "court",
        "fields": [
            {"name": "case_number", "type": "case_number", "required": True, "max_length": 40,
             "label_zh": "执行案号", "label_en": "Case number",
             "help_zh": "执行案件的案号，如 (2024)浙0681执1234号，在法院的文书上。",
             "help_en": "The enforcement case number, e.g. (2024)浙0681执1234号, printed on the court's documents."},
            {"name": "asset_type", "type": "enum", "required": True,
             "choices": [
                 {"value": "real_estate", "label_zh": "房产", "label_en": "Real estate"},
                 {"value": "vehicle", "label_zh": "车辆", "label_en": "Vehicle"},
                 {"value": "bank_account", "label_zh": "银行账户", "label_en": "Bank account"},
                 {"value": "equity", "label_zh": "股权", "label_en": "Equity"},
                 {"value": "other", "label_zh": "其他", "label_en": "Other"}],
             "label_zh": "财产类型", "label_en": "Asset type",
             "help_zh": "线索涉及的财产种类。", "help_en": "The kind of asset the clue is about."},
            {"name": "description", "type": "text", "required": True, "max_length": 2000,
             "label_zh": "线索描述", "label_en": "Description",
             "help_zh": "财产是什么、在哪里、您如何得知；越具体越便于法院核查。",
             "help_en": "What the asset is, where, and how you know; the more specific, the easier for the court to check."},
            {"name": "location", "type": "string", "required": False, "max_length": 200,
             "label_zh": "所在地", "label_en": "Location",
             "help_zh": "财产所在地址（可不填）。", "help_en": "Where the asset is (optional)."},
            _NAME, _PHONE,
        ],
    },
    "delivery_appointment": {
        "kind": "delivery_appointment", "title_zh": "交付预约", "title_en": "delivery appointment",
        "department": "court",
        "fields": [
            _TRACKING, _CODE,
            {"name": "preferred_date", "type": "date", "required": True,
             "label_zh": "希望交付日期", "label_en": "Preferred date",
             "help_zh": "希望交房的日期，格式 YYYY-MM-DD；最终由法院确认。",
             "help_en": "The day you'd like the handover, YYYY-MM-DD; the court confirms."},
            {"name": "time_slot", "type": "enum", "required": True,
             "choices": [
                 {"value": "morning", "label_zh": "上午", "label_en": "Morning"},
                 {"value": "afternoon", "label_zh": "下午", "label_en": "Afternoon"}],
             "label_zh": "时段", "label_en": "Time of day",
             "help_zh": "上午或下午。", "help_en": "Morning or afternoon."},
            _PHONE, _NOTES,
        ],
    },
    "talk_to_person": {
        "kind": "talk_to_person", "title_zh": "人工服务留言", "title_en": "message to staff",
        "department": "court",
        "fields": [
            {"name": "topic", "type": "string", "required": True, "max_length": 200,
             "label_zh": "咨询事项", "label_en": "Topic",
             "help_zh": "一句话说明想咨询什么，方便转给对应部门。",
             "help_en": "In a few words, what it is about, so it reaches the right department."},
            _NAME, _PHONE,
            {"name": "message", "type": "text", "required": False, "max_length": 2000,
             "label_zh": "留言", "label_en": "Message",
             "help_zh": "想对工作人员说的话（可不填，对话记录会一并附上）。",
             "help_en": "Anything you want to tell the staff (optional; this chat is attached)."},
        ],
    },
}


async def get_schema(kind: str, client: PortalClient) -> dict[str, Any]:
    """The portal's schema for ``kind``; the built-in copy if it can't be had."""
    now = time.monotonic()
    cached = _cache.get(kind)
    if cached and cached[0] > now:
        return cached[1]
    resp = await client.get_form_schema(kind)
    if resp.ok and isinstance(resp.body, dict) and isinstance(resp.body.get("fields"), list):
        schema = resp.body
        _cache[kind] = (now + CACHE_TTL_S, schema)
        return schema
    # Not cached: the next turn asks the portal again.
    return copy.deepcopy(BUILTIN[kind])


def clear_cache() -> None:
    _cache.clear()


def field_map(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in schema.get("fields", []) if isinstance(f, dict) and "name" in f}


def label(field: dict[str, Any], lang: str) -> str:
    return str(field.get(f"label_{lang}") or field.get("label_zh") or field.get("name"))


def title(schema: dict[str, Any], lang: str) -> str:
    return str(schema.get(f"title_{lang}") or schema.get("title_zh") or schema.get("kind"))


def required_fields(schema: dict[str, Any]) -> list[str]:
    return [f["name"] for f in schema.get("fields", []) if f.get("required")]


def find_field(schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    return field_map(schema).get(name)
