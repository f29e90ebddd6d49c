"""Verified lookups through the portal's JSON API: a creditor's case, a payee's payout, a lot.

The portal decides who may see what (the same checks as its web pages): the bot passes the
signed identity from the message metadata, or what the person typed (case number + ID number
+ case query code; batch code + ID number), and reports the portal's answer in the person's
language. Wrong answers look the same whether the record exists or not (the portal's 404),
and the portal's throttling (429) is passed on. The ID number is forgotten after each lookup.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import client_of, identity_of, language_of, latest_intent
from actions.messages import in_language, localized, t, wait_text
from actions.portal_client import PortalClient, PortalResponse

CASE_LOOKUP_SCHEMA: dict[str, Any] = {
    "kind": "case_lookup",
    "title_zh": "案件查询",
    "title_en": "case lookup",
    "fields": [
        {"name": "case_number", "type": "case_number", "required": True, "max_length": 40,
         "label_zh": "案号", "label_en": "Case number",
         "help_zh": "法院通知书上的案号，格式如 (2024)浙0681执1234号。",
         "help_en": "The case number on the court's notices, like (2024)浙0681执1234号."},
        {"name": "id_number", "type": "id_number", "required": True, "max_length": 18,
         "label_zh": "身份证号", "label_en": "ID number",
         "help_zh": "您作为当事人在法院登记的18位身份证号，只用于核对是否本人，不会保存在对话里。",
         "help_en": "The 18-character ID number you registered with the court as a party; used only to check "
                    "it is you, and not kept in the chat."},
        {"name": "case_query_code", "type": "string", "required": True, "max_length": 16,
         "label_zh": "案件查询码", "label_en": "Case query code",
         "help_zh": "法院送达给您的通知等文书上印的案件查询码。",
         "help_en": "The case query code printed on the notices the court served on you."},
    ],
}
PAYOUT_LOOKUP_SCHEMA: dict[str, Any] = {
    "kind": "payout_lookup",
    "title_zh": "案款查询",
    "title_en": "payout lookup",
    "fields": [
        {"name": "batch_code", "type": "string", "required": True, "max_length": 32,
         "label_zh": "发放批次号", "label_en": "Batch code",
         "help_zh": "法院案款发放公告或通知上的批次号。",
         "help_en": "The batch code on the court's payout announcement or notice."},
        {"name": "id_number", "type": "id_number", "required": True, "max_length": 18,
         "label_zh": "身份证号", "label_en": "ID number",
         "help_zh": "登记为收款人的18位身份证号，只用于核对是否本人，不会保存在对话里。",
         "help_en": "The 18-character ID number registered for the payee; used only to check it is you, "
                    "and not kept in the chat."},
    ],
}
LOOKUP_SCHEMAS = {"case_lookup_form": CASE_LOOKUP_SCHEMA, "payout_lookup_form": PAYOUT_LOOKUP_SCHEMA}

ASSET_STATES = {
    "found": {"zh": "已查到", "en": "found"},
    "seized": {"zh": "已查封", "en": "seized"},
    "frozen": {"zh": "已冻结", "en": "frozen"},
    "appraised": {"zh": "已评估", "en": "appraised"},
    "auctioned": {"zh": "已拍卖", "en": "auctioned"},
    "released": {"zh": "已解除", "en": "released"},
}
PAYOUT_STATES = {
    "paid": {"zh": "已发放", "en": "paid"},
    "pending": {"zh": "待发放", "en": "pending"},
    "failed": {"zh": "发放失败", "en": "failed"},
    "returned": {"zh": "已退回", "en": "returned"},
}
LOT_STATES = {
    "draft": {"zh": "草稿", "en": "draft"},
    "pre_review": {"zh": "联审中", "en": "in pre-review"},
    "announced": {"zh": "公告中", "en": "announced"},
    "bidding": {"zh": "竞价中", "en": "bidding"},
    "sold": {"zh": "已成交", "en": "sold"},
    "unsold": {"zh": "流拍", "en": "unsold"},
    "withdrawn": {"zh": "已撤回", "en": "withdrawn"},
    "suspended": {"zh": "已中止", "en": "suspended"},
}
ROUNDS = {
    "first": {"zh": "一拍", "en": "first auction"},
    "second": {"zh": "二拍", "en": "second auction"},
    "fixed_price": {"zh": "变卖", "en": "fixed-price sale"},
}
MAX_LISTED = 4


def _word(table: dict[str, dict[str, str]], value: Any, lang: str) -> str:
    if isinstance(value, dict):
        return in_language(value, lang)
    return table.get(str(value), {}).get(lang) or in_language(value, lang)


def _money(value: Any, lang: str) -> str:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return in_language(value, lang) if value is not None else "—"
    shown = f"{amount:,.2f}".rstrip("0").rstrip(".")
    return f"{shown} 元" if lang == "zh" else f"¥{shown}"


def _sep(lang: str) -> str:
    return "；" if lang == "zh" else "; "


def describe_case(body: dict[str, Any], lang: str) -> str:
    """A phone-sized summary of a case from POST /api/v1/cases/lookup (or one of /cases/mine)."""
    lines = [t("case_header", lang, case_number=body.get("case_number") or "",
               court=localized(body, "court", lang) or "—",
               stage=localized(body, "stage_label", lang) or in_language(body.get("stage") or "—", lang))]
    node = body.get("latest_node") if isinstance(body.get("latest_node"), dict) else None
    if node:
        desc = localized(node, "description", lang)
        lines.append(t("case_latest", lang, name=localized(node, "name", lang), at=str(node.get("at") or "")[:10],
                       description=(("：" if lang == "zh" else ": ") + desc) if desc else ""))
    nxt = body.get("next") if isinstance(body.get("next"), dict) else None
    if nxt and nxt.get("name"):
        if nxt.get("likely_from") and nxt.get("likely_to"):
            lines.append(t("case_next_range", lang, name=localized(nxt, "name", lang),
                           start=str(nxt["likely_from"])[:10], end=str(nxt["likely_to"])[:10]))
        else:  # fewer than 5 cases measured: no range
            lines.append(t("case_next", lang, name=localized(nxt, "name", lang)))
    assets = [a for a in body.get("assets") or [] if isinstance(a, dict)]
    if assets:
        shown = []
        for asset in assets[:MAX_LISTED]:
            what = (localized(asset, "description", lang) or localized(asset, "name", lang)
                    or localized(asset, "kind_label", lang) or in_language(asset.get("kind") or "", lang))
            state = localized(asset, "state_label", lang) or _word(ASSET_STATES, asset.get("state"), lang)
            shown.append(f"{what}（{state}）" if lang == "zh" else f"{what} ({state})")
        more = t("and_more", lang, n=len(assets) - MAX_LISTED) if len(assets) > MAX_LISTED else ""
        lines.append(t("case_assets", lang, assets=_sep(lang).join(shown), more=more))
    payout = body.get("my_payout") if isinstance(body.get("my_payout"), dict) else None
    if payout:
        status = localized(payout, "status_label", lang) or _word(PAYOUT_STATES, payout.get("status"), lang)
        lines.append(t("case_my_payout", lang, amount=_money(payout.get("amount"), lang), status=status))
    url = body.get("url")
    lines.append(t("case_link", lang, url=url) if url else t("case_link_none", lang))
    return "\n".join(lines)


def describe_payout(body: dict[str, Any], lang: str) -> str:
    """POST /api/v1/payouts/lookup in the person's language."""
    status = str(body.get("status") or "")
    lines = [t("payout_header", lang, batch_code=body.get("batch_code") or "",
               case_number=body.get("case_number") or "—", amount=_money(body.get("amount"), lang),
               status=_word(PAYOUT_STATES, status, lang))]
    if status == "paid" and body.get("paid_at"):
        lines.append(t("payout_paid_at", lang, at=str(body["paid_at"])[:10]))
    reason = localized(body, "failure_reason", lang)
    if reason:
        lines.append(t("payout_failure", lang, reason=reason))
    if body.get("failure_note"):
        lines.append(t("payout_bank_words", lang, note=body["failure_note"]))  # the bank's words, as written
    step = localized(body, "next_step", lang)
    if step:
        lines.append(t("payout_next", lang, step=step))
    return "\n".join(lines)


