"""The assistant reads codes and tracking numbers exactly as the web forms do.

The bot may not import portal code, so bot/actions/fields.py carries its own copy of the rule
in title_transfer/codes.py (separators dropped, upper case); this test loads the bot's module
(standard library only) and checks both give the same result on the same inputs.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from title_transfer import codes

BOT_FIELDS = Path(__file__).resolve().parents[2] / "bot" / "actions" / "fields.py"


def _bot_fields() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bot_fields_under_test", BOT_FIELDS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIELDS = _bot_fields()

TYPED_CODES = ["abcd 2345", "ABCD-2345", "abcd_2345", " yjsz 2468 ", "yjsz\t2468", "k7m2-p9qx", "AB12CD",
               "a-b-c-d-2-3-4-5", "482913", "YJSZ2468"]
TYPED_NUMBERS = ["zt2026000001", "ZT 2026 000001", "zt-2026-000001", "ZT2026000001", " zt2026000001 "]


@pytest.mark.parametrize("typed", TYPED_CODES)
def test_codes_agree_with_the_web(typed: str) -> None:
    web = codes.normalise_code(typed)
    assert FIELDS.web_normalise_code(typed) == web
    assert FIELDS.normalise_code(typed) == web
    assert FIELDS.find_code(typed) == web  # what the chat keeps from the answer


@pytest.mark.parametrize("typed", TYPED_NUMBERS)
def test_tracking_numbers_agree_with_the_web(typed: str) -> None:
    assert FIELDS.find_tracking_number(typed) == codes.normalise_tracking_no(typed)


def test_full_width_is_folded_before_the_web_rule() -> None:
    # A Chinese input method types ＡＢＣＤ２３４５; the chat sends the portal what the web rule reads.
    assert FIELDS.normalise_code("ａｂｃｄ　２３４５") == codes.normalise_code("abcd 2345") == "ABCD2345"
    assert FIELDS.find_tracking_number("ＺＴ２０２６０００００１") == "ZT2026000001"
