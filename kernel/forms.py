"""The vocabulary form schemas are written in, shared by every domain that owns a form kind.

A form kind is a msgspec Struct whose fields carry their labels, help and type in both
languages (``msgspec.Meta.extra``), built with the helpers below. The back office turns such
a Struct into the web form, the JSON schema the assistant reads and the validation both use
(``backoffice.forms``); a domain declares its own kinds with these helpers and registers them
with the back office from the composition root, so the queue never names them.

A domain whose forms name one of its objects by a reference number declares a
:class:`FieldType` (its rule, how a typed value is tidied, what is said when it does not match)
and writes the field with :func:`typed`.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

Choice = tuple[str, str, str]  # value, label_zh, label_en
# (the rule a value follows once normalised — the schema's ``pattern`` —, what the web form's
# input accepts before normalisation: spaces, dashes, lower case… the server tidies them).
# Both are written so Python's re and the browser's pattern attribute (the "v" flag) read them alike.
Rule = tuple[str, str]

PHONE: Rule = (r"^1[3-9]\d{9}$", r"[\s\-\(\)]*(?:\+86)?[\s\-\(\)]*1[3-9](?:[\s\-\(\)]*\d){9}[\s\-\(\)]*")
DATE: Rule = (r"^\d{4}-\d{2}-\d{2}$", r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class FieldType:
    """A field type a domain adds: a reference to one of its objects (a number with a rule).

    ``noun_zh``/``noun_en`` name what it is ("a case number"), for help texts that list the
    references a person may give; ``names_object``: its value says what a form is about (the
    queue item's subject line).
    """

    name: str
    rule: Rule
    normalise: Callable[[str], str]
    invalid_zh: str
    invalid_en: str
    noun_zh: str = ""
    noun_en: str = ""
    names_object: bool = True


def _pattern(rule: Rule, *, optional: bool) -> str:
    """The schema pattern; an optional field may also be left empty."""
    pattern = rule[0]
    return f"^(?:{pattern[1:-1]})?$" if optional else pattern


def field_meta(type_: str, label: tuple[str, str], help_: tuple[str, str] | None = None, *, max_length: int,
               choices: list[Choice] | None = None, required_unless_identified: bool = False,
               format_: str | None = None, rule: Rule | None = None, optional: bool = False,
               field_type: FieldType | None = None) -> msgspec.Meta:
    """A field's schema: ``rule`` the pattern it follows; ``optional``: it may be empty."""
    return msgspec.Meta(max_length=None if choices else max_length,
                        pattern=_pattern(rule, optional=optional) if rule else None,
                        title=label[1], description=help_[1] if help_ else None, extra={
        "type": type_, "max_length": max_length, "label_zh": label[0], "label_en": label[1],
        "help_zh": help_[0] if help_ else None, "help_en": help_[1] if help_ else None,
        "choices": choices or [], "required_unless_identified": required_unless_identified, "format": format_,
        "pattern": rule[0] if rule else None, "input_pattern": rule[1] if rule else None,
        "field_type": field_type,
    })


def string(label: tuple[str, str], help_: tuple[str, str] | None = None, max_length: int = 100,
           format_: str | None = None, rule: Rule | None = None) -> msgspec.Meta:
    return field_meta("string", label, help_, max_length=max_length, format_=format_, rule=rule)


def text(label: tuple[str, str], help_: tuple[str, str] | None = None, max_length: int = 2000) -> msgspec.Meta:
    return field_meta("text", label, help_, max_length=max_length)


def phone(label: tuple[str, str] = ("联系电话", "Contact phone"), *, optional: bool = False) -> msgspec.Meta:
    return field_meta("phone", label, ("11位手机号码", "An 11-digit mainland mobile number"), max_length=11,
                      rule=PHONE, optional=optional)


def date(label: tuple[str, str], help_: tuple[str, str] | None = None, *, optional: bool = False,
         working_day: bool = False) -> msgspec.Meta:
    """A date (not past, within a year); ``working_day``: also a working day of the calendar
    (storage/workdays: weekends and public holidays are not, make-up working weekends are)."""
    return field_meta("date", label, help_ or ("格式 YYYY-MM-DD", "As YYYY-MM-DD"), max_length=10, rule=DATE,
                      optional=optional, format_="working_day" if working_day else None)


def enum(label: tuple[str, str], choices: list[Choice], help_: tuple[str, str] | None = None) -> msgspec.Meta:
    return field_meta("enum", label, help_, max_length=max(len(c[0]) for c in choices), choices=choices)


def typed(field_type: FieldType, label: tuple[str, str], help_: tuple[str, str] | None = None, *,
          max_length: int) -> msgspec.Meta:
    """A field of a domain's own type (a reference to one of its objects)."""
    return field_meta(field_type.name, label, help_, max_length=max_length, rule=field_type.rule,
                      field_type=field_type)


def check_literal(choices: list[Choice], literal: Any, *, optional: bool = False) -> None:
    """An enum field's Literal type names exactly its choices (so the two cannot drift)."""
    values = [c[0] for c in choices]
    if list(typing.get_args(literal)) != ([""] if optional else []) + values:
        raise ValueError(f"{literal} does not match the choices {values}")


__all__ = ["DATE", "PHONE", "Choice", "FieldType", "Rule", "check_literal", "date", "enum", "field_meta", "phone",
           "string", "text", "typed"]
