"""The queue knows no domain: a domain registers its form kinds, field types, kinds file, source
adapter, notices and staff pages from the composition root; backoffice's code, data and
templates name none."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from backoffice import forms, kinds
from cases import forms as case_forms
from title_transfer import forms as transfer_forms

BACKOFFICE = Path(__file__).resolve().parents[2] / "backoffice"
TRANSFER_WORDS = re.compile(r"tracking[ _-]?number|查询号|transfer_step|/track/", re.IGNORECASE)
CASE_WORDS = re.compile(r"案号|案件|申请执行人|creditor|case[ _-]?number|case\.node|asset_clue|refusal_clue|/cases\b",
                        re.IGNORECASE)
LOT_WORDS = re.compile(r"拍品|联审|/lots\b|lot\.(sold|unsold|withdrawn|finding)", re.IGNORECASE)


def _lines_matching(words: re.Pattern[str]) -> list[str]:
    found = []
    for path in sorted(BACKOFFICE.rglob("*")):
        if path.suffix not in (".py", ".toml", ".html", ".txt", ".md", ".json") or "__pycache__" in path.parts:
            continue
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if words.search(line):
                found.append(f"{path.relative_to(BACKOFFICE.parent)}:{no}: {line.strip()[:120]}")
    return found


def test_backoffice_names_no_transfer() -> None:
    found = _lines_matching(TRANSFER_WORDS)
    assert not found, "transfer words in backoffice:\n" + "\n".join(found)


def test_backoffice_names_no_case() -> None:
    found = _lines_matching(CASE_WORDS)
    assert not found, "case words in backoffice:\n" + "\n".join(found)


def test_backoffice_names_no_lot() -> None:
    found = _lines_matching(LOT_WORDS)
    assert not found, "lot words in backoffice:\n" + "\n".join(found)


def test_the_word_lists_catch_what_they_are_for() -> None:
    for line in ("[kinds.asset_clue]", "forms.register_form('refusal_clue', X)", 'typed(CASE_NUMBER, ("案号", "Case number"))',
                 'href="/cases/12"', "the case number", '<a href="/staff/cases">', '"case.node": ("您关注的案件',
                 '"creditor": ("申请执行人", "creditor")'):
        assert CASE_WORDS.search(line), line
    for line in ("from sqlalchemy import case, select", "too few cases yet", "lower case"):
        assert not CASE_WORDS.search(line), line
    for line in ('"lot.sold": ("您关注的拍品', 'href="/lots/ZJ1"', "lot.finding_changed"):
        assert LOT_WORDS.search(line), line
    for line in ("a lot of work", "slots"):
        assert not LOT_WORDS.search(line), line


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


def test_the_case_forms_come_from_their_domain_through_the_registry(tmp_path: Path) -> None:
    own = kinds.load_kinds()
    for kind, struct in case_forms.FORMS.items():
        assert kind not in own.kinds and forms.FORMS[kind] is struct and kind in forms.form_kinds()
        assert kinds.kind(kind) is not None
    # The order of every kind (GET /api/v1/forms): the title transfer's, the cases', the queue's own.
    assert list(forms.FORMS) == [*transfer_forms.FORMS, *case_forms.FORMS, "talk_to_person", "document_supplement",
                                 "dispute"]
    with pytest.raises(ValueError, match="already defined"):
        forms.register_form("asset_clue", case_forms.RefusalClue)
    copy = tmp_path / "kinds.toml"  # the same kinds from another file: refused
    copy.write_text(case_forms.KINDS_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(kinds.KindsError, match="already defined"):
        kinds.register_kinds(copy)
    assert forms.FORMS["asset_clue"] is case_forms.AssetClue and kinds.kind("refusal_clue") is not None


def test_the_case_number_field_type_validates_and_names_the_item() -> None:
    valid = forms.validate_fields("asset_clue", {"case_number": " （2024）浙0681执 1234号 "}, ["case_number"])
    assert valid == {"case_number": "(2024)浙0681执1234号"}
    with pytest.raises(forms.FormInvalid) as refused:
        forms.validate_fields("refusal_clue", {"case_number": "2024-1234"}, ["case_number"])
    assert refused.value.errors[0].message_zh == case_forms.CASE_NUMBER.invalid_zh
    assert forms.subject_line("refusal_clue", {"case_number": "(2024)浙0681执1234号", "description": "x"}) \
        == "(2024)浙0681执1234号"


def test_the_domains_notices_are_registered_for_every_process() -> None:
    """Importing the composition root (as the outbox sender's own process does) registers the
    cases' and the lots' notices; another text under a taken event name is refused."""
    import portal  # noqa: F401 - registers on import
    from auction_listings.events import NOTICES as LOT_NOTICES
    from backoffice import notify
    from cases.events import NOTICES as CASE_NOTICES

    for event, pair in {**CASE_NOTICES, **LOT_NOTICES}.items():
        assert notify.TEXTS[event] == pair
    notify.register_texts(CASE_NOTICES)  # again: harmless
    with pytest.raises(ValueError, match="another text"):
        notify.register_texts({"case.node": ("别的", "other")})
    assert notify.TEXTS["case.node"] == CASE_NOTICES["case.node"]


def test_both_languages_of_a_notice_fill_the_same_fields() -> None:
    """A field only one language names (or one misspelt in one of them) would reach that reader
    as a blank: refused when the notice is registered, and every notice registered passes."""
    import portal  # noqa: F401 - registers every domain's notices on import
    from backoffice import notify

    notify.check_texts(notify.TEXTS)
    with pytest.raises(ValueError, match=r"'case\.typo'.*\['node', 'ref'\].*\['nod', 'ref'\]"):
        notify.register_texts({"case.typo": ("案件 {ref}:{node}", "Case {ref}: {nod}")})
    with pytest.raises(ValueError, match="plain name"):
        notify.register_texts({"case.index": ("案件 {ref[0]}", "Case {ref[0]}")})
    assert "case.typo" not in notify.TEXTS and "case.index" not in notify.TEXTS


def test_a_field_the_payload_lacks_is_sent_blank_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    from backoffice import notify
    from backoffice.models import Notification

    notify.register_texts({"test.blank": ("{ref}:{node}。", "{ref}: {node}.")})
    try:
        row = Notification(id=7, item_id=None, event="test.blank", language="en", payload={"reference": "WI-000001"})
        with caplog.at_level("WARNING", logger="backoffice.notify"):
            assert notify.render(row) == "WI-000001: ."  # the rest of the notice still goes out
        assert any("{node}" in r.getMessage() and "test.blank" in r.getMessage() for r in caplog.records)
        row.payload = {"reference": "WI-000001", "node_en": "Auction held", "node_zh": "已拍卖"}
        caplog.clear()
        with caplog.at_level("WARNING", logger="backoffice.notify"):
            assert notify.render(row) == "WI-000001: Auction held."
        assert not caplog.records
    finally:
        notify.TEXTS.pop("test.blank", None)
