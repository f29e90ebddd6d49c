"""Status of a title transfer, told only to a verified person.

The portal decides who may see what: the bot passes the signed identity from the
message metadata, or the tracking number's verification code, and reports what
the portal answers. A wrong code and an unknown number get the same answer (the
portal's 404), and the portal's throttling (429) is passed on.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import client_of, identity_of, language_of
from actions.fields import find_tracking_number
from actions.messages import STATE_NAMES, in_language, localized, t, wait_text
from actions.portal_client import PortalClient

SHOWN_STATES = ("blocked", "in_progress", "ready", "waiting")
MAX_STEPS_SHOWN = 6


def describe_transfer(body: dict[str, Any], lang: str) -> str:
    """A phone-sized summary of GET /api/v1/transfers/{no}."""
    steps = [s for s in body.get("steps") or [] if isinstance(s, dict)]
    by_key = {s.get("key"): s for s in steps}

    def step_name(step: dict[str, Any]) -> str:
        return in_language(step.get(f"name_{lang}") or step.get("name_zh") or step.get("key"), lang)

    progress = body.get("progress") or {}
    lines = [t(
        "transfer_header", lang,
        title=localized(body, "title", lang), tracking_no=body.get("tracking_no") or "",
        done=progress.get("done", sum(1 for s in steps if s.get("state") == "done")),
        total=progress.get("total", len(steps)),
    )]
    order = {state: i for i, state in enumerate(SHOWN_STATES)}
    shown = sorted((s for s in steps if s.get("state") in order), key=lambda s: order[s["state"]])
    for step in shown[:MAX_STEPS_SHOWN]:
        state = step.get("state")
        due = t("transfer_due", lang, date=step["due_date"]) if step.get("due_date") else ""
        extra = ""
        reason = localized(step, "blocked_reason", lang) if state == "blocked" else ""
        if reason:
            extra = t("transfer_blocked", lang, reason=reason)
        elif state == "waiting" and step.get("waiting_on"):
            names = [step_name(by_key[k]) if k in by_key else str(k) for k in step["waiting_on"]]
            extra = t("transfer_waiting_on", lang, steps=("、" if lang == "zh" else ", ").join(names))
        department = in_language(
            step.get(f"department_name_{lang}") or step.get("department_name_zh") or step.get("department") or "", lang)
        lines.append(t(
            "transfer_step", lang, name=step_name(step), department=department,
            state=STATE_NAMES.get(str(state), {}).get(lang, str(state)), due=due, extra=extra,
        ))
    next_keys = body.get("next_steps") or []
    if next_keys:
        names = [step_name(by_key[k]) if k in by_key else str(k) for k in next_keys]
        lines.append(t("transfer_next", lang, steps=("、" if lang == "zh" else ", ").join(names)))
    elif steps and all(s.get("state") in ("done", "not_applicable") for s in steps):
        lines.append(t("transfer_all_done", lang))
    url = body.get("url") or f"/track/{body.get('tracking_no', '')}"
    lines.append(t("transfer_link", lang, url=url))
    return "\n".join(lines)


class ActionCheckTransferStatus(Action):
    """GET /api/v1/transfers/{no} for the verified person and summarise it."""

    def name(self) -> str:
        return "action_check_transfer_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language_of(tracker)
        number = find_tracking_number(tracker.get_slot("tracking_number") or "")
        identity = identity_of(tracker)
        code = tracker.get_slot("verification_code")
        if not number or not (identity or code):
            return [FollowupAction("verify_transfer_form")]

        resp = await PortalClient(tracker.sender_id, client=client_of(tracker)).get_transfer(
            number, identity=identity, verification_code=None if identity else code
        )
        if resp.ok and isinstance(resp.body, dict):
            dispatcher.utter_message(text=describe_transfer(resp.body, lang))
            return []
        if resp.status == 404:
            if identity:
                dispatcher.utter_message(text=t("transfer_not_found_signed_in", lang))
                return [SlotSet("tracking_number", None)]
            dispatcher.utter_message(text=t("transfer_not_found", lang))
            return [SlotSet("verification_code", None), FollowupAction("verify_transfer_form")]
        if resp.status == 400:
            dispatcher.utter_message(text=t("transfer_bad_number", lang))
            return [SlotSet("tracking_number", None), FollowupAction("verify_transfer_form")]
        if resp.status == 429:
            dispatcher.utter_message(text=t("transfer_throttled", lang, wait=wait_text(resp.retry_after, lang)))
            return [SlotSet("verification_code", None)]
        if resp.status in (401, 403):
            dispatcher.utter_message(text=t("transfer_unauthorized", lang))
            return []
        dispatcher.utter_message(text=t("transfer_unavailable", lang))
        return []


class ActionHandleInform(Action):
    """A bare value outside any form: a tracking number starts a status check."""

    def name(self) -> str:
        return "action_handle_inform"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        entities = (tracker.latest_message or {}).get("entities") or []
        if any(e.get("entity") == "tracking_number" for e in entities):
            return [FollowupAction("verify_transfer_form")]
        dispatcher.utter_message(text=t("inform_what_for", language_of(tracker)))
        return []
