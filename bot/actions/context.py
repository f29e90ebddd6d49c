"""What an action may know about the person: language, sign-in, sender."""
from __future__ import annotations

import re
import unicodedata
from typing import Any

from rasa_sdk import Tracker

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# Case and tracking numbers say nothing about the language around them.
_CASE_NO = re.compile(r"[（(]\d{4}[）)][\u4e00-\u9fa5]\d{0,4}执[恢保异复]?\d{1,6}号")
_TRACKING_NO = re.compile(r"[Zz][Tt]\d{10}")
# Nor do verification codes and other letter-and-digit tokens ("YJSZ2468", "482913").
_CODE = re.compile(r"(?<![A-Za-z0-9])(?=[A-Za-z]*\d)[A-Za-z0-9]{4,16}(?![A-Za-z0-9])")
# A message that is only a code typed loosely ("abcd 2345", "ab-cd 23_45"): read as the portal
# reads codes (separators dropped), it is 4 to 16 letters and digits with a digit in it.
_SEPARATORS = re.compile(r"[\s\-_]+")
_LOOSE_CODE = re.compile(r"(?=[A-Z]*\d)[A-Z0-9]{4,16}")


def detect_language(text: str | None) -> str | None:
    """Guess zh/en from the script of a message; None when it doesn't tell.

    Mixed messages go by weight: Chinese unless the Latin words clearly carry
    the sentence ("I want 水电气过户 please" is English, "我想check一下" Chinese).
    """
    if not text or text.startswith("/"):
        return None  # empty, or a button payload such as /affirm
    text = unicodedata.normalize("NFKC", text)  # full-width letters are letters
    groups = _SEPARATORS.split(text.strip(" .,;:!?"))
    if (len(groups) <= 4 and sum(g.isalpha() for g in groups) <= 2
            and _LOOSE_CODE.fullmatch("".join(groups).upper())):
        return None  # a code says nothing about the language
    cleaned = _CODE.sub(" ", _TRACKING_NO.sub(" ", _CASE_NO.sub(" ", text)))
    cjk = len(_CJK.findall(cleaned))
    words = len(_LATIN_WORD.findall(cleaned))
    if cjk == 0 and words == 0:
        return None  # digits, emoji, punctuation only
    if cjk == 0:
        return "en"
    if words >= 2 and words * 2 >= cjk:
        return "en"
    return "zh"


def message_metadata(tracker: Tracker) -> dict[str, Any]:
    latest = tracker.latest_message or {}
    metadata = latest.get("metadata") or {}
    return metadata if isinstance(metadata, dict) else {}


def language_of(tracker: Tracker) -> str:
    """The language to answer in: the slot, else metadata.lang, else zh."""
    slot = tracker.get_slot("language")
    if slot in LANGUAGES:
        return str(slot)
    lang = message_metadata(tracker).get("lang")
    if isinstance(lang, str) and lang[:2].lower() in LANGUAGES:
        return lang[:2].lower()
    return DEFAULT_LANGUAGE


def identity_of(tracker: Tracker) -> str | None:
    """The signed identity the portal put in the latest message, if any.

    It is opaque to the bot: the portal checks it on every call. It is read from
    the latest message only, so signing out on the portal takes effect at once.
    """
    identity = message_metadata(tracker).get("identity")
    return identity if isinstance(identity, str) and identity.strip() else None


def client_of(tracker: Tracker) -> str | None:
    """The signed client key the portal put in the latest message (sent back as X-Chat-Client)."""
    client = message_metadata(tracker).get("client")
    return client if isinstance(client, str) and client.strip() else None


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> str | None:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name")
