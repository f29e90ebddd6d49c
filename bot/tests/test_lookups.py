"""Issues 10 and 11: a creditor's case, a payee's payout and a named lot, through the portal's
JSON API (the fake portal implements the contracts of the cases, payouts and lotpub branches)."""
import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import fields as F
from actions.answers import answer_question
from actions.forms import ValidateCaseLookupForm, ValidatePayoutLookupForm
from actions.lookups import ActionCaseProgress, ActionLotInfo, ActionPayoutLookup
from tests.conftest import followups, make_tracker, run, slot_events, texts
from tests.fake_portal import BATCH_CODE, CASE_NUMBER, CASE_QUERY_CODE, ID_NUMBER, IDENTITY

CASE_SLOTS = {"case_number": CASE_NUMBER, "id_number": ID_NUMBER, "case_query_code": CASE_QUERY_CODE}


def lot(text, intent, lot_no, lang="zh"):
    return make_tracker(text=text, intent=intent, slots={"language": lang},
                        entities=[{"entity": "lot_no", "value": lot_no}] if lot_no else [])


# ---- cases ------------------------------------------------------------------------------------

def test_a_verified_creditor_reads_the_progress_in_chinese(portal, domain):
    events, messages = run(ActionCaseProgress(), make_tracker(slots=CASE_SLOTS), domain)
    out = texts(messages)
    assert "分配" in out and "案款到账" in out and "分配方案" in out and "2026-12-04" in out
    assert "已拍卖" in out and "350,000 元" in out and "待发放" in out and "诸暨市人民法院" in out
    assert "Distribution" not in out  # the reader's language only
    assert slot_events(events)["id_number"] is None  # the ID number is not kept
    body = [r for r in portal.requests if r["path"] == "/api/v1/cases/lookup"][0]["body"]
    assert body == {"case_number": CASE_NUMBER, "id_number": ID_NUMBER, "query_code": CASE_QUERY_CODE,
                    "language": "zh"}


def test_a_verified_creditor_reads_the_progress_in_english(portal, domain):
    _, messages = run(ActionCaseProgress(), make_tracker(slots=dict(CASE_SLOTS, language="en")), domain)
    out = texts(messages)
    assert "Distribution" in out and "Proceeds received" in out and "not a promise" in out
    assert "Auctioned" in out and "¥350,000" in out and "Zhuji People's Court" in out
    assert "分配方案" not in out  # (what the court wrote stays as written: the node's description)


def test_a_wrong_code_looks_like_an_unknown_case_and_is_throttled(portal, domain):
    for _ in range(4):
        _, messages = run(ActionCaseProgress(), make_tracker(slots=dict(CASE_SLOTS, case_query_code="WRONG123")),
                          domain)
        assert "对不上" in texts(messages) and "分配" not in texts(messages)
    _, messages = run(ActionCaseProgress(), make_tracker(slots=CASE_SLOTS), domain)
    assert "10 分钟" in texts(messages)  # the portal's Retry-After, even with the right code now


def test_signed_in_creditor_gets_their_cases_without_being_asked(portal, domain):
    tracker = make_tracker(metadata={"identity": IDENTITY}, text="我的案子到哪一步了", intent="ask_case_progress",
                           candidates={})
    events, _ = run(ValidateCaseLookupForm(), tracker, domain)
    assert slot_events(events)["requested_slot"] is None  # nothing to ask
    _, messages = run(ActionCaseProgress(), make_tracker(metadata={"identity": IDENTITY}), domain)
    assert CASE_NUMBER in texts(messages)
    assert [r["headers"].get("X-Citizen-Token") for r in portal.requests
            if r["path"].startswith("/api/v1/cases/mine")] == [IDENTITY]


def test_without_the_details_the_lookup_asks_for_them(domain):
    events, _ = run(ActionCaseProgress(), make_tracker(slots={"case_number": CASE_NUMBER}), domain)
    assert followups(events) == ["case_lookup_form"]


def test_the_case_form_takes_everything_from_one_message_and_checks_the_id_number(portal, domain):
    text = f"{CASE_NUMBER} 身份证{ID_NUMBER} 查询码 k7m2 p9qx 进度怎样"
    events, _ = run(ValidateCaseLookupForm(), make_tracker(
        text=text, intent="ask_case_progress", entities=[{"entity": "case_number", "value": CASE_NUMBER}],
        candidates={"case_number": CASE_NUMBER}), domain)
    s = slot_events(events)
    assert (s["id_number"], s["case_query_code"], s["requested_slot"]) == (ID_NUMBER, CASE_QUERY_CODE, None)
    bad = ID_NUMBER[:-1] + "8"  # wrong check digit
    events, messages = run(ValidateCaseLookupForm(), make_tracker(
        text=bad, active_loop="case_lookup_form", slots={"case_number": CASE_NUMBER, "requested_slot": "id_number"},
        candidates={"id_number": bad}), domain)
    assert slot_events(events)["id_number"] is None and "18位身份证号" in texts(messages)