def _first(obj: dict[str, Any], *keys: str) -> Any:
    return next((obj[k] for k in keys if obj.get(k) not in (None, "", [])), None)


TAX_CLAUSES = {
    "by_law": {"zh": "依法由买卖双方各自承担", "en": "each side pays the taxes the law assigns to it"},
    "buyer_pays_all": {"zh": "买受人承担全部税费", "en": "the buyer pays all taxes"},
    "buyer_all": {"zh": "买受人承担全部税费", "en": "the buyer pays all taxes"},
}


def _when(value: Any) -> str:
    return str(value)[:16].replace("T", " ") if value else "—"


def _finding_line(finding: dict[str, Any], lang: str) -> str:
    name = localized(finding, "name", lang) or in_language(finding.get("department") or "", lang)
    current = finding.get("current") if isinstance(finding.get("current"), dict) else None
    if current is None:  # (older shape: a flat finding)
        text = localized(finding, "summary", lang) or localized(finding, "text", lang)
        return f"• {name}: {text}"
    rows = [r for r in current.get("rows") or [] if isinstance(r, dict)]
    sep = "：" if lang == "zh" else ": "
    parts = [f"{localized(r, 'label', lang)}{sep}{localized(r, 'value', lang)}" for r in rows[:4]]
    if len(rows) > 4:
        parts.append(t("and_more", lang, n=len(rows) - 4).strip())
    if current.get("note"):
        parts.append(str(current["note"]))  # the department's own words, as written
    version = current.get("version")
    tail = t("lot_finding_version", lang, n=version) if isinstance(version, int) and version > 1 else ""
    return f"• {name}: {_sep(lang).join(parts) or '—'}{tail}"


