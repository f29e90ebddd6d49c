"""The Chinese catalogue through Babel's own workflow: extraction per babel.cfg, compiled
catalogues loaded once per language, plural forms, and the templates' cached gettext."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from markupsafe import Markup

from portal import i18n
from portal.templating import build_environment

ROOT = Path(__file__).resolve().parents[2]
PO = i18n.LOCALES_DIR / "zh_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")


def _message_dirs() -> list[str]:
    """The folders `make messages` extracts from (MESSAGE_DIRS in the Makefile)."""
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        if line.startswith("MESSAGE_DIRS :="):
            return line.partition(":=")[2].split()
    raise AssertionError("MESSAGE_DIRS not found in the Makefile")


def untranslated() -> list[str]:
    """Every msgid babel.cfg finds in the packages that has no (complete) Chinese translation."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    with PO.open("rb") as fh:
        catalogue = read_po(fh, locale="zh_CN")
    missing: list[str] = []
    for folder in _message_dirs():
        for _file, _line, message, _comments, _ctx in extract_from_dir(ROOT / folder, method_map, options_map):
            key = message[0] if isinstance(message, tuple) else message
            entry = catalogue.get(key)
            strings = entry.string if entry else ""
            done = all(strings) if isinstance(strings, tuple) else bool(strings)
            if key and not (done and entry and not entry.fuzzy):
                missing.append(key)
    return missing


def test_extraction_follows_babel_cfg_and_finds_templates_python_and_plurals() -> None:
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {message for folder in _message_dirs()
             for _f, _l, message, _c, _ctx in extract_from_dir(ROOT / folder, method_map, options_map)}
    assert "Progress" in found  # a template (title_transfer/_live.html)
    assert "E-mail or password is not right." in found  # Python code (portal/auth.py)
    assert ("within %(num)s working day", "within %(num)s working days") in found  # ngettext in a template


def test_the_compiled_catalogue_is_the_po_file() -> None:
    i18n.compile_catalogues()
    with PO.open("rb") as fh:
        po = read_po(fh, locale="zh_CN")
    with MO.open("rb") as fh:
        mo = read_mo(fh)
    def as_tuple(value: object) -> object:
        return tuple(value) if isinstance(value, list | tuple) else value

    wanted = {as_tuple(m.id): as_tuple(m.string) for m in po if m.id and m.string and not m.fuzzy}
    assert {as_tuple(m.id): as_tuple(m.string) for m in mo if m.id} == wanted
    assert mo.plural_forms == po.plural_forms == "nplurals=1; plural=0;"


def test_python_code_gets_chinese_and_english_with_plurals() -> None:
    token = i18n.current_lang.set("zh")
    try:
        assert i18n.gettext("E-mail or password is not right.") == "邮箱或密码不正确。"
        assert i18n.ngettext("within %(num)s working day", "within %(num)s working days", 3) % {"num": 3} \
            == "3 个工作日内"
    finally:
        i18n.current_lang.reset(token)
    token = i18n.current_lang.set("en")
    try:
        assert i18n.gettext("E-mail or password is not right.") == "E-mail or password is not right."
        assert i18n.ngettext("within %(num)s working day", "within %(num)s working days", 1) == \
            "within %(num)s working day"
        assert i18n.ngettext("within %(num)s working day", "within %(num)s working days", 2) == \
            "within %(num)s working days"
    finally:
        i18n.current_lang.reset(token)


def _render(source: str, lang: str, **context: object) -> str:
    env = build_environment()
    token = i18n.current_lang.set(lang)
    try:
        return env.from_string(source).render(**context)
    finally:
        i18n.current_lang.reset(token)


def test_templates_pluralise_by_the_language_rules() -> None:
    source = '{{ ngettext("within %(num)s working day", "within %(num)s working days", n) }}'
    assert _render(source, "en", n=1) == "within 1 working day"
    assert _render(source, "en", n=5) == "within 5 working days"
    assert _render(source, "zh", n=1) == "1 个工作日内"
    assert _render(source, "zh", n=5) == "5 个工作日内"
    trans = "{% trans count=n %}{{ count }} step{% pluralize %}{{ count }} steps{% endtrans %}"
    assert _render(trans, "en", n=1) == "1 step"
    assert _render(trans, "en", n=2) == "2 steps"


def test_cached_gettext_gives_the_same_text_per_language_and_still_escapes_variables() -> None:
    env = build_environment()
    template = env.from_string('{{ _("Progress") }}|{{ _("Rates in force from %(d)s.", d=d) }}|{{ _("100%%") }}')
    for lang, progress in (("zh", "办理进度"), ("en", "Progress"), ("zh", "办理进度")):
        token = i18n.current_lang.set(lang)
        try:
            out = template.render(d="<b>1 May</b>")
        finally:
            i18n.current_lang.reset(token)
        first, second, third = out.split("|")
        assert first == i18n.translations(lang).gettext("Progress") == progress
        assert "&lt;b&gt;1 May&lt;/b&gt;" in second and "<b>" not in second
        assert third == "100%"
    token = i18n.current_lang.set("en")
    try:
        result = env.globals["_"](env.from_string("").new_context(), "Progress")
    finally:
        i18n.current_lang.reset(token)
    assert isinstance(result, Markup) and result == "Progress"


def test_templates_are_not_rechecked_on_disk_outside_development() -> None:
    assert build_environment().auto_reload is False
    assert build_environment(auto_reload=True).auto_reload is True