def test_id_numbers_are_checked_by_their_check_digit():
    assert F.id_number_valid(ID_NUMBER) and F.id_number_valid("33010519851215002X")
    assert not F.id_number_valid("330105198512150021") and not F.id_number_valid("33068119900101123")


def test_portal_down_is_said_plainly(no_portal, domain):
    _, messages = run(ActionCaseProgress(), make_tracker(slots=dict(CASE_SLOTS, language="en")), domain)
    assert "can't reach the portal" in texts(messages)


# ---- payouts ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "wanted", "unwanted"), [
    ("zh", ["发放失败", "收款账户已销户", "登记新的收款账户", "12,800.5 元", "0571-12368", "账户状态异常"], ["closed"]),
    ("en", ["failed", "account is closed", "Register a new account", "¥12,800.5", "0571-12368"], ["销户"]),
])
def test_a_payee_sees_their_payout_and_what_to_do(portal, domain, lang, wanted, unwanted):
    tracker = make_tracker(slots={"batch_code": BATCH_CODE, "id_number": ID_NUMBER, "language": lang})
    events, messages = run(ActionPayoutLookup(), tracker, domain)
    out = texts(messages)
    assert all(w in out for w in wanted) and not any(u in out for u in unwanted)
    assert slot_events(events)["id_number"] is None


def test_a_wrong_batch_code_is_not_found_and_a_malformed_one_is_explained(portal, domain):
    tracker = make_tracker(slots={"batch_code": "PF2026HZ9999", "id_number": ID_NUMBER})
    _, messages = run(ActionPayoutLookup(), tracker, domain)
    assert "对不上" in texts(messages)
    tracker = make_tracker(slots={"batch_code": "PF-1", "id_number": ID_NUMBER, "language": "en"})
    _, messages = run(ActionPayoutLookup(), tracker, domain)
    assert "6 to 16 letters or digits" in texts(messages)


def test_the_payout_form_reads_a_batch_code_typed_loosely(portal, domain):
    events, _ = run(ValidatePayoutLookupForm(), make_tracker(
        text="批次号 pf2026hz0001", active_loop="payout_lookup_form", slots={"requested_slot": "batch_code"},
        candidates={"batch_code": "批次号 pf2026hz0001"}), domain)
    s = slot_events(events)
    assert s["batch_code"] == BATCH_CODE and s["requested_slot"] == "id_number"


# ---- lots -------------------------------------------------------------------------------------

def test_a_named_lots_findings_in_chinese(portal, domain):
    _, messages = run(ActionLotInfo(), lot("ZJ-0681-2026-0142这个拍品有什么联审意见", "ask_listing_info",
                                           "zj-0681-2026-0142"), domain)
    out = texts(messages)
    assert "不动产登记中心" in out and "是否设有抵押：是" in out and "第 2 版" in out
    assert "尚未答复的部门：税务局" in out and "0575-87012345" in out
    assert "欠燃气费 312.40 元" in out and "Gas arrears" not in out  # a "中文 / English" value cut to zh
    assert "/lots/ZJ-0681-2026-0142" in out


def test_a_named_lots_terms_in_english(portal, domain):
    _, messages = run(ActionLotInfo(), lot("what's the deposit for lot ZJ-0681-2026-0142", "ask_auction_rules",
                                           "ZJ-0681-2026-0142", "en"), domain)
    out = texts(messages)
    assert "deposit ¥180,000" in out and "starting price ¥1,820,000" in out and "first auction" in out
    assert "each side pays" in out and "https://sf.taobao.com/item/0142" in out
    assert "Alibaba Auction (judicial)" in out and "阿里拍卖" not in out


def test_an_unknown_lot_is_said_and_a_lot_question_without_number_gets_the_general_answer(portal, domain):
    _, messages = run(ActionLotInfo(), lot("ZJ-0000-2026-0001", "ask_listing_info", "ZJ-0000-2026-0001"), domain)
    assert "没有找到拍品 ZJ-0000-2026-0001" in texts(messages)
    _, messages = run(ActionLotInfo(), lot("最近有什么法拍房", "ask_listing_info", None), domain)
    assert [m.get("response") for m in messages] == ["utter_listing_info"]


def test_a_lot_question_in_the_middle_of_a_form_uses_the_lot_api(portal, domain):
    tracker = make_tracker(text="ZJ-0681-2026-0142保证金多少", intent="ask_auction_rules",
                           entities=[{"entity": "lot_no", "value": "ZJ-0681-2026-0142"}],
                           active_loop="utility_handover_form")
    dispatcher = CollectingDispatcher()
    asyncio.run(answer_question(dispatcher, tracker, "ask_auction_rules"))
    messages = dispatcher.messages
    assert "保证金 180,000 元" in texts(messages) and "我们接着刚才的申请" in texts(messages)
