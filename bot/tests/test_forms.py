"""Form validation against the portal's schema: answers, help, corrections, stopping."""
import datetime as dt

from actions.forms import (
    ActionAskConfirmSubmission,
    ValidateAssetClueForm,
    ValidateDeliveryAppointmentForm,
    ValidateUtilityHandoverForm,
    ValidateVerifyTransferForm,
)
from tests.conftest import make_tracker, run, slot_events, texts
from tests.fake_portal import IDENTITY

UTIL = "utility_handover_form"
FILLED = {"tracking_number": "ZT2026000001", "verification_code": "482913", "utility_type": "water",
          "account_holder_name": "陈建国", "contact_phone": "13812345678"}


def validate(action, domain, **kw):
    return run(action, make_tracker(**kw), domain)


def test_activation_draws_a_nonce_introduces_the_form_and_asks_the_first_field(portal, domain):
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="我要申请水电气过户",
                                intent="request_utility_handover", candidates={})
    slots = slot_events(events)
    assert len(slots["submission_nonce"]) == 32
    assert slots["requested_slot"] == "tracking_number"
    assert "水电气过户申请" in texts(messages)


def test_activation_keeps_a_valid_entity_and_asks_the_next_field(portal, domain):
    events, _ = validate(ValidateUtilityHandoverForm(), domain, text="帮我办水的过户",
                         intent="request_utility_handover",
                         entities=[{"entity": "utility_type", "value": "water"}],
                         candidates={"utility_type": "water"})
    slots = slot_events(events)
    assert slots["utility_type"] == "water" and slots["requested_slot"] == "tracking_number"


def test_signed_in_person_is_not_asked_for_a_code(portal, domain):
    events, _ = validate(ValidateUtilityHandoverForm(), domain, text="ZT2026000001", active_loop=UTIL,
                         slots={"requested_slot": "tracking_number"},
                         candidates={"tracking_number": "ZT2026000001"},
                         metadata={"identity": IDENTITY})
    assert slot_events(events)["requested_slot"] == "utility_type"


def test_invalid_phone_is_refused_in_the_persons_language(portal, domain):
    slots = dict(FILLED, contact_phone=None, requested_slot="contact_phone", language="en")
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="12345", active_loop=UTIL,
                                slots=slots, candidates={"contact_phone": "12345"})
    s = slot_events(events)
    assert s["contact_phone"] is None and s["requested_slot"] == "contact_phone"
    assert "Contact phone" in texts(messages) and "11-digit" in texts(messages)


def test_two_failed_tries_offer_a_way_out(portal, domain):
    slots = dict(FILLED, contact_phone=None, requested_slot="contact_phone", failed_attempts=1)
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="abc", active_loop=UTIL,
                                slots=slots, candidates={"contact_phone": "abc"})
    assert slot_events(events)["failed_attempts"] == 2
    assert "算了" in texts(messages)


def test_what_does_it_mean_is_explained_from_the_portals_schema(portal, domain):
    slots = dict(FILLED, account_holder_name=None, requested_slot="account_holder_name")
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="户主是什么意思？", intent="nlu_fallback",
                                active_loop=UTIL, slots=slots, candidates={"account_holder_name": "户主是什么意思？"})
    assert "【门户】" in texts(messages)  # the portal's help text, not the built-in copy
    s = slot_events(events)
    assert s["account_holder_name"] is None and s["requested_slot"] == "account_holder_name"
    assert any(r["path"] == "/api/v1/forms/utility_handover" for r in portal.requests)


def test_explanation_in_english(portal, domain):
    slots = dict(FILLED, account_holder_name=None, requested_slot="account_holder_name", language="en")
    _, messages = validate(ValidateUtilityHandoverForm(), domain, text="what does that mean?",
                           active_loop=UTIL, slots=slots, candidates={"account_holder_name": "what does that mean?"})
    assert "[portal] The name the utility account" in texts(messages)


def test_portal_down_falls_back_to_the_built_in_schema(no_portal, domain):
    slots = dict(FILLED, account_holder_name=None, requested_slot="account_holder_name")
    _, messages = validate(ValidateUtilityHandoverForm(), domain, text="什么意思", active_loop=UTIL,
                           slots=slots, candidates={"account_holder_name": "什么意思"})
    assert "一般为买受人" in texts(messages)  # the help from the snapshot of the portal's schema


def test_correction_at_the_confirmation_changes_the_field_and_reads_back_again(portal, domain):
    slots = dict(FILLED, requested_slot="confirm_submission")
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="不对，电话是13900000000",
                                intent="deny", active_loop=UTIL, slots=slots, candidates={})
    s = slot_events(events)
    assert s["contact_phone"] == "13900000000"
    assert s["confirm_submission"] is None and s["requested_slot"] == "confirm_submission"
    assert "已把“联系电话”改为：13900000000" in texts(messages)