def describe_lot(body: dict[str, Any], lang: str, rules: bool) -> str:
    """GET /api/v1/lots/{lot_no}: the lot, then its sale terms (``rules``) or its findings."""
    lot = body.get("lot") if isinstance(body.get("lot"), dict) else body
    lines = [t("lot_header", lang, lot_no=lot.get("lot_no") or "", title=in_language(lot.get("title") or "", lang),
               status=_word(LOT_STATES, lot.get("status"), lang))]
    terms = []
    if lot.get("round"):
        terms.append(t("lot_round", lang, value=_word(ROUNDS, lot["round"], lang)))
    for key, label_key in (("appraisal", "lot_appraisal"), ("starting_price", "lot_starting_price"),
                           ("deposit", "lot_deposit"), ("increment", "lot_increment")):
        if lot.get(key) not in (None, ""):
            terms.append(t(label_key, lang, value=_money(lot[key], lang)))
    if terms:
        lines.append(_sep(lang).join(terms))
    if lot.get("bidding_starts_at"):
        lines.append(t("lot_bidding", lang, start=_when(lot["bidding_starts_at"]),
                       end=_when(lot.get("bidding_ends_at"))))
    platform = localized(lot, "platform_name", lang) or in_language(lot.get("platform") or "", lang)
    if platform or lot.get("platform_url"):
        lines.append(t("lot_platform", lang, platform=platform or "—", link=lot.get("platform_url") or ""))
    result = body.get("result") if isinstance(body.get("result"), dict) else None
    if result and result.get("status") == "sold" and result.get("price"):
        lines.append(t("lot_sold", lang, price=_money(result["price"], lang)))
    if rules:
        clause = lot.get("tax_clause")
        if clause:
            lines.append(t("lot_tax_clause", lang, clause=_word(TAX_CLAUSES, clause, lang)))
        lines.append(t("lot_general_rules", lang))
    else:
        findings = [f for f in body.get("findings") or [] if isinstance(f, dict)]
        answered = [f for f in findings if f.get("answered", True) and (f.get("current") or "current" not in f)]
        lines += [_finding_line(f, lang) for f in answered[:6]]
        if not answered:
            lines.append(t("lot_no_findings", lang))
        pending = [localized(f, "name", lang) or str(f.get("department")) for f in findings
                   if f not in answered]
        if pending:
            lines.append(t("lot_pending", lang, departments=("、" if lang == "zh" else ", ").join(pending)))
    contact = localized(lot, "court_contact", lang)
    if contact:
        lines.append(t("lot_contact", lang, court=localized(lot, "court_name", lang) or "—", contact=contact))
    url = body.get("url") or lot.get("url") or f"/lots/{lot.get('lot_no', '')}"
    lines.append(t("lot_link", lang, url=url))
    return "\n".join(lines)


def _refusal(resp: PortalResponse, lang: str, not_found_key: str) -> str:
    """What to say when the portal did not answer with the record."""
    if resp.status == 404:
        return t(not_found_key, lang)
    if resp.status == 429:
        return t("lookup_throttled", lang, wait=wait_text(resp.retry_after, lang))
    if resp.status in (400, 422):
        said = resp.body.get(f"message_{lang}") if isinstance(resp.body, dict) else None
        return t("lookup_bad_input_said", lang, message=said) if said else t("lookup_bad_input", lang)
    if resp.status in (401, 403):
        return t("lookup_unauthorized", lang)
    return t("lookup_unavailable", lang)


