"""Submitting: reference back, idempotent retries, 4xx never taken for success."""
from actions.submission import (
    ActionDropPendingSubmission,
    ActionStopForm,
    ActionSubmitForm,
    idempotency_key,
)
from tests.conftest import followups, make_tracker, run, slot_events, texts
from tests.fake_portal import IDENTITY

UTIL = "utility_handover_form"
FILLED = {"tracking_number": "ZT2026000001", "verification_code": "482913", "utility_type": "water",
          "account_holder_name": "陈建国", "contact_phone": "13812345678",
          "confirm_submission": True, "submission_nonce": "n1"}
FORM_RAN = [{"event": "active_loop", "name": UTIL}, {"event": "active_loop", "name": None}]


def submit(domain, slots, **kw):
    kw.setdefault("events", FORM_RAN)
    kw.setdefault("text", "确认")
    kw.setdefault("intent", "affirm")
    return run(ActionSubmitForm(), make_tracker(slots=slots, **kw), domain)


def test_confirmed_form_is_submitted_once_with_a_reference_back(portal, domain):
    events, messages = submit(domain, dict(FILLED))
    out = texts(messages)
    assert "WI-000001" in out and "自来水公司" in out
    # not signed in: told how to follow it without an account (issue 13), never /my/submissions/…
    assert "/my/submissions/" not in out and "/track" in out and "ZT2026000001" in out
    post = portal.posts()[0]
    assert post["headers"]["Idempotency-Key"] == idempotency_key("test-sender", "utility_handover", "n1")
    assert post["body"]["kind"] == "utility_handover" and post["body"]["channel"] == "chat"
    assert post["body"]["data"]["verification_code"] == "482913"
    assert post["body"]["language"] == "zh"
    s = slot_events(events)
    assert s["utility_type"] is None and s["submission_nonce"] is None and s["confirm_submission"] is None
    assert "tracking_number" not in s  # kept for the next request about the same transfer


def test_signed_in_submission_names_the_person_and_sends_no_code(portal, domain):
    _events, messages = submit(domain, dict(FILLED), metadata={"identity": IDENTITY})
    assert "/my/submissions/WI-000001" in texts(messages)  # their account's page
    post = portal.posts()[0]
    assert post["headers"]["X-Citizen-Token"] == IDENTITY
    assert "verification_code" not in post["body"]["data"]


def test_portal_down_keeps_everything_and_yes_retries_with_the_same_key(portal, domain):
    portal.submit_plan = ["down"]
    events, messages = submit(domain, dict(FILLED))
    assert "连不上" in texts(messages) and portal.items == {}
    s = slot_events(events)
    assert s == {"pending_submission": "utility_handover", "submission_nonce": "n1"}
    # "再试一次": same slots, pending set
    events, messages = submit(domain, dict(FILLED, pending_submission="utility_handover"), text="再试一次")
    assert "WI-000001" in texts(messages)
    keys = [p["headers"]["Idempotency-Key"] for p in portal.posts()]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert len(portal.items) == 1
    assert slot_events(events)["pending_submission"] is None


def test_timeout_after_the_portal_stored_it_does_not_make_a_second_item(portal, domain):
    portal.submit_plan = ["slow"]  # the portal stores it, the bot gives up waiting
    _, messages = submit(domain, dict(FILLED, language="en"))
    assert "can't be reached" in texts(messages)
    _, messages = submit(domain, dict(FILLED, language="en", pending_submission="utility_handover"), text="yes")
    assert "WI-000001" in texts(messages)
    assert len(portal.items) == 1  # the replay answered 200 with the same reference
    keys = {p["headers"]["Idempotency-Key"] for p in portal.posts()}
    assert len(keys) == 1


def test_a_new_form_run_gets_a_new_key(portal, domain):
    submit(domain, dict(FILLED))
    submit(domain, dict(FILLED, utility_type="gas", submission_nonce="n2"))
    keys = [p["headers"]["Idempotency-Key"] for p in portal.posts()]
    assert keys[0] != keys[1] and len(portal.items) == 2


def test_422_reads_the_errors_back_and_asks_those_fields_again(portal, domain):
    portal.submit_plan = ["422"]
    events, messages = submit(domain, dict(FILLED, language="en"))
    out = texts(messages)
    assert "Contact phone: That number can't be reached" in out
    s = slot_events(events)
    assert s["contact_phone"] is None and s["confirm_submission"] is None
    assert s["submission_nonce"] not in (None, "n1")  # corrected body, new key
    assert followups(events) == [UTIL]
    assert portal.items == {}


