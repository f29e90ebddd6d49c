"""Free text as written: kept in the language it was written in, with any other-language version.

What staff write (a blocked reason, a note) is shown as written; the interface around it is in
the reader's language. Where the reader's language has no version, the page shows the original
and says which language it is in (see portal/templating.py ``written``). Demo data and imports
may carry both languages as separate values; nothing joins them into one "中文 / English" string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kernel.i18n import LANGS, current_lang

FIELDS = ("blocked_reason", "note")


def written_in(text: str | None, lang: str | None = None,
               translations: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """``{"lang": …, "zh": …, "en": …}`` for a text written in ``lang`` (default: the request's)."""
    if not text:
        return None
    lang = lang if lang in LANGS else current_lang.get()
    entry: dict[str, Any] = {"lang": lang, lang: text}
    for other, version in (translations or {}).items():
        if other in LANGS and other != lang and version and version.strip():
            entry[other] = version.strip()
    return entry


def versions(texts: Mapping[str, Any] | None, name: str, original: str | None) -> dict[str, str | None]:
    """The API's view of one text: ``{name}_lang``, ``{name}_zh``, ``{name}_en``.

    A text stored before languages were recorded counts as Chinese (the portal's first language).
    """
    entry = (texts or {}).get(name) or {}
    if original and not entry:
        entry = {"lang": "zh", "zh": original}
    return {f"{name}_lang": entry.get("lang"), **{f"{name}_{lang}": entry.get(lang) for lang in LANGS}}
