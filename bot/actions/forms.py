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
import re
import uuid
from abc import abstractmethod
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecutionRejected, ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction

from actions import fields as F
from actions.answers import answer_question
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

# Questions the assistant answers in the middle of a form (actions/answers.py), then it asks
# the form's question again.
QUESTION_INTENTS = frozenset({
    "ask_tax", "ask_auction_rules", "ask_documents", "ask_transfer_status", "ask_property_delivery",
    "ask_utility_handover", "ask_listing_info", "ask_case_progress", "ask_payout",
})
QUESTION_CONFIDENCE = 0.5
_QUESTION_CUE_RE = re.compile(
    r"[?？]|吗|呢|多少|怎么|如何|什么|哪|几|要不要|能不能|是否|"
    r"(?<![A-Za-z])(?:how|what|when|where|which|who|why|can i|do i|is there|are there|wait)(?![A-Za-z])",
    re.IGNORECASE,
)

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
    from actions.lookups import LOOKUP_SCHEMAS  # (lookups imports nothing from here)

    if form_name in LOOKUP_SCHEMAS:
        return LOOKUP_SCHEMAS[form_name]
    kind = FORM_KINDS.get(form_name)
    if kind is None:
        return VERIFY_SCHEMA
    return await get_schema(kind, client)


@dataclass
class Turn:
    """What one run of a form's validation knows and has decided so far."""

    lang: str
    client: PortalClient
    schema: dict[str, Any]
    fields: dict[str, dict[str, Any]]
    form_slots: list[str]
    signed_in: bool
    activating: bool
    requested: str | None
    text: str
    intent: str | None
    confidence: float = 0.0
    updates: dict[str, Any] = default(default_factory=dict)  # slot → new value (None: ask again)
    corrected: list[str] = default(default_factory=list)  # other fields the message corrected
    problems: list[str] = default(default_factory=list)  # what to say about answers that don't fit
    noted: list[str] = default(default_factory=list)  # fields the first message already answered
    named: list[str] = default(default_factory=list)  # fields said to be wrong without a new value
    correcting: bool = False  # the message corrects something (so it is not a "yes")


# The turn being validated: set by ``run`` for the ``validate_<slot>`` methods it calls (each
# action-server request runs in its own task, so concurrent conversations never share it).
_TURN: ContextVar[Turn] = ContextVar("form_turn")


