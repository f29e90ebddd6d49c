"""Keeps the ``language`` slot in step with the person (run after every message)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.context import LANGUAGES, detect_language, message_metadata


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
        lang = detect_language((tracker.latest_message or {}).get("text"))
        if lang is None:
            meta_lang = message_metadata(tracker).get("lang")
            if isinstance(meta_lang, str) and meta_lang[:2].lower() in LANGUAGES:
                lang = meta_lang[:2].lower()
        if lang is None or lang == tracker.get_slot("language"):
            return []
        return [SlotSet("language", lang)]
