"""Transfer status: told only to a verified person, with the portal's throttling."""
from actions.transfer import ActionCheckTransferStatus, ActionHandleInform
from tests.conftest import followups, make_tracker, run, slot_events, texts
from tests.fake_portal import IDENTITY


def check(domain, **kw):
    return run(ActionCheckTransferStatus(), make_tracker(**kw), domain)


def test_status_with_the_right_code_lists_the_open_steps_and_links(portal, domain):
    events, messages = check(domain, slots={"tracking_number": "ZT2026000001", "verification_code": "482913"},
                             text="482913")
    out = texts(messages)
    assert "3/10" in out and "税费核定" in out and "2026-11-27" in out
    assert "原户主欠费待结清" in out  # blocked reason the buyer can read
    assert "等待：税费核定" in out
    assert "/track/ZT2026000001" in out
    assert events == []
    req = portal.requests[-1]
    assert req["headers"]["X-Verification-Code"] == "482913"
    assert req["headers"]["X-Chat-Sender"] == "test-sender"
    assert "X-Citizen-Token" not in req["headers"]


def test_status_in_english(portal, domain):
    _, messages = check(domain, slots={"tracking_number": "ZT2026000001", "verification_code": "482913",
                                       "language": "en"}, text="482913")
    out = texts(messages)
    assert "3 of 10 steps done" in out and "Tax assessment (Tax bureau): in progress" in out


def test_signed_in_person_is_named_by_the_portal_identity_not_a_code(portal, domain):
    _, messages = check(domain, slots={"tracking_number": "ZT2026000001"}, text="查进度",
                        metadata={"identity": IDENTITY})
    assert "税费核定" in texts(messages)
    headers = portal.requests[-1]["headers"]
    assert headers["X-Citizen-Token"] == IDENTITY and "X-Verification-Code" not in headers


def test_without_code_or_identity_nothing_is_asked_of_the_portal(portal, domain):
    events, messages = check(domain, slots={"tracking_number": "ZT2026000001"}, text="查进度")
    assert portal.requests == [] and messages == []
    assert followups(events) == ["verify_transfer_form"] and len(events) == 1


def test_wrong_code_five_times_gets_not_found_then_too_many_tries(portal, domain):
    replies = []
    for _ in range(5):
        events, messages = check(domain, slots={"tracking_number": "ZT2026000001", "verification_code": "000000"},
                                 text="000000")
        replies.append((texts(messages), events))
    for out, events in replies[:4]:
        assert "对不上" in out
        assert slot_events(events) == {"verification_code": None}
        assert followups(events) == ["verify_transfer_form"]
    out, events = replies[4]
    assert "次数太多" in out and "5 分钟" in out  # Retry-After: 300
    assert not any(e.get("event") == "followup" for e in events)
    # nothing about the transfer leaked in any reply
    assert all("税费核定" not in out for out, _ in replies)


def test_unknown_number_gets_the_same_answer_as_a_wrong_code(portal, domain):
    _, messages = check(domain, slots={"tracking_number": "ZT2099999999", "verification_code": "482913",
                                       "language": "en"}, text="482913")
    assert "don't match" in texts(messages)


def test_portal_down_says_so_and_points_to_track(no_portal, domain):
    _, messages = check(domain, slots={"tracking_number": "ZT2026000001", "verification_code": "482913"},
                        text="482913")
    assert "连不上" in texts(messages) and "/track" in texts(messages)


def test_portal_timeout_is_treated_as_down(portal, domain):
    portal.mode = "slow"
    _, messages = check(domain, slots={"tracking_number": "ZT2026000001", "verification_code": "482913",
                                       "language": "en"}, text="482913")
    assert "can't reach the portal" in texts(messages)


def test_bad_service_token_is_not_reported_as_not_found(portal, domain, monkeypatch):
    monkeypatch.setenv("PORTAL_SERVICE_TOKEN", "wrong")
    _, messages = check(domain, slots={"tracking_number": "ZT2026000001", "verification_code": "482913"},
                        text="482913")
    assert "服务凭证" in texts(messages)


def test_a_tracking_number_on_its_own_starts_verification(domain):
    tracker = make_tracker(text="ZT2026000001", entities=[{"entity": "tracking_number", "value": "ZT2026000001"}])
    events, _ = run(ActionHandleInform(), tracker, domain)
    assert followups(events) == ["verify_transfer_form"] and len(events) == 1


def test_another_bare_value_gets_a_question_back(domain):
    _, messages = run(ActionHandleInform(), make_tracker(text="13812345678", slots={"language": "en"}), domain)
    assert "What would you like to do" in texts(messages)
