"""Form validation: every answer is checked against the portal's form schema.

One base class, ``PortalFormValidation``, serves the five forms. On each turn it
  1. explains the field being asked when the person asks what it means
     (the schema's help text, in their language), and re-asks;
  2. applies corrections to any field ("不对，电话是139…", "the date is …");
  3. checks the answer to the field being asked; after two failed tries in a row
     it offers to stop;
  4. leaves a plain "no"/"stop" to the stop rule by rejecting the form
     (nothing is submitted);
  5. picks the next field: the schema's required fields this form knows, minus the
     verification code when the portal says the person is signed in, and finally
     the confirmation (read back by ``action_ask_confirm_submission``).
"""
from __future__ import annotations

import datetime as dt
import uuid
from abc import abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction

from actions import fields as F
from actions.context import client_of, identity_of, language_of, latest_intent, latest_text
from actions.messages import t, wait_text
from actions.portal_client import PortalClient
from actions.schemas import (
    BUILTIN,
    FORM_KINDS,
    field_map,
    get_schema,
    label,
    title,
)

CONFIRM = "confirm_submission"
FAILED = "failed_attempts"
NONCE = "submission_nonce"
PENDING = "pending_submission"
# Kept after a form ends: the same person usually files several requests for the
# same transfer. Everything else a form collected is cleared.
KEPT_SLOTS = {"tracking_number", "verification_code", "contact_name", "contact_phone"}

VERIFY_SCHEMA: dict[str, Any] = {
    "kind": "verify_transfer",
    "title_zh": "身份验证",
    "title_en": "verification",
    "fields": [
        f for f in BUILTIN["utility_handover"]["fields"]
        if f["name"] in ("tracking_number", "verification_code")
    ],
}


def today() -> dt.date:
    return dt.date.today()


def form_slot_names(domain: dict[str, Any], form_name: str) -> list[str]:
    form = (domain.get("forms") or {}).get(form_name) or {}
    return list(form.get("required_slots") or [])


def clearing_events(domain: dict[str, Any], form_name: str) -> list[EventType]:
    """Forget what a form collected (but the kept slots), and its bookkeeping."""
    names = [n for n in form_slot_names(domain, form_name) if n not in KEPT_SLOTS]
    names += ["notes", "location", "message", "preferred_date"]
    events: list[EventType] = [SlotSet(n, None) for n in dict.fromkeys(names)]
    events += [SlotSet(CONFIRM, None), SlotSet(NONCE, None), SlotSet(PENDING, None),
               SlotSet(FAILED, 0)]
    return events


def is_first_run(tracker: Tracker, form_name: str) -> bool:
    """Is the form being activated on this turn?

    Rasa logs the form's ActiveLoop event before it asks the validation action,
    so ``tracker.active_loop`` already names the form then. What tells a first
    run from a later one is where that event sits: after the latest user message
    (activated now) or before it (asked on an earlier turn).
    """
    seen_user = False
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "user":
            seen_user = True
        elif kind == "active_loop":
            return event.get("name") == form_name if not seen_user else event.get("name") != form_name
    return True


async def schema_for_form(form_name: str, client: PortalClient) -> dict[str, Any]:
    kind = FORM_KINDS.get(form_name)
    if kind is None:
        return VERIFY_SCHEMA
    return await get_schema(kind, client)


