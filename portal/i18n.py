"""Chinese first, English on request.

The language comes from, in order: a ``lang`` query parameter (which also sets the
cookie), the ``lang`` cookie, the ``Accept-Language`` header, then Chinese. Templates
call ``_()``; messages are English msgids with the Chinese in a Babel catalogue
(portal/locales/zh_CN/LC_MESSAGES/messages.po) read at start-up.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from babel.messages.pofile import read_po

from kernel import i18n as kernel_i18n
from kernel.i18n import current_lang as current_lang  # one context variable for portal and domains

LOCALES_DIR = Path(__file__).parent / "locales"
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "lang"


@lru_cache(maxsize=1)
def zh_catalogue() -> dict[str, str]:
    path = LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    return {str(m.id): str(m.string) for m in catalog if m.id and m.string and not m.fuzzy}


def gettext(message: str) -> str:
    if current_lang.get() == "zh":
        return zh_catalogue().get(message, message)
    return message


kernel_i18n.install(gettext)  # domains translate through kernel.i18n without importing portal


def ngettext(singular: str, plural: str, n: int) -> str:
    return gettext(singular if n == 1 else plural)


def parse_accept_language(header: str | None) -> str | None:
    """The first supported language by quality in an Accept-Language header."""
    if not header:
        return None
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        piece = part.strip()
        if not piece:
            continue
        tag, _, params = piece.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGS and quality > 0:
            choices.append((-quality, index, primary))
    return min(choices)[2] if choices else None


def choose_lang(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGS:
            return candidate  # type: ignore[return-value]
    return parse_accept_language(accept_language) or DEFAULT_LANG


def pick(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en