def lot_number_of(tracker: Tracker) -> str | None:
    """The lot named in the latest message (number, or a link to it), else the slot."""
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") == "lot_no" and entity.get("value"):
            return str(entity["value"]).strip().upper()
    slot = tracker.get_slot("lot_no")
    return str(slot).strip().upper() if slot else None


async def answer_lot(dispatcher: CollectingDispatcher, tracker: Tracker, lot_no: str, rules: bool) -> None:
    lang = language_of(tracker)
    resp = await PortalClient(tracker.sender_id, client=client_of(tracker)).get_lot(lot_no)
    if resp.ok and isinstance(resp.body, dict):
        dispatcher.utter_message(text=describe_lot(resp.body, lang, rules))
    elif resp.status == 404:
        dispatcher.utter_message(text=t("lot_not_found", lang, lot_no=lot_no))
    else:
        dispatcher.utter_message(text=_refusal(resp, lang, "lookup_unavailable"))
        dispatcher.utter_message(response="utter_auction_rules" if rules else "utter_listing_info")


class ActionLotInfo(Action):
    """ask_listing_info / ask_auction_rules for a named lot: GET /api/v1/lots/{lot_no}."""

    def name(self) -> str:
        return "action_lot_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lot_no = lot_number_of(tracker)
        rules = latest_intent(tracker) == "ask_auction_rules"
        if not lot_no:
            dispatcher.utter_message(response="utter_auction_rules" if rules else "utter_listing_info")
            return []
        await answer_lot(dispatcher, tracker, lot_no, rules)
        return [SlotSet("lot_no", lot_no)]


FORGET_CASE = [SlotSet("id_number", None), SlotSet("case_query_code", None)]


class ActionCaseProgress(Action):
    """ask_case_progress, verified: POST /api/v1/cases/lookup, or GET /api/v1/cases/mine signed in."""

    def name(self) -> str:
        return "action_case_progress"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language_of(tracker)
        client = PortalClient(tracker.sender_id, client=client_of(tracker))
        identity = identity_of(tracker)
        case_number = tracker.get_slot("case_number")
        if identity:
            resp = await client.get_my_cases(identity, lang)
            if resp.ok:
                body = resp.body
                cases = body.get("cases") if isinstance(body, dict) else body
                cases = [c for c in cases or [] if isinstance(c, dict)]
                if case_number:
                    cases = [c for c in cases if c.get("case_number") == case_number] or cases
                if not cases:
                    dispatcher.utter_message(text=t("case_none_signed_in", lang))
                for case in cases[:3]:
                    dispatcher.utter_message(text=describe_case(case, lang))
                return FORGET_CASE
            dispatcher.utter_message(text=_refusal(resp, lang, "case_none_signed_in"))
            return FORGET_CASE
        id_number, code = tracker.get_slot("id_number"), tracker.get_slot("case_query_code")
        if not (case_number and id_number and code):
            return [FollowupAction("case_lookup_form")]
        resp = await client.lookup_case(case_number, id_number, code, lang)
        if resp.ok and isinstance(resp.body, dict):
            dispatcher.utter_message(text=describe_case(resp.body, lang))
            return FORGET_CASE
        dispatcher.utter_message(text=_refusal(resp, lang, "case_not_found"))
        return FORGET_CASE


class ActionPayoutLookup(Action):
    """ask_payout, verified: POST /api/v1/payouts/lookup with batch code + ID number."""

    def name(self) -> str:
        return "action_payout_lookup"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language_of(tracker)
        batch, id_number = tracker.get_slot("batch_code"), tracker.get_slot("id_number")
        if not (batch and id_number):
            return [FollowupAction("payout_lookup_form")]
        resp = await PortalClient(tracker.sender_id, client=client_of(tracker)).lookup_payout(batch, id_number, lang)
        if resp.ok and isinstance(resp.body, dict):
            dispatcher.utter_message(text=describe_payout(resp.body, lang))
        else:
            dispatcher.utter_message(text=_refusal(resp, lang, "payout_not_found"))
        return [SlotSet("id_number", None)]
