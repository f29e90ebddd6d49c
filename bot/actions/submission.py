"""Submitting a finished form to the portal, and stopping one.

The Idempotency-Key is derived from the sender, the form kind and a nonce drawn
when the form run started (slot ``submission_nonce``): retrying the same
confirmation — after a timeout, or "yes, try again" — sends the same key, so the
portal never makes a second item; a new form run draws a new nonce. After a 422
the corrected body is a different request, so it gets a new nonce too.
"""
from __future__ import annotations

import hashlib
import uuid
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT

from actions.context import client_of, identity_of, language_of
from actions.forms import (
    CONFIRM,
    NONCE,
    PENDING,
    clearing_events,
    form_slot_names,
    schema_for_form,
)
from actions.messages import t, wait_text
from actions.portal_client import PortalClient
from actions.schemas import FORM_KINDS, field_map

FORM_OF_KIND = {kind: form for form, kind in FORM_KINDS.items()}
TRANSCRIPT_TURNS = 20
TRANSCRIPT_TEXT_MAX = 1000

DEPARTMENTS: dict[str, dict[str, str]] = {
    "water": {"zh": "自来水公司", "en": "water company"},
    "electricity": {"zh": "供电公司", "en": "power company"},
    "gas": {"zh": "燃气公司", "en": "gas company"},
    "court": {"zh": "法院执行局", "en": "court enforcement bureau"},
    "tax": {"zh": "税务局", "en": "tax bureau"},
    "registry": {"zh": "不动产登记中心", "en": "real-estate registry"},
    "vehicle": {"zh": "车管所", "en": "vehicle administration"},
    "urban_management": {"zh": "综合行政执法局", "en": "urban management"},
}


def idempotency_key(sender_id: str, kind: str, nonce: str) -> str:
    digest = hashlib.sha256(f"{sender_id}\x1f{kind}\x1f{nonce}".encode()).hexdigest()
    return f"chat-{kind}-{digest[:32]}"


def transcript_of(tracker: Tracker, turns: int = TRANSCRIPT_TURNS) -> list[dict[str, str]]:
    """The last ``turns`` user/bot messages of the conversation, oldest first."""
    lines: list[dict[str, str]] = []
    for event in tracker.events:
        kind = event.get("event")
        text = event.get("text")
        if kind in ("user", "bot") and isinstance(text, str) and text.strip():
            lines.append({"who": kind, "text": text[:TRANSCRIPT_TEXT_MAX]})
    return lines[-turns:]