class PortalFormValidation(FormValidationAction):
    """Validates a Rasa form against the portal's schema for its kind."""

    @property
    @abstractmethod
    def kind(self) -> str | None:
        """The portal's form kind, or None for a form that submits nothing."""

    def name(self) -> str:
        return f"validate_{self.form}"

    @property
    def form(self) -> str:
        raise NotImplementedError

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language_of(tracker)
        client = PortalClient(tracker.sender_id, client=client_of(tracker))
        schema = await schema_for_form(self.form, client)
        fields = field_map(schema)
        form_slots = form_slot_names(domain, self.form)
        signed_in = identity_of(tracker) is not None
        activating = is_first_run(tracker, self.form)
        requested = None if activating else tracker.get_slot(REQUESTED_SLOT)
        text = latest_text(tracker)
        intent = latest_intent(tracker)
        candidates = tracker.slots_to_validate()

        events: list[EventType] = []
        if activating:
            events += [SlotSet(NONCE, uuid.uuid4().hex), SlotSet(PENDING, None),
                       SlotSet(CONFIRM, None), SlotSet(FAILED, 0)]
            if self.kind:
                dispatcher.utter_message(text=t("form_intro", lang, title=title(schema, lang)))

        # 1. "What does that mean?" — explain and ask again.
        if requested in fields and F.is_help_request(text):
            field = fields[F.field_named(text, fields) or requested]
            help_text = field.get(f"help_{lang}") or field.get("help_zh")
            if help_text:
                dispatcher.utter_message(text=t("field_help", lang, label=label(field, lang), help=help_text))
            else:
                dispatcher.utter_message(text=t("field_help_missing", lang, label=label(field, lang)))
            return events + [SlotSet(requested, None), SlotSet(REQUESTED_SLOT, requested)]

        # A stop that the NLU did not read as "deny": end the form here.
        if requested and intent != "deny" and F.is_stop(text):
            dispatcher.utter_message(text=t("stopped", lang))
            return (events + clearing_events(domain, self.form)
                    + [SlotSet(REQUESTED_SLOT, None), ActiveLoop(None)])

        updates: dict[str, Any] = {}
        corrected: list[str] = []

        # 2. Corrections to any field of this form (or its optional fields).
        if requested and self._may_hold_corrections(requested, fields, text, intent):
            for name, raw in F.find_corrections(text, fields, lang).items():
                value, _problem = F.check(fields[name], raw, lang, today())
                if value is None or name not in (domain.get("slots") or {}):
                    continue  # "the number is ZT…" is not a phone number: ignore
                if name != requested and tracker.get_slot(name) != value:
                    corrected.append(name)
                updates[name] = value

        # 3. The answers extracted this turn (or pre-filled at activation).
        problems: list[str] = []
        for slot, raw in candidates.items():
            if slot not in form_slots or slot in updates:
                continue
            if slot == CONFIRM:
                updates[CONFIRM] = True if raw is True else None
                continue
            if slot not in fields:
                continue  # the portal doesn't ask for it: not ours to keep
            field = fields[slot]
            value, problem = F.check(field, self._entity_hint(tracker, slot) or raw, lang, today())
            updates[slot] = value
            if value is None and slot == requested and corrected:
                continue  # the message corrected another field; just ask again
            if value is None and problem and (slot == requested or not activating):
                problems.append(t("invalid", lang, label=label(field, lang), problem=problem))

        # A name such as "Wu Min" can look like "no" to the NLU: for a free-text question,
        # only an explicit refusal stops the form; anything else is the answer.
        if (not activating and intent == "deny" and not updates and requested in fields
                and fields[requested].get("type") in ("string", "text") and not F.is_refusal(text)):
            value, _problem = F.check(fields[requested], text, lang, today())
            if value is not None:
                updates[requested] = value

        # 4. A plain "no"/"stop": let the stop rule end the form.
        if not activating and intent == "deny" and not updates:
            return [ActionExecutionRejected(self.form)]

        for name in corrected:
            shown = updates[name]
            if fields[name].get("type") == "enum":
                shown = F.choice_label(fields[name], shown, lang)
            if name == "verification_code":
                shown = t("value_secret", lang)
            dispatcher.utter_message(text=t("corrected", lang, label=label(fields[name], lang), value=shown))
        for problem in problems:
            dispatcher.utter_message(text=problem)

        if requested == CONFIRM and CONFIRM not in updates:
            # A correction means the summary is read again; anything else is unclear.
            updates[CONFIRM] = None
            if not corrected:
                dispatcher.utter_message(text=t("confirm_unclear", lang))

        # Two failed tries in a row on the same question: offer a way out.
        failed = int(tracker.get_slot(FAILED) or 0)
        if requested and requested != CONFIRM and updates.get(requested, "ok") is None and not corrected:
            failed += 1
            if failed >= 2:
                dispatcher.utter_message(text=t("offer_stop", lang))
        elif requested in updates:
            failed = 0
        updates[FAILED] = failed

        # A new code is checked with the portal at once (the same check, and the same
        # throttling, as a status lookup), so nobody fills a whole form on a wrong code.
        # (The verify form skips this: its own lookup follows right after.)
        if self.kind and not signed_in and updates.get("verification_code") and "verification_code" in form_slots:
            number = updates.get("tracking_number") or tracker.get_slot("tracking_number")
            if number:
                resp = await client.get_transfer(number, verification_code=updates["verification_code"])
                if resp.status == 404:
                    dispatcher.utter_message(text=t("transfer_not_found", lang))
                    updates["verification_code"] = None
                elif resp.status == 429:
                    dispatcher.utter_message(
                        text=t("transfer_throttled", lang, wait=wait_text(resp.retry_after, lang)))
                    updates["verification_code"] = None
                    dispatcher.utter_message(text=t("offer_stop", lang))

        # 5. The next question.
        values = {n: tracker.get_slot(n) for n in form_slots}
        values.update({k: v for k, v in updates.items() if k in values})
        next_slot = next(
            (n for n in self.required(fields, form_slots, signed_in) if values.get(n) is None),
            None,
        )
        return events + [SlotSet(k, v) for k, v in updates.items()] + [SlotSet(REQUESTED_SLOT, next_slot)]

    def required(self, fields: dict[str, dict[str, Any]], form_slots: list[str], signed_in: bool) -> list[str]:
        """The fields to ask, in the domain's order: required by the portal's schema,
        without the code for someone signed in, then the confirmation."""
        names = []
        for name in form_slots:
            if name == CONFIRM:
                names.append(name)
            elif name in fields and fields[name].get("required"):
                if name == "verification_code" and signed_in:
                    continue
                names.append(name)
        return names

    @staticmethod
    def _may_hold_corrections(
        requested: str, fields: dict[str, dict[str, Any]], text: str, intent: str | None
    ) -> bool:
        if requested == CONFIRM or intent == "deny" or F.starts_with_correction(text):
            return True
        # A long free-text answer (a description) may mention phone numbers or
        # dates that are not corrections.
        return (fields.get(requested) or {}).get("type") != "text"

    @staticmethod
    def _entity_hint(tracker: Tracker, slot: str) -> str | None:
        """An entity of the slot's name in the latest message (a normalised value)."""
        for entity in (tracker.latest_message or {}).get("entities") or []:
            if entity.get("entity") == slot and entity.get("value"):
                return str(entity["value"])
        return None