def test_409_is_explained_and_not_retried(portal, domain):
    submit(domain, dict(FILLED))
    events, messages = submit(domain, dict(FILLED, contact_phone="13900000000"))  # same nonce, new body
    assert "不同的内容" in texts(messages)
    assert len(portal.items) == 1 and slot_events(events)["pending_submission"] is None


def test_429_asks_to_wait_and_keeps_the_request(portal, domain, monkeypatch):
    from actions.portal_client import PortalClient, PortalResponse

    async def throttled(self, *a, **kw):
        return PortalResponse(429, {"detail": "slow down"}, retry_after=60)

    monkeypatch.setattr(PortalClient, "submit", throttled)
    events, messages = submit(domain, dict(FILLED, language="en"))
    assert "Too many tries" in texts(messages) and "60 seconds" in texts(messages)
    assert slot_events(events)["pending_submission"] == "utility_handover"


def test_401_is_not_success(portal, domain, monkeypatch):
    monkeypatch.setenv("PORTAL_SERVICE_TOKEN", "wrong")
    events, messages = submit(domain, dict(FILLED))
    assert "拒绝" in texts(messages) and "WI-" not in texts(messages)
    assert slot_events(events)["pending_submission"] is None


def test_stopped_form_is_never_submitted(portal, domain):
    events, messages = submit(domain, dict(FILLED, confirm_submission=None))
    assert events == [] and messages == [] and portal.posts() == []


def test_talk_to_person_attaches_the_last_twenty_turns(portal, domain):
    history = []
    for i in range(15):
        history += [{"event": "user", "text": f"问题{i}"}, {"event": "bot", "text": f"回答{i}"}]
    history += [{"event": "active_loop", "name": "talk_to_person_form"}, {"event": "active_loop", "name": None}]
    slots = {"topic": "税费核定", "contact_name": "王小明", "contact_phone": "13812345678",
             "confirm_submission": True, "submission_nonce": "t1"}
    submit(domain, slots, events=history)
    body = portal.posts()[0]["body"]
    assert body["kind"] == "talk_to_person"
    transcript = body["transcript"]
    assert len(transcript) == 20 and transcript[-1] == {"who": "user", "text": "确认"}
    assert {t["who"] for t in transcript} == {"user", "bot"}


def test_stop_clears_the_request_but_keeps_the_tracking_number(domain):
    tracker = make_tracker(slots=dict(FILLED), active_loop=UTIL, text="算了", intent="deny")
    events, messages = run(ActionStopForm(), tracker, domain)
    s = slot_events(events)
    assert s["utility_type"] is None and s["requested_slot"] is None and "tracking_number" not in s
    assert any(e.get("event") == "active_loop" and e.get("name") is None for e in events)
    assert "没有提交" in texts(messages)


def test_declining_a_retry_drops_it(domain):
    tracker = make_tracker(slots=dict(FILLED, pending_submission="utility_handover", language="en"), text="no",
                           intent="deny")
    events, messages = run(ActionDropPendingSubmission(), tracker, domain)
    assert slot_events(events)["pending_submission"] is None and "won't send" in texts(messages)


def test_unknown_case_number_is_asked_again_nothing_created(portal, domain):
    slots = {"case_number": "(2099)浙0681执9999号", "asset_type": "vehicle", "description": "一辆车",
             "contact_name": "张三", "contact_phone": "13812345678", "confirm_submission": True,
             "submission_nonce": "c1", "language": "en"}
    events = [{"event": "active_loop", "name": "asset_clue_form"}, {"event": "active_loop", "name": None}]
    result, messages = submit(domain, slots, events=events, text="yes")
    assert "Case number: No case with this number" in texts(messages)
    s = slot_events(result)
    assert s["case_number"] is None and "description" not in s  # only the wrong field is asked again
    assert followups(result) == ["asset_clue_form"] and portal.items == {}


def test_anonymous_filing_without_a_transfer_is_told_how_it_is_followed_in_english(portal, domain):
    slots = {"case_number": "(2024)浙0681执1234号", "asset_type": "vehicle", "description": "a white car",
             "contact_name": "Li Wei", "contact_phone": "13812345678", "confirm_submission": True,
             "submission_nonce": "n9", "language": "en"}
    events = [{"event": "active_loop", "name": "asset_clue_form"}, {"event": "active_loop", "name": None}]
    _, messages = submit(domain, slots, events=events, text="yes")
    out = texts(messages)
    assert "WI-000001" in out and "/my/submissions" not in out and "13812345678" in out
    assert "contact you" in out