def test_correction_of_another_field_while_a_different_question_is_open(portal, domain):
    # dates ahead of today (a fixed date went into the past and the correction was refused as such)
    first, corrected = (dt.date.today() + dt.timedelta(days=n) for n in (10, 12))
    slots = {"tracking_number": "ZT2026000001", "verification_code": "482913",
             "preferred_date": first.isoformat(), "requested_slot": "time_slot", "language": "en"}
    events, messages = validate(ValidateDeliveryAppointmentForm(), domain,
                                text=f"no, the date should be {corrected.isoformat()}",
                                intent="deny", active_loop="delivery_appointment_form", slots=slots, candidates={})
    s = slot_events(events)
    assert s["preferred_date"] == corrected.isoformat() and s["requested_slot"] == "time_slot"
    assert "Changed" in texts(messages)


def test_plain_no_rejects_the_form_so_the_stop_rule_runs(portal, domain):
    slots = dict(FILLED, contact_phone=None, requested_slot="contact_phone")
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="算了", intent="deny",
                                active_loop=UTIL, slots=slots, candidates={})
    assert len(events) == 1
    assert events[0]["event"] == "action_execution_rejected" and events[0]["name"] == UTIL
    assert messages == []


def test_a_stop_the_nlu_missed_still_ends_the_form_without_submitting(portal, domain):
    slots = dict(FILLED, contact_phone=None, requested_slot="contact_phone")
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="不办了", intent="inform",
                                active_loop=UTIL, slots=slots, candidates={"contact_phone": "不办了"})
    assert any(e.get("event") == "active_loop" and e.get("name") is None for e in events)
    assert slot_events(events)["utility_type"] is None
    assert "没有提交" in texts(messages)
    assert portal.posts() == []


def test_unclear_answer_at_the_confirmation_asks_again(portal, domain):
    slots = dict(FILLED, requested_slot="confirm_submission", language="en")
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="hmm 🤔", intent="nlu_fallback",
                                active_loop=UTIL, slots=slots, candidates={})
    s = slot_events(events)
    assert s["confirm_submission"] is None and s["requested_slot"] == "confirm_submission"
    assert "yes" in texts(messages)


def test_yes_at_the_confirmation_completes_the_form(portal, domain):
    slots = dict(FILLED, requested_slot="confirm_submission")
    events, _ = validate(ValidateUtilityHandoverForm(), domain, text="确认", intent="affirm",
                         active_loop=UTIL, slots=slots, candidates={"confirm_submission": True})
    s = slot_events(events)
    assert s["confirm_submission"] is True and s["requested_slot"] is None


def test_five_thousand_character_description_is_refused_politely(portal, domain):
    slots = {"case_number": "(2024)浙0681执1234号", "asset_type": "vehicle", "requested_slot": "description"}
    long_text = "被执行人有一辆车。" * 560
    events, messages = validate(ValidateAssetClueForm(), domain, text=long_text, active_loop="asset_clue_form",
                                slots=slots, candidates={"description": long_text})
    assert slot_events(events)["description"] is None
    assert "2000" in texts(messages)


def test_description_mentioning_a_phone_number_is_not_a_correction(portal, domain):
    slots = {"case_number": "(2024)浙0681执1234号", "asset_type": "vehicle", "requested_slot": "description",
             "contact_phone": "13812345678"}
    text = "被执行人的司机电话是13711112222，车停在公司楼下"
    events, _ = validate(ValidateAssetClueForm(), domain, text=text, active_loop="asset_clue_form",
                         slots=slots, candidates={"description": text})
    s = slot_events(events)
    assert s["description"] == text and "contact_phone" not in s


def test_verify_form_asks_number_then_code_without_an_intro(portal, domain):
    events, messages = validate(ValidateVerifyTransferForm(), domain, text="查进度", intent="ask_transfer_status",
                                candidates={})
    assert slot_events(events)["requested_slot"] == "tracking_number" and messages == []
    events, _ = validate(ValidateVerifyTransferForm(), domain, text="ZT2026000001",
                         active_loop="verify_transfer_form", slots={"requested_slot": "tracking_number"},
                         candidates={"tracking_number": "ZT2026000001"})
    assert slot_events(events)["requested_slot"] == "verification_code"


def test_confirmation_reads_back_labels_and_masks_the_code(portal, domain):
    tracker = make_tracker(slots=dict(FILLED, notes="门卫室可以代收"), active_loop=UTIL, text="13812345678")
    _, messages = run(ActionAskConfirmSubmission(), tracker, domain)
    out = texts(messages)
    assert "过户类型: 水" in out and "新户名: 陈建国" in out and "备注: 门卫室可以代收" in out
    assert "482913" not in out and "（已提供）" in out
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/affirm", "/deny"]


def test_mixed_language_answer_to_an_enum(portal, domain):
    slots = {"tracking_number": "ZT2026000001", "verification_code": "482913", "requested_slot": "utility_type"}
    events, _ = validate(ValidateUtilityHandoverForm(), domain, text="gas 燃气那个", active_loop=UTIL,
                         slots=slots, candidates={"utility_type": "gas 燃气那个"})
    assert slot_events(events)["utility_type"] == "gas"