class PortalFormValidation(FormValidationAction):
    """Validates a Rasa form against the portal's schema for its kind.

    ``run`` takes the turn step by step; each answer is checked by the slot's own
    ``validate_<slot>`` method (rasa-sdk's grain), which returns the slot updates.
    """

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
        turn = await self._turn(tracker, domain)
        token = _TURN.set(turn)
        try:
            return await self._run(turn, dispatcher, tracker, domain)
        finally:
            _TURN.reset(token)

    async def _turn(self, tracker: Tracker, domain: dict[str, Any]) -> Turn:
        client = PortalClient(tracker.sender_id, client=client_of(tracker))
        schema = await schema_for_form(self.form, client)
        activating = is_first_run(tracker, self.form)
        return Turn(
            lang=language_of(tracker), client=client, schema=schema, fields=field_map(schema),
            form_slots=form_slot_names(domain, self.form), signed_in=identity_of(tracker) is not None,
            activating=activating, requested=None if activating else tracker.get_slot(REQUESTED_SLOT),
            text=latest_text(tracker), intent=latest_intent(tracker),
            confidence=float(((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0),
        )

    async def _run(self, turn: Turn, dispatcher: CollectingDispatcher, tracker: Tracker,
                   domain: dict[str, Any]) -> list[EventType]:
        events = self._start(turn, dispatcher)
        # 1. "What does that mean?" — explain and ask again.
        if turn.requested in turn.fields and F.is_help_request(turn.text):
            return events + self._explain(turn, dispatcher)
        # A stop that the NLU did not read as "deny": end the form here.
        if turn.requested and turn.intent != "deny" and F.is_stop(turn.text):
            dispatcher.utter_message(text=t("stopped", turn.lang))
            return (events + clearing_events(domain, self.form)
                    + [SlotSet(REQUESTED_SLOT, None), ActiveLoop(None)])
        # A question in the middle of the form (taxes, rules, documents, status): not an answer.
        # Answered, then the same question asked again (the text is not kept as the answer).
        if self._is_question(turn):
            await answer_question(dispatcher, tracker, str(turn.intent))
            requested = str(turn.requested)
            return events + [SlotSet(requested, None), SlotSet(REQUESTED_SLOT, requested)]
        # 2. Corrections to any field of this form (or its optional fields); at activation,
        #    every field the first message already answers.
        self._apply_corrections(turn, tracker, domain)
        # 3. The answers extracted this turn (or pre-filled at activation), slot by slot.
        await self._validate_answers(turn, dispatcher, tracker, domain)
        self._take_a_name_read_as_no(turn)
        number = turn.updates.get("tracking_number")
        if (number and number != tracker.get_slot("tracking_number") and "verification_code" not in turn.updates
                and "verification_code" in turn.form_slots and tracker.get_slot("verification_code")):
            turn.updates["verification_code"] = None  # a code kept from another number is not this one's
        # 4. A plain "no"/"stop": let the stop rule end the form.
        if not turn.activating and turn.intent == "deny" and not turn.updates and not turn.named:
            return [ActionExecutionRejected(self.form)]
        self._report(turn, dispatcher)
        self._count_failures(turn, dispatcher, tracker)
        await self._check_code_with_portal(turn, dispatcher, tracker)
        # 5. The next question.
        return (events + [SlotSet(k, v) for k, v in turn.updates.items()]
                + [SlotSet(REQUESTED_SLOT, self._next_slot(turn, tracker))])

    # --- the steps -------------------------------------------------------------------------

    def _start(self, turn: Turn, dispatcher: CollectingDispatcher) -> list[EventType]:
        """A new run of the form: a fresh nonce and counters, and the form's introduction."""
        if not turn.activating:
            return []
        if self.kind:
            dispatcher.utter_message(text=t("form_intro", turn.lang, title=title(turn.schema, turn.lang)))
        return [SlotSet(NONCE, uuid.uuid4().hex), SlotSet(PENDING, None), SlotSet(CONFIRM, None), SlotSet(FAILED, 0)]

    @staticmethod
    def _explain(turn: Turn, dispatcher: CollectingDispatcher) -> list[EventType]:
        """The help text of the field named in the question, else of the one being asked."""
        requested = str(turn.requested)
        field_ = turn.fields[F.field_named(turn.text, turn.fields) or requested]
        help_text = field_.get(f"help_{turn.lang}") or field_.get("help_zh")
        if help_text:
            dispatcher.utter_message(text=t("field_help", turn.lang, label=label(field_, turn.lang), help=help_text))
        else:
            dispatcher.utter_message(text=t("field_help_missing", turn.lang, label=label(field_, turn.lang)))
        return [SlotSet(requested, None), SlotSet(REQUESTED_SLOT, requested)]

    def _is_question(self, turn: Turn) -> bool:
        """Is this message a question the assistant answers, rather than the answer asked for?"""
        if (turn.activating or not turn.requested or turn.intent not in QUESTION_INTENTS
                or turn.confidence < QUESTION_CONFIDENCE):
            return False
        if turn.requested == CONFIRM:
            return not F.is_clear_yes(turn.text) and not F.find_corrections(turn.text, turn.fields, turn.lang)
        field_ = turn.fields.get(turn.requested)
        if field_ is None:
            return False
        name, ftype = str(turn.requested), field_.get("type", "string")
        if ftype in ("text", "string") and name not in F.CODE_FIELDS:
            # free text (a topic, a description) may mention taxes, and a name ("Hu Bin") may look
            # like anything to the NLU: only what reads as a question is one
            return bool(_QUESTION_CUE_RE.search(turn.text))
        value, _problem = F.check(field_, turn.text, turn.lang, today())
        return value is None

    def _apply_corrections(self, turn: Turn, tracker: Tracker, domain: dict[str, Any]) -> None:
        if turn.activating:
            if not turn.text or turn.text.startswith("/"):
                return
        elif not (turn.requested and self._may_hold_corrections(turn.requested, turn.fields, turn.text, turn.intent)):
            return
        slots = domain.get("slots") or {}
        asked = [n for n in self.required(turn.fields, turn.form_slots, turn.signed_in) if n != CONFIRM]
        for name, raw in F.find_corrections(turn.text, turn.fields, turn.lang).items():
            if name not in slots or (turn.activating and name not in turn.form_slots and name not in asked):
                continue
            if raw == F.NAMED_ONLY:
                # "姓名填错了": that field is asked again (only where it was already answered)
                if not turn.activating and name != turn.requested and name in asked and tracker.get_slot(name):
                    turn.named.append(name)
                    turn.correcting = True
                continue
            value, _problem = F.check(turn.fields[name], raw, turn.lang, today())
            if value is None:
                continue  # "the number is ZT…" is not a phone number: ignore
            turn.correcting = turn.correcting or not turn.activating
            if turn.activating:
                turn.noted.append(name)
            elif name != turn.requested and tracker.get_slot(name) != value:
                turn.corrected.append(name)
            turn.updates[name] = value

    async def _validate_answers(self, turn: Turn, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: dict[str, Any]) -> None:
        """Each candidate slot through its ``validate_<slot>`` method, as rasa-sdk calls them."""
        for slot, raw in tracker.slots_to_validate().items():
            if slot not in turn.form_slots or slot in turn.updates:
                continue
            if slot != CONFIRM and slot not in turn.fields:
                continue  # the portal doesn't ask for it: not ours to keep
            method = getattr(self, f"validate_{slot}", None) or self._validate_field_named(slot)
            turn.updates.update(await method(raw, dispatcher, tracker, domain))

    def _take_a_name_read_as_no(self, turn: Turn) -> None:
        """A name such as "Wu Min" can look like "no" to the NLU: for a free-text question,
        only an explicit refusal stops the form; anything else is the answer."""
        requested = turn.requested
        if (turn.activating or turn.intent != "deny" or turn.updates or requested not in turn.fields
                or turn.fields[requested].get("type") not in ("string", "text") or F.is_refusal(turn.text)):
            return
        value, _problem = F.check(turn.fields[requested], turn.text, turn.lang, today())
        if value is not None:
            turn.updates[requested] = value

    @staticmethod
    def _report(turn: Turn, dispatcher: CollectingDispatcher) -> None:
        """Say what was corrected, what didn't fit, and (at the read-back) what was unclear."""
        if turn.requested == CONFIRM and CONFIRM not in turn.updates and not turn.correcting \
                and F.is_clear_yes(turn.text):
            turn.updates[CONFIRM] = True  # "对" read by the NLU as something else is still a yes
        noted = [n for n in turn.noted if turn.updates.get(n) is not None]
        if len(noted) >= 2:  # a message that answered several questions at once: say what was taken
            sep = "；" if turn.lang == "zh" else "; "
            dispatcher.utter_message(text=t("noted", turn.lang, values=sep.join(
                f"{label(turn.fields[n], turn.lang)}: {shown_value(turn.fields[n], turn.updates[n], turn.lang)}"
                for n in noted)))
        for name in turn.named:
            turn.updates[name] = None
            dispatcher.utter_message(text=t("correct_which", turn.lang, label=label(turn.fields[name], turn.lang)))
        for name in turn.corrected:
            dispatcher.utter_message(text=t("corrected", turn.lang, label=label(turn.fields[name], turn.lang),
                                            value=shown_value(turn.fields[name], turn.updates[name], turn.lang)))
        for problem in turn.problems:
            dispatcher.utter_message(text=problem)
        if turn.requested == CONFIRM and turn.updates.get(CONFIRM) is not True:
            # A correction means the summary is read again; anything else is unclear.
            turn.updates[CONFIRM] = None
            if not turn.corrected and not turn.correcting:
                dispatcher.utter_message(text=t("confirm_unclear", turn.lang))

    @staticmethod
    def _count_failures(turn: Turn, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """Two failed tries in a row on the same question: offer a way out."""
        requested = turn.requested
        failed = int(tracker.get_slot(FAILED) or 0)
        if requested and requested != CONFIRM and turn.updates.get(requested, "ok") is None and not turn.corrected:
            failed += 1
            if failed >= 2:
                dispatcher.utter_message(text=t("offer_stop", turn.lang))
        elif requested in turn.updates:
            failed = 0
        turn.updates[FAILED] = failed

    async def _check_code_with_portal(self, turn: Turn, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
        """A new code is checked with the portal at once (the same check, and the same
        throttling, as a status lookup), so nobody fills a whole form on a wrong code.
        (The verify form skips this: its own lookup follows right after.)"""
        code = turn.updates.get("verification_code")
        if not (self.kind and not turn.signed_in and code and "verification_code" in turn.form_slots):
            return
        number = turn.updates.get("tracking_number") or tracker.get_slot("tracking_number")
        if not number:
            return
        resp = await turn.client.get_transfer(number, verification_code=code)
        if resp.status == 404:
            dispatcher.utter_message(text=t("transfer_not_found", turn.lang))
            turn.updates["verification_code"] = None
        elif resp.status == 429:
            dispatcher.utter_message(
                text=t("transfer_throttled", turn.lang, wait=wait_text(resp.retry_after, turn.lang)))
            turn.updates["verification_code"] = None
            dispatcher.utter_message(text=t("offer_stop", turn.lang))

    def _next_slot(self, turn: Turn, tracker: Tracker) -> str | None:
        if turn.named:
            return turn.named[0]
        values = {n: tracker.get_slot(n) for n in turn.form_slots}
        values.update({k: v for k, v in turn.updates.items() if k in values})
        return next((n for n in self.required(turn.fields, turn.form_slots, turn.signed_in)
                     if values.get(n) is None), None)

    # --- one method per slot (rasa-sdk's validate_<slot>) -----------------------------------

    async def validate_confirm_submission(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                          domain: dict[str, Any]) -> dict[str, Any]:
        """Only a clear yes confirms: never a correction, a question or anything unclear."""
        turn = _TURN.get()
        clear = value is True and not turn.correcting and not turn.named and (
            F.is_clear_yes(turn.text) or turn.intent == "affirm" and not turn.text)
        return {CONFIRM: True if clear else None}

    async def validate_field(self, slot: str, value: Any, tracker: Tracker) -> dict[str, Any]:
        """An answer checked against the portal's schema for the field: the normalised value,
        or None (asked again) with the problem said when it is the field being asked."""
        turn = _TURN.get()
        field_ = turn.fields[slot]
        checked, problem = F.check(field_, self._entity_hint(tracker, slot) or value, turn.lang, today())
        if checked is None and problem and not (slot == turn.requested and turn.corrected) and (
                slot == turn.requested or not turn.activating):
            # (a message that corrected another field is not also a wrong answer to this one)
            turn.problems.append(t("invalid", turn.lang, label=label(field_, turn.lang), problem=problem))
        return {slot: checked}

    def _validate_field_named(self, slot: str) -> Any:
        async def validate(value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: dict[str, Any]) -> dict[str, Any]:
            return await self.validate_field(slot, value, tracker)
        return validate

    async def validate_tracking_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("tracking_number", value, tracker)

    async def validate_verification_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("verification_code", value, tracker)

    async def validate_utility_type(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("utility_type", value, tracker)

    async def validate_account_holder_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                           domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("account_holder_name", value, tracker)

    async def validate_contact_name(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("contact_name", value, tracker)

    async def validate_contact_phone(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("contact_phone", value, tracker)

    async def validate_preferred_date(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                      domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("preferred_date", value, tracker)

    async def validate_time_slot(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("time_slot", value, tracker)

    async def validate_case_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("case_number", value, tracker)

    async def validate_asset_type(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("asset_type", value, tracker)

    async def validate_description(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("description", value, tracker)

    async def validate_topic(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("topic", value, tracker)

    # --- helpers -----------------------------------------------------------------------------

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


def shown_value(field_: dict[str, Any], value: Any, lang: str) -> Any:
    """A value as it is read back: a choice by its label, the code never."""
    if field_.get("name") == "verification_code":
        return t("value_secret", lang)
    if field_.get("type") == "enum":
        return F.choice_label(field_, value, lang)
    return value


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


class ValidateCaseLookupForm(PortalFormValidation):
    """Case number + ID number + case query code; nothing for a signed-in person (their cases)."""

    kind = None
    form = "case_lookup_form"

    def required(self, fields: dict[str, dict[str, Any]], form_slots: list[str], signed_in: bool) -> list[str]:
        return [] if signed_in else super().required(fields, form_slots, signed_in)

    async def validate_id_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("id_number", value, tracker)

    async def validate_case_query_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("case_query_code", value, tracker)


class ValidatePayoutLookupForm(PortalFormValidation):
    """Batch code + ID number."""

    kind = None
    form = "payout_lookup_form"

    async def validate_batch_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("batch_code", value, tracker)

    async def validate_id_number(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: dict[str, Any]) -> dict[str, Any]:
        return await self.validate_field("id_number", value, tracker)


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

