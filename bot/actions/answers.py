"""Answers to a question asked in the middle of a form (data/rules.yml, "a question during …").

The form's validation rejected the turn (it was a question, not the answer); this action
answers it with the same responses the assistant gives outside a form, then the rule runs
the form again, which asks its question again.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.context import client_of, identity_of, language_of, latest_intent
from actions.fields import find_tracking_number
from actions.lookups import answer_lot, lot_number_of
from actions.messages import t
from actions.portal_client import PortalClient
from actions.transfer import describe_transfer

RESPONSES: dict[str, list[str]] = {
    "ask_tax": ["utter_tax_buyer", "utter_tax_seller"],
    "ask_auction_rules": ["utter_auction_rules"],
    "ask_documents": ["utter_documents"],
    "ask_property_delivery": ["utter_property_delivery"],
    "ask_utility_handover": ["utter_utility_handover_info"],
    "ask_listing_info": ["utter_listing_info"],
    "ask_case_progress": ["utter_case_progress_info"],
    "ask_payout": ["utter_payout_info"],
}


class ActionAnswerInForm(Action):
    def name(self) -> str:
        return "action_answer_in_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        lang = language_of(tracker)
        intent = latest_intent(tracker) or ""
        if intent == "ask_transfer_status":
            await self._status(dispatcher, tracker, lang)
        elif intent in ("ask_listing_info", "ask_auction_rules") and lot_number_of(tracker):
            await answer_lot(dispatcher, tracker, str(lot_number_of(tracker)), intent == "ask_auction_rules")
        else:
            for response in RESPONSES.get(intent, []):
                dispatcher.utter_message(response=response)
        dispatcher.utter_message(text=t("back_to_form", lang))
        return []

    @staticmethod
    async def _status(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> None:
        """The transfer's status when this form already holds what a lookup needs."""
        number = find_tracking_number(tracker.get_slot("tracking_number") or "")
        identity = identity_of(tracker)
        code = tracker.get_slot("verification_code")
        if number and (identity or code):
            resp = await PortalClient(tracker.sender_id, client=client_of(tracker)).get_transfer(
                number, identity=identity, verification_code=None if identity else code)
            if resp.ok and isinstance(resp.body, dict):
                dispatcher.utter_message(text=describe_transfer(resp.body, lang))
                return
        dispatcher.utter_message(text=t("status_in_form", lang))
