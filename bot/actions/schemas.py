"""Form schemas: fetched from the portal (GET /api/v1/forms/{kind}), cached briefly.

The portal's schema is the source of truth for required fields, types, choices,
limits, labels and help text. When the portal cannot be reached the built-in copy
(``forms_snapshot.json``, generated from the portal) lets the person keep filling
the form; the submission itself still goes to the portal, which validates again.
"""
from __future__ import annotations

import copy
import json
import time
from pathlib import Path
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

# The portal's schemas as it served them, written by `make bot-forms` (scripts/bot_forms.py);
# a portal test fails when this file differs from what the portal serves. Never edit it by hand.
SNAPSHOT = Path(__file__).with_name("forms_snapshot.json")


def _load_snapshot() -> dict[str, dict[str, Any]]:
    schemas = json.loads(SNAPSHOT.read_text(encoding="utf-8"))["schemas"]
    missing = set(FORM_KINDS.values()) - set(schemas)
    if missing:
        raise RuntimeError(f"{SNAPSHOT.name} has no schema for {sorted(missing)}: run `make bot-forms`")
    return {kind: schemas[kind] for kind in FORM_KINDS.values()}


BUILTIN: dict[str, dict[str, Any]] = _load_snapshot()


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
