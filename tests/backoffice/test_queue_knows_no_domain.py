"""The queue knows no domain: a domain registers its form kinds, field types, kinds file and
source adapter from the composition root; backoffice's code, data and templates name none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backoffice import forms, kinds
from title_transfer import forms as transfer_forms

BACKOFFICE = Path(__file__).resolve().parents[2] / "backoffice"
TRANSFER_WORDS = re.compile(r"tracking[ _-]?number|查询号|transfer_step|/track/", re.IGNORECASE)


def test_backoffice_names_no_transfer() -> None:
    found = []
    for path in sorted(BACKOFFICE.rglob("*")):
        if path.suffix not in (".py", ".toml", ".html", ".txt", ".md", ".json") or "__pycache__" in path.parts:
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if TRANSFER_WORDS.search(line):
                found.append(f"{path.relative_to(BACKOFFICE.parent)}:{no}: {line.strip()[:120]}")
    assert not found, "transfer words in backoffice:\n" + "\n".join(found)


def test_the_transfer_forms_come_from_their_domain_through_the_registry() -> None:
    own = kinds.load_kinds()  # the queue's own file
    for kind, struct in transfer_forms.FORMS.items():
        assert kind not in own.kinds and forms.FORMS[kind] is struct and kind in forms.form_kinds()
        assert kinds.kind(kind) is not None
    assert "transfer_step" not in own.kinds and kinds.kind("transfer_step") is not None
    # Registering again is harmless; another schema under a taken name is refused.
    forms.register_form("utility_handover", transfer_forms.UtilityHandover)
    with pytest.raises(ValueError, match="already defined"):
        forms.register_form("utility_handover", transfer_forms.DeliveryAppointment)
    assert forms.FORMS["utility_handover"] is transfer_forms.UtilityHandover


def test_a_domain_field_type_validates_and_names_the_item() -> None:
    valid = forms.validate_fields("utility_handover", {"tracking_number": " zt-2026 000001 "}, ["tracking_number"])
    assert valid == {"tracking_number": "ZT2026000001"}
    with pytest.raises(forms.FormInvalid) as refused:
        forms.validate_fields("utility_handover", {"tracking_number": "ZT1"}, ["tracking_number"])
    assert refused.value.errors[0].message_zh == transfer_forms.TRACKING_NUMBER.invalid_zh
    assert forms.subject_line("delivery_appointment", {"tracking_number": "ZT2026000001"}) == "ZT2026000001"
    supplement = {f.name: f for f in forms.form_spec("document_supplement").fields}["reference"]  # type: ignore[union-attr]
    assert (supplement.help_zh, supplement.help_en) == ("受理编号、查询号或案号", "A reference, tracking number or case number")
