"""The Jinja environment: one loader over every package's templates, gettext, helpers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

from accounts.contacts import contacts
from accounts.departments import department_name
from documents.kinds import DocumentKind
from documents.limits import get_limits
from documents.models import kind_choices, kind_label
from portal import i18n

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [
    ROOT / "portal" / "templates",
    ROOT / "kernel" / "templates",
    ROOT / "title_transfer" / "templates",
    ROOT / "backoffice" / "templates",
    ROOT / "auction_listings" / "templates",
    ROOT / "cases" / "templates",
    ROOT / "documents" / "templates",
]

STATE_LABELS = {
    "waiting": ("等待前置步骤", "Waiting"),
    "ready": ("可办理", "Ready"),
    "in_progress": ("办理中", "In progress"),
    "done": ("已完成", "Done"),
    "blocked": ("受阻", "Blocked"),
    "not_applicable": ("不适用", "Not applicable"),
}


def money(value: Any) -> str:
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value))
    return f"¥{amount:,.2f}"


def date(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.date()
    if i18n.current_lang.get() == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.strftime("%d %b %Y")


_CHINA = dt.timezone(dt.timedelta(hours=8))


def china_time(value: Any) -> str:
    """A moment as the date and HH:MM in China time (auction times are the court's)."""
    if not isinstance(value, dt.datetime):
        return "—"
    local = value.astimezone(_CHINA) if value.tzinfo else value
    # The hour and minute by field, not by strftime (libc's strftime was most of this filter's
    # cost, and a search page calls it once per lot): the same text.
    return f"{date(local.date())} {local.hour:02d}:{local.minute:02d}"


def pick(zh: Any, en: Any) -> Any:
    return zh if i18n.current_lang.get() == "zh" else en


def field(obj: Any, base: str) -> Any:
    """obj.<base>_zh or obj.<base>_en (or dict keys) for the current language."""
    suffix = "_zh" if i18n.current_lang.get() == "zh" else "_en"
    if isinstance(obj, dict):
        return obj.get(base + suffix)
    return getattr(obj, base + suffix)


def _attr(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def written(obj: Any, base: str) -> Markup:
    """Free text shown as written, in the reader's language where a version exists.

    ``obj.<base>`` is the text as written (in ``obj.<base>_lang``, Chinese when unrecorded);
    ``obj.<base>_zh`` / ``obj.<base>_en`` are versions per language. Without a version in the
    reader's language the original is shown, marked with its language and a discreet note.
    """
    lang = i18n.current_lang.get()
    original = _attr(obj, base)
    written_lang = _attr(obj, base + "_lang") or "zh"
    own = _attr(obj, f"{base}_{lang}") or (original if written_lang == lang else None)
    if own:
        return escape(own)  # what Markup("{}").format(own) gives, without string.Formatter's pure-Python pass
    text = _attr(obj, f"{base}_{written_lang}") or original
    if not text:
        return Markup("")
    note = i18n.gettext("written in Chinese") if written_lang == "zh" else i18n.gettext("written in English")
    tag = "zh-CN" if written_lang == "zh" else "en"
    return Markup(f'<span lang="{tag}">{escape(text)}</span> <span class="muted written-in">({escape(note)})</span>')  # noqa: S704 - both parts escaped


def doc_label(kind: str) -> str:
    return kind_label(kind, i18n.current_lang.get())


def doc_choices(kinds: list[str], department: str | None = None) -> list[tuple[str, str, int]]:
    """The kinds offered in an upload widget; with ``department``, only those it may issue."""
    if department is not None:
        kinds = [k for k in kinds if get_limits().rule(DocumentKind(k)).issuable_by(department)]
    return kind_choices(kinds, i18n.current_lang.get())


def pct(rate: Any) -> str:
    value = Decimal(str(rate)) * 100
    return f"{value.normalize():f}%"


def dept_name(dept: str) -> str:
    return department_name(dept, i18n.current_lang.get())


_STATE_LABELS_BY_LANG = {lang: {state: pick_ for state, (zh, en) in STATE_LABELS.items()
                                 for pick_ in [zh if lang == "zh" else en]} for lang in ("zh", "en")}


def state_labels() -> dict[str, str]:
    """Every step state's label in the reader's language (one look-up per page, not per step)."""
    return _STATE_LABELS_BY_LANG["zh" if i18n.current_lang.get() == "zh" else "en"]


def state_label(state: str) -> str:
    zh, en = STATE_LABELS.get(state, (state, state))
    return pick(zh, en)


_CACHE_LIMIT = 4096  # msgids per language; templates use literal msgids, a few hundred in all


def _catalogue_markup(lang: str, message: str) -> Markup:
    # Catalogue text is trusted markup, exactly as Jinja's own newstyle gettext treats it;
    # the variables formatted into it are escaped by Markup's %.
    return Markup(i18n.translations(lang).gettext(message))  # noqa: S704


def _cached_gettext() -> Any:
    """Jinja's newstyle ``gettext``/``_``, with each translation resolved once per language.

    Jinja's own newstyle wrapper calls the translation function, wraps the result in a
    Markup and %-formats it (escaping) on every call. Most calls in templates pass no
    variables, so their result depends on the language and the msgid alone: it is kept,
    already a Markup and already formatted (``%%`` → ``%``), per language. Calls with
    variables reuse the translated Markup and only format. Outside autoescape the result is
    a plain str, as in Jinja's wrapper.
    """
    formatted: dict[str, dict[str, Markup]] = {lang: {} for lang in i18n.LANGS}
    translated: dict[str, dict[str, Markup]] = {lang: {} for lang in i18n.LANGS}

    def lookup(tables: dict[str, dict[str, Markup]], lang: str, message: str, make: Any) -> Markup:
        table = tables.get(lang)
        if table is None:  # a language without a table: nothing kept
            return make()  # type: ignore[no-any-return]
        hit = table.get(message)
        if hit is None:
            hit = make()
            if len(table) < _CACHE_LIMIT:
                table[message] = hit
        return hit

    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> str:
        if not __context.eval_ctx.autoescape:
            return i18n.gettext(__string) % variables
        lang = i18n.current_lang.get()
        if not variables:
            table = formatted.get(lang)
            hit = table.get(__string) if table is not None else None
            if hit is not None:  # the common case: one dict lookup
                return hit
            return lookup(formatted, lang, __string, lambda: _catalogue_markup(lang, __string) % variables)
        return lookup(translated, lang, __string, lambda: _catalogue_markup(lang, __string)) % variables

    return gettext


def build_environment(extra_dirs: list[Path] | None = None, *, auto_reload: bool = False) -> Environment:
    """The portal's Jinja environment.

    ``auto_reload`` (development only) re-reads a template whose file changed; without it a
    compiled template is used as it is, with no modification-time checks per render.
    """
    for lang in i18n.LANGS:
        i18n.translations(lang)  # a missing or stale compiled catalogue fails here, at start-up
    dirs = [d for d in [*TEMPLATE_DIRS, *(extra_dirs or [])] if d.exists()]
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in dirs]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=auto_reload,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["gettext"] = env.globals["_"] = _cached_gettext()
    env.globals.update(
        lang=lambda: i18n.current_lang.get(),
        pick=pick,
        field=field,
        written=written,
        contacts=contacts,
        state_label=state_label,
        state_labels=state_labels,
        pct=pct,
        doc_label=doc_label,
        doc_choices=doc_choices,
        kind_choices=kind_choices,
        department_name=dept_name,
    )
    cards: dict[tuple[str, str | None, bool, str], Markup] = {}
    cards_of: list[Any] = [None]  # the contacts book the cards were rendered from

    def step_contact_card(department: str, court: str | None, open: bool = False) -> Markup:  # noqa: A002
        """``contact.card(contacts().for_step(department, court), open=open)`` from _contact.html,
        rendered once per (department, court, open, language) while the contacts book is the same."""
        book = contacts()
        if cards_of[0] is not book:
            cards.clear()
            cards_of[0] = book
        key = (department, court, open, i18n.current_lang.get())
        card = cards.get(key)
        if card is None:
            card = cards[key] = env.get_template("_contact.html").module.card(  # type: ignore[attr-defined]
                book.for_step(department, court), open=open)
        return card

    env.globals["step_contact_card"] = step_contact_card
    from portal.chat import linkify

    env.globals["linkify"] = linkify
    env.filters.update(money=money, date=date, china_time=china_time)
    env.tests["match_lang"] = lambda part: str(part).split("=", 1)[0] == "lang"
    return env