class ValidateVerifyTransferForm(PortalFormValidation):
    kind = None
    form = "verify_transfer_form"


class ValidateUtilityHandoverForm(PortalFormValidation):
    kind = "utility_handover"
    form = "utility_handover_form"


class ValidateAssetClueForm(PortalFormValidation):
    kind = "asset_clue"
    form = "asset_clue_form"


class ValidateDeliveryAppointmentForm(PortalFormValidation):
    kind = "delivery_appointment"
    form = "delivery_appointment_form"


class ValidateTalkToPersonForm(PortalFormValidation):
    kind = "talk_to_person"
    form = "talk_to_person_form"


class ActionAskConfirmSubmission(Action):
    """Reads the collected answers back (labels from the schema) and asks to submit."""

    def name(self) -> str:
        return "action_ask_confirm_submission"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        lang = language_of(tracker)
        form_name = (tracker.active_loop or {}).get("name") or ""
        schema = await schema_for_form(form_name, PortalClient(tracker.sender_id, client=client_of(tracker)))
        lines = []
        for field in schema.get("fields", []):
            name = field["name"]
            value = tracker.get_slot(name) if name in domain.get("slots", {}) else None
            if name == "verification_code":
                if identity_of(tracker) or value is None:
                    continue
                shown = t("value_secret", lang)
            elif value in (None, ""):
                if not field.get("required"):
                    continue
                shown = t("value_empty", lang)
            elif field.get("type") == "enum":
                shown = F.choice_label(field, value, lang)
            else:
                shown = str(value)
                if len(shown) > 120:
                    shown = shown[:117] + "…"
            lines.append(f"• {label(field, lang)}: {shown}")
        yes, no = ("Submit", "Cancel") if lang == "en" else ("确认提交", "取消")
        dispatcher.utter_message(
            text=t("confirm_summary", lang, title=title(schema, lang), lines="\n".join(lines)),
            buttons=[{"title": yes, "payload": "/affirm"}, {"title": no, "payload": "/deny"}],
        )
        return []

