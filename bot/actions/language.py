"""Keeps the ``language`` slot in step with the person (run after every message)."""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import LANGUAGES, detect_language, message_metadata

# Answers that carry no language: codes, numbers and names. While a form asks for one of
# these, a message that is just such a value keeps the conversation's language
# ("Li Wei" as the new account holder in a Chinese conversation, "abcd 2345" as a code).
VALUE_SLOTS = {"verification_code", "case_query_code", "batch_code", "tracking_number", "case_number",
               "contact_phone", "id_number", "account_holder_name", "contact_name"}
_NAME_ONLY = re.compile(r"[A-Za-z][A-Za-z.'\-]*(?:\s+[A-Za-z][A-Za-z.'\-]*){0,3}")


def is_bare_value(text: str, requested: str | None) -> bool:
    """Is the message only the value the form asked for (a code, a number, a Latin name)?"""
    if requested not in VALUE_SLOTS:
        return False
    s = unicodedata.normalize("NFKC", text or "").strip().strip(" .,;:!")
    if requested.endswith("_name"):
        return bool(_NAME_ONLY.fullmatch(s))
    return bool(re.fullmatch(r"[A-Za-z0-9\s\-_()（）]{4,40}", s)) and any(ch.isdigit() for ch in s) or (
        requested in ("verification_code", "case_query_code", "batch_code")
        and bool(re.fullmatch(r"[A-Za-z0-9]{4,16}", s)))


class ActionDetectLanguage(Action):
    """Custom slot mapping of ``language``.

    Order: the script of the latest message (people get answers in the language
    they write in); when the message doesn't tell (digits, emoji, a button), the
    portal's ``metadata.lang``; otherwise the slot keeps its value.
    """

    def name(self) -> str:
        return "action_detect_language"

    async def run(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[dict[str, Any]]:
        text = (tracker.latest_message or {}).get("text") or ""
        if tracker.active_loop_name and is_bare_value(text, tracker.get_slot("requested_slot")):
            return []  # the value asked for: no language in it
        lang = detect_language(text)
        if lang is None:
            meta_lang = message_metadata(tracker).get("lang")
            if isinstance(meta_lang, str) and meta_lang[:2].lower() in LANGUAGES:
                lang = meta_lang[:2].lower()
        if lang is None or lang == tracker.get_slot("language"):
            return []
        return [SlotSet("language", lang)]