def last_form_name(tracker: Tracker) -> str | None:
    """The form that ran last: the latest active_loop event naming one."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            return str(event["name"])
    return None


def department_text(code: str | None, lang: str) -> str:
    if not code:
        return "—"
    return DEPARTMENTS.get(code, {}).get(lang, code)


def submitted_text(body: dict[str, Any], ref: str, department: str, data: dict[str, Any],
                   identity: str | None, lang: str) -> str:
    """Where the person follows what they filed: their requests page when signed in; without an
    account (which /my/submissions/… needs), the tracking page with their code, or this chat."""
    if identity:
        url = body.get("url") or f"/my/submissions/{ref}"
        return t("submitted", lang, reference=ref, url=url, department=department)
    if data.get("tracking_number"):
        return t("submitted_anonymous_transfer", lang, reference=ref, department=department,
                 tracking_no=data["tracking_number"])
    phone = data.get("contact_phone")
    shown = (f" {phone}" if lang == "zh" else f" on {phone}") if phone else ""
    return t("submitted_anonymous", lang, reference=ref, department=department, phone=shown)


class ActionSubmitForm(Action):
    """Sends the confirmed form to POST /api/v1/submissions and reports back."""

    def name(self) -> str:
        return "action_submit_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language_of(tracker)
        pending = tracker.get_slot(PENDING)
        form_name = (FORM_OF_KIND.get(pending) if pending else last_form_name(tracker)) or ""
        kind = FORM_KINDS.get(form_name)
        if kind is None:
            dispatcher.utter_message(text=t("nothing_pending", lang))
            return [SlotSet(PENDING, None)]
        if not pending and tracker.get_slot(CONFIRM) is not True:
            return []  # the form was stopped, not confirmed: nothing to send

        client = PortalClient(tracker.sender_id, client=client_of(tracker))
        schema = await schema_for_form(form_name, client)
        identity = identity_of(tracker)
        data: dict[str, Any] = {}
        for name in field_map(schema):
            if name == "verification_code" and identity:
                continue
            value = tracker.get_slot(name) if name in domain.get("slots", {}) else None
            if value not in (None, ""):
                data[name] = value
        nonce = tracker.get_slot(NONCE) or uuid.uuid4().hex
        key = idempotency_key(tracker.sender_id, kind, nonce)
        transcript = transcript_of(tracker) if kind == "talk_to_person" else None

        resp = await client.submit(kind, data, key, lang, transcript, identity=identity)

        if resp.ok and isinstance(resp.body, dict) and resp.body.get("reference"):
            ref = str(resp.body["reference"])
            department = department_text(resp.body.get("department"), lang)
            dispatcher.utter_message(text=submitted_text(resp.body, ref, department, data, identity, lang))
            return clearing_events(domain, form_name)

        if resp.unreachable or (resp.ok and not resp.body):
            # Keep everything, including the nonce: "yes" retries with the same key.
            dispatcher.utter_message(
                text=t("submit_unreachable", lang),
                buttons=self._retry_buttons(lang),
            )
            return [SlotSet(PENDING, kind), SlotSet(NONCE, nonce)]

        if resp.status == 422:
            return self._field_errors(dispatcher, resp.field_errors(), schema, domain, form_name, lang)
        if resp.status == 429:
            dispatcher.utter_message(text=t("submit_throttled", lang, wait=wait_text(resp.retry_after, lang)))
            return [SlotSet(PENDING, kind), SlotSet(NONCE, nonce)]
        if resp.status == 409:
            dispatcher.utter_message(text=t("submit_conflict", lang))
            return [SlotSet(PENDING, None), SlotSet(NONCE, None), SlotSet(CONFIRM, None)]
        if resp.status in (401, 403):
            dispatcher.utter_message(text=t("submit_unauthorized", lang))
            return [SlotSet(PENDING, None), SlotSet(CONFIRM, None)]
        if resp.status == 404:
            dispatcher.utter_message(text=t("submit_not_found", lang))
            return [SlotSet(PENDING, None), SlotSet(CONFIRM, None), SlotSet(NONCE, None),
                    SlotSet("verification_code", None)]
        dispatcher.utter_message(text=t("submit_failed", lang, status=resp.status))
        return [SlotSet(PENDING, None), SlotSet(CONFIRM, None)]

    @staticmethod
    def _retry_buttons(lang: str) -> list[dict[str, str]]:
        yes, no = ("Try again", "Not now") if lang == "en" else ("再试一次", "先不了")
        return [{"title": yes, "payload": "/affirm"}, {"title": no, "payload": "/deny"}]

    @staticmethod
    def _field_errors(
        dispatcher: CollectingDispatcher,
        errors: list[dict[str, Any]],
        schema: dict[str, Any],
        domain: dict[str, Any],
        form_name: str,
        lang: str,
    ) -> list[EventType]:
        """422: say what the portal found wrong, then ask those fields again."""
        fields = field_map(schema)
        lines = []
        for err in errors:
            field = fields.get(str(err.get("field")), {})
            name = field.get(f"label_{lang}") or err.get("field") or "—"
            msg = err.get(f"message_{lang}") or err.get("message_zh") or err.get("message_en") or ""
            lines.append(f"• {name}: {msg}")
        if not lines:
            lines.append("• —")
        dispatcher.utter_message(text=t("submit_invalid", lang, errors="\n".join(lines)))
        askable = set(form_slot_names(domain, form_name))
        to_ask = [str(e.get("field")) for e in errors if str(e.get("field")) in askable]
        # The corrected request is a new body: it gets a new key.
        events: list[EventType] = [SlotSet(PENDING, None), SlotSet(NONCE, uuid.uuid4().hex),
                                   SlotSet(CONFIRM, None)]
        if not to_ask:
            # Nothing the form can ask again: don't loop, leave it to the person.
            dispatcher.utter_message(text=t("submit_failed", lang, status=422))
            return events + [SlotSet(NONCE, None)]
        return events + [SlotSet(n, None) for n in to_ask] + [FollowupAction(form_name)]


class ActionStopForm(Action):
    """Ends the active form on "no"/"stop": nothing is submitted."""

    def name(self) -> str:
        return "action_stop_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language_of(tracker)
        form_name = (tracker.active_loop or {}).get("name") or last_form_name(tracker) or ""
        if form_name == "verify_transfer_form":
            dispatcher.utter_message(text=t("stopped_verify", lang))
            events: list[EventType] = [SlotSet(CONFIRM, None)]
        else:
            dispatcher.utter_message(text=t("stopped", lang))
            events = clearing_events(domain, form_name)
        return [ActiveLoop(None), SlotSet(REQUESTED_SLOT, None)] + events


class ActionDropPendingSubmission(Action):
    """"No" to retrying a submission the portal didn't get."""

    def name(self) -> str:
        return "action_drop_pending_submission"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language_of(tracker)
        form_name = FORM_OF_KIND.get(tracker.get_slot(PENDING) or "") or last_form_name(tracker) or ""
        dispatcher.utter_message(text=t("pending_dropped", lang))
        return clearing_events(domain, form_name)
