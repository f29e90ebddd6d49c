"""The request's language, and gettext for code outside templates.

The portal's middleware sets :data:`current_lang` per request; the portal installs its
catalogue lookup at import time (:func:`install`), so domains can call ``_()`` without
importing ``portal``. Messages are English msgids with Chinese in the portal's catalogue.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable

DEFAULT_LANG = "zh"
LANGS = ("zh", "en")

current_lang: contextvars.ContextVar[str] = contextvars.ContextVar("current_lang", default=DEFAULT_LANG)

_translate: Callable[[str], str] | None = None


def install(translate: Callable[[str], str]) -> None:
    """Called once by the composition root with the catalogue's lookup for the current language."""
    global _translate
    _translate = translate


def gettext(message: str) -> str:
    return _translate(message) if _translate is not None else message


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - Babel's own marker name
    """Marks an English msgid for extraction and returns it untranslated (an error's detail,
    translated when a page shows it: see kernel.errors)."""
    return message


__all__ = ["DEFAULT_LANG", "LANGS", "N_", "current_lang", "gettext", "install", "_"]
