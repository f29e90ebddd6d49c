"""Chinese first, English on request.

The language comes from, in order: a ``lang`` query parameter (which also sets the
cookie), the ``lang`` cookie, the ``Accept-Language`` header, then Chinese. Templates
call ``_()`` / ``ngettext()``; messages are English msgids with the Chinese in a Babel
catalogue, edited as portal/locales/zh_CN/LC_MESSAGES/messages.po (``make messages``
extracts and updates it) and compiled to messages.mo at set-up (``make install``), which
is what runs: loaded once per language, plural rules included.
"""

from __future__ import annotations

import gettext as _gettext
from functools import cache
from pathlib import Path

from babel.support import Translations

from kernel import i18n as kernel_i18n
from kernel.i18n import current_lang as current_lang  # one context variable for portal and domains

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"
LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LANG_COOKIE = "lang"
CATALOGUE_LOCALES = {"zh": "zh_CN"}  # English is the msgids themselves


class CatalogueError(RuntimeError):
    """The compiled catalogue is missing or older than the .po it comes from."""


def compile_catalogues(force: bool = False) -> list[Path]:
    """Compile every .po under portal/locales whose .mo is missing or stale (what `make install` does).

    Returns the .mo files written. For set-up steps and the test session, not the request path.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted(LOCALES_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        if not force and mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo)
        written.append(mo)
    return written


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue for a language, loaded once; English needs none."""
    locale = CATALOGUE_LOCALES.get(lang)
    if locale is None:
        return _gettext.NullTranslations()
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if not mo.exists() or (po.exists() and po.stat().st_mtime > mo.stat().st_mtime):
        raise CatalogueError(f"{mo} is missing or older than {po.name}: run `make install` "
                             f"(or `pybabel compile -d {LOCALES_DIR} -D {DOMAIN}`)")
    with mo.open("rb") as fh:
        return Translations(fh, domain=DOMAIN)


def gettext(message: str) -> str:
    return translations(current_lang.get()).gettext(message)


kernel_i18n.install(gettext)  # domains translate through kernel.i18n without importing portal


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_lang.get()).ngettext(singular, plural, n)


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