def test_a_question_about_another_field_explains_that_field(portal, domain):
    slots = dict(FILLED, contact_phone=None, requested_slot="contact_phone")
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="户主是什么意思？", intent="nlu_fallback",
                                active_loop=UTIL, slots=slots, candidates={"contact_phone": "户主是什么意思？"})
    assert "新户名" in texts(messages) and "【门户】" in texts(messages)
    assert slot_events(events)["requested_slot"] == "contact_phone"


def test_first_run_is_told_by_where_the_active_loop_event_sits():
    from rasa_sdk import Tracker

    from actions.forms import is_first_run

    def tracker(events):
        return Tracker("s", {}, {}, events, False, None, {"name": UTIL}, "action_listen")

    activated_now = [{"event": "user", "text": "我要办"}, {"event": "active_loop", "name": UTIL},
                     {"event": "action", "name": UTIL}]
    asked_before = [{"event": "active_loop", "name": UTIL}, {"event": "user", "text": "陈建国"},
                    {"event": "action", "name": UTIL}]
    assert is_first_run(tracker(activated_now), UTIL)
    assert not is_first_run(tracker(asked_before), UTIL)
    assert is_first_run(tracker([{"event": "user", "text": "hi"}]), UTIL)


def test_a_correction_typed_as_an_answer_is_not_also_an_invalid_answer(portal, domain):
    slots = {"tracking_number": "ZT2026000001", "verification_code": "482913", "preferred_date": "2026-12-05",
             "requested_slot": "time_slot"}
    text = "不对，日期应该是2026-12-08"
    events, messages = validate(ValidateDeliveryAppointmentForm(), domain, text=text, intent="inform",
                                active_loop="delivery_appointment_form", slots=slots, candidates={"time_slot": text})
    s = slot_events(events)
    assert s["preferred_date"] == "2026-12-08" and s["time_slot"] is None and s["requested_slot"] == "time_slot"
    assert texts(messages) == "已把“希望交付日期”改为：2026-12-08"


def test_a_wrong_code_is_caught_before_the_rest_of_the_form(portal, domain):
    slots = {"tracking_number": "ZT2026000001", "requested_slot": "verification_code"}
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="123456", active_loop=UTIL,
                                slots=slots, candidates={"verification_code": "123456"})
    s = slot_events(events)
    assert s["verification_code"] is None and s["requested_slot"] == "verification_code"
    assert "对不上" in texts(messages)
    headers = portal.requests[-1]["headers"]
    assert headers["X-Verification-Code"] == "123456" and headers["X-Chat-Sender"] == "test-sender"


def test_the_right_code_moves_on(portal, domain):
    slots = {"tracking_number": "ZT2026000001", "requested_slot": "verification_code"}
    events, messages = validate(ValidateUtilityHandoverForm(), domain, text="482913", active_loop=UTIL,
                                slots=slots, candidates={"verification_code": "482913"})
    assert slot_events(events)["requested_slot"] == "utility_type" and messages == []


def test_code_check_with_the_portal_down_lets_the_form_go_on(no_portal, domain):
    slots = {"tracking_number": "ZT2026000001", "requested_slot": "verification_code"}
    events, _ = validate(ValidateUtilityHandoverForm(), domain, text="482913", active_loop=UTIL,
                         slots=slots, candidates={"verification_code": "482913"})
    assert slot_events(events)["verification_code"] == "482913"


def test_verify_form_leaves_the_code_check_to_the_status_lookup(portal, domain):
    slots = {"tracking_number": "ZT2026000001", "requested_slot": "verification_code"}
    validate(ValidateVerifyTransferForm(), domain, text="123456", active_loop="verify_transfer_form",
             slots=slots, candidates={"verification_code": "123456"})
    assert not any(r["path"].startswith("/api/v1/transfers/") for r in portal.requests)


def test_a_name_the_nlu_read_as_no_is_taken_as_the_answer(portal, domain):
    slots = dict(FILLED, account_holder_name=None, contact_phone=None, requested_slot="account_holder_name")
    events, _messages = validate(ValidateUtilityHandoverForm(), domain, text="Wu Min", intent="deny",
                                 active_loop=UTIL, slots=slots, candidates={})
    assert all(e.get("event") != "action_execution_rejected" for e in events)
    assert slot_events(events)["account_holder_name"] == "Wu Min"


def test_an_explicit_no_to_a_name_question_still_stops(portal, domain):
    slots = dict(FILLED, account_holder_name=None, contact_phone=None, requested_slot="account_holder_name")
    events, _messages = validate(ValidateUtilityHandoverForm(), domain, text="不用了", intent="deny",
                                 active_loop=UTIL, slots=slots, candidates={})
    assert events[0]["event"] == "action_execution_rejected"


def test_the_browsers_signed_client_key_goes_back_to_the_portal(portal, domain):
    slots = {"tracking_number": "ZT2026000001", "requested_slot": "verification_code"}
    validate(ValidateUtilityHandoverForm(), domain, text="123456", active_loop=UTIL, slots=slots,
             candidates={"verification_code": "123456"}, metadata={"client": "signed-client-key"})
    assert portal.requests[-1]["headers"]["X-Chat-Client"] == "signed-client-key"
