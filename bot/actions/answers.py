"""Answers to a question asked in the middle of a form.

The form's validation (actions/forms.py) sees a question where it asked for a value, answers
it here with the same responses the assistant gives outside a form, and asks its question
again. (Done inside the validation rather than by one rule per form and question: 63 more
rules made every turn's rule lookup slower.)
"""
from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import client_of, identity_of, language_of
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


async def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, intent: str) -> None:
    """The answer to a question asked during a form, then a line leading back to the form."""
    lang = language_of(tracker)
    if intent == "ask_transfer_status":
        await _status(dispatcher, tracker, lang)
    elif intent in ("ask_listing_info", "ask_auction_rules") and lot_number_of(tracker):
        await answer_lot(dispatcher, tracker, str(lot_number_of(tracker)), intent == "ask_auction_rules")
    else:
        for response in RESPONSES.get(intent, []):
            dispatcher.utter_message(response=response)
    dispatcher.utter_message(text=t("back_to_form", lang))


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
