"""One schema per form kind.

Each kind is a msgspec Struct whose fields carry their labels, help and type in both
languages (``msgspec.Meta.extra``, written with ``kernel.forms``). From it come the web form,
the JSON schema the chat assistant reads (``GET /api/v1/forms/{kind}``), the validation both
use, and the labels staff see. Validation reports every field at once, in both languages, so
the assistant can read the problems out one by one (:class:`kernel.errors.FormInvalid`, which
the kernel's one exception handler renders).

The queue's own kinds are below; a domain that owns form kinds registers their Structs with
:func:`register_form` (and their kinds file with ``backoffice.kinds.register_kinds``) from the
composition root, so that nothing here names a domain.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

import msgspec

from accounts.departments import DEPARTMENT_NAMES, Department
from backoffice.kinds import CHINA, catalogue, route_by_topic
from kernel.errors import FieldError, FormInvalid
from kernel.forms import DATE, PHONE, Choice, FieldType, Rule, check_literal, enum, phone, string, text
from storage.workdays import default_calendar

BUILT_IN_TYPES = ("string", "text", "phone", "date", "enum")  # and each FieldType a form's field names
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")
MAX_TRANSCRIPT_LINES = 200
MAX_TRANSCRIPT_TEXT = 2000

# The queue's own rules (see kernel.forms.Rule): what a value follows once normalised, what the
# web form's input accepts before.
REFERENCE: Rule = (r"^WI-\d{1,12}$", r"\s*[Ww][Ii]-\d{1,12}\s*")
PATTERNS: dict[str, Rule] = {"phone": PHONE, "date": DATE, "reference": REFERENCE}
PHONE_RE = re.compile(PHONE[0])
REFERENCE_RE = re.compile(REFERENCE[0])
DATE_RE = re.compile(DATE[0])


DEPARTMENTS: list[Choice] = [(d.value, zh, en) for d, (zh, en) in DEPARTMENT_NAMES.items()]
NAME = ("姓名", "Name")

# Enum fields are Literal types (their choices, as the OpenAPI shows them); "" is an optional one left empty.
DepartmentChoice = Literal["court", "tax", "registry", "water", "electricity", "gas", "vehicles", "urban_management"]
DepartmentIfKnown = Literal["", "court", "tax", "registry", "water", "electricity", "gas", "vehicles",
                            "urban_management"]
check_literal(DEPARTMENTS, DepartmentChoice)
check_literal(DEPARTMENTS, DepartmentIfKnown, optional=True)

# A help text that lists the references a person may give: the queue's own (受理编号), then each
# registered domain's object references (its FieldTypes' nouns), in the order they were registered.
REFERENCES_HELP = "{references}"
OWN_REFERENCE = ("受理编号", "A reference")


class TalkToPerson(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    topic: Annotated[str, string(("事项", "What it is about"), max_length=200)]
    contact_name: Annotated[str, string(NAME, max_length=60)]
    contact_phone: Annotated[str, phone()]
    message: Annotated[str, text(("留言", "Message"))] = ""
    department: Annotated[DepartmentIfKnown, enum(("部门(如知道)", "Department (if you know)"), DEPARTMENTS)] = ""


class DocumentSupplement(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    department: Annotated[DepartmentChoice, enum(("接收部门", "Department"), DEPARTMENTS)]
    reference: Annotated[str, string(("相关编号", "Related number"), (REFERENCES_HELP, REFERENCES_HELP), 60)] = ""
    description: Annotated[str, text(("补充说明", "What you are adding"))]
    contact_phone: Annotated[str, phone(optional=True)] = ""


class Dispute(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reference: Annotated[str, string(("受理编号", "Reference"), ("例如 WI-000123", "For example WI-000123"), 20,
                                     format_="reference", rule=REFERENCE)]
    reason: Annotated[str, text(("异议理由", "Why you disagree"))]


_OWN_FORMS: dict[str, type[msgspec.Struct]] = {
    "talk_to_person": TalkToPerson,
    "document_supplement": DocumentSupplement,
    "dispute": Dispute,
}
_registered: dict[str, type[msgspec.Struct]] = {}
# Every form kind: the registered domains' (in the order they were registered), then the queue's own.
FORMS: dict[str, type[msgspec.Struct]] = dict(_OWN_FORMS)


def register_form(kind: str, struct: type[msgspec.Struct]) -> None:
    """A domain's form kind (its Struct, written with ``kernel.forms``); its kind must be in a kinds
    file registered with ``backoffice.kinds.register_kinds``. Idempotent for the same Struct."""
    if kind in _OWN_FORMS or _registered.get(kind, struct) is not struct:
        raise ValueError(f"form kind {kind!r} is already defined")
    _registered[kind] = struct
    FORMS.clear()
    FORMS.update({**_registered, **_OWN_FORMS})
    _fields.cache_clear()
    _types.clear()


# --- the schema as data ------------------------------------------------------------------------


class ChoiceSpec(msgspec.Struct):
    value: str
    label_zh: str
    label_en: str


class FieldSpec(msgspec.Struct):
    name: str
    type: str
    required: bool
    max_length: int
    choices: list[ChoiceSpec]
    label_zh: str
    label_en: str
    help_zh: str | None
    help_en: str | None
    required_unless_identified: bool = False
    format: str | None = None
    pattern: str | None = None  # the value, once normalised, matches this (Python and ECMAScript regex)
    input_pattern: str | None = None  # what a form input accepts before normalisation (spaces, lower case…)


class FormSpec(msgspec.Struct):
    kind: str
    title_zh: str
    title_en: str
    department: str | None
    department_field: str | None
    fields: list[FieldSpec]
    accepts_transcript: bool = False


_types: dict[str, FieldType] = {}  # each domain field type a form names, by name


def _metas(struct: type[msgspec.Struct]) -> list[tuple[msgspec.structs.FieldInfo, dict[str, Any]]]:
    hints = typing.get_type_hints(struct, include_extras=True)
    out = []
    for f in msgspec.structs.fields(struct):
        meta = next(m for m in typing.get_args(hints[f.name])[1:] if isinstance(m, msgspec.Meta))
        out.append((f, meta.extra or {}))
    return out


def references() -> tuple[str, str]:
    """What a person may give as a related number: the queue's reference, then each registered
    domain's object references (in the order they were registered) — as one phrase in zh and en."""
    nouns: list[tuple[str, str]] = [OWN_REFERENCE]
    for struct in _registered.values():
        for _f, extra in _metas(struct):
            ft = extra.get("field_type")
            if ft is not None and ft.noun_zh and (ft.noun_zh, ft.noun_en) not in nouns:
                nouns.append((ft.noun_zh, ft.noun_en))
    if len(nouns) == 1:
        return nouns[0]
    zh = "、".join(n[0] for n in nouns[:-1]) + "或" + nouns[-1][0]
    en = ", ".join(n[1] for n in nouns[:-1]) + " or " + nouns[-1][1]
    return zh, en


def _help(value: str | None, lang: str) -> str | None:
    if value != REFERENCES_HELP:
        return value
    zh, en = references()
    return zh if lang == "zh" else en


@cache
def _fields(kind: str) -> tuple[FieldSpec, ...]:
    out: list[FieldSpec] = []
    for f, extra in _metas(FORMS[kind]):
        field_type = extra.get("field_type")
        assert extra["type"] in BUILT_IN_TYPES or (field_type is not None and field_type.name == extra["type"]), f.name
        if field_type is not None:
            _types[field_type.name] = field_type
        out.append(FieldSpec(
            name=f.name, type=extra["type"], required=f.required, max_length=extra["max_length"],
            choices=[ChoiceSpec(*c) for c in extra["choices"]], label_zh=extra["label_zh"],
            label_en=extra["label_en"], help_zh=_help(extra["help_zh"], "zh"), help_en=_help(extra["help_en"], "en"),
            required_unless_identified=extra["required_unless_identified"], format=extra["format"],
            pattern=extra["pattern"], input_pattern=extra["input_pattern"],
        ))
    return tuple(out)


def _field_type(spec: FieldSpec) -> FieldType | None:
    if spec.type in BUILT_IN_TYPES:
        return None
    return _types[spec.type]  # recorded by _fields, which built the spec: never skip a check silently


def form_kinds() -> list[str]:
    return [k for k in FORMS if (spec := catalogue().kinds.get(k)) is not None and spec.submittable]


def form_spec(kind: str, *, identified: bool = False) -> FormSpec | None:
    """The schema of a form kind; ``identified`` (a signed-in or named citizen) relaxes the code field."""
    k = catalogue().kinds.get(kind)
    if kind not in FORMS or k is None or not k.submittable:
        return None
    fields = [
        msgspec.structs.replace(f, required=True) if f.required_unless_identified and not identified else f
        for f in _fields(kind)
    ]
    return FormSpec(kind=kind, title_zh=k.title_zh, title_en=k.title_en, department=k.fixed_department,
                    department_field=k.department_field, fields=fields,
                    accepts_transcript=kind == "talk_to_person")


# Not a form field: staff may ask, in a correction, for a document; the citizen's answer form
# then offers an upload, and the answer is refused until a document is attached.
DOCUMENT_FIELD = "_document"
DOCUMENT_LABEL = ("一份文件(请上传)", "A document (to upload)")


def correctable(kind: str) -> dict[str, tuple[str, str]]:
    """What staff may ask a citizen to correct or complete: the form's fields and a document."""
    return {**labels(kind), DOCUMENT_FIELD: DOCUMENT_LABEL}


def labels(kind: str) -> dict[str, tuple[str, str]]:
    """Field name → (label_zh, label_en), for showing stored data (unknown kinds: empty)."""
    if kind not in FORMS:
        return {}
    return {f.name: (f.label_zh, f.label_en) for f in _fields(kind)}


def choice_label(kind: str, name: str, value: str, lang: str) -> str:
    if kind in FORMS:
        for f in _fields(kind):
            if f.name == name:
                for c in f.choices:
                    if c.value == value:
                        return c.label_zh if lang == "zh" else c.label_en
    return value


# --- validation -------------------------------------------------------------------------------


@dataclass
class Validated:
    kind: str
    data: dict[str, Any]
    struct: msgspec.Struct


def clean_text(value: str, *, multiline: bool) -> str:
    """Unicode-normalised, without control characters (PostgreSQL refuses NUL), trimmed."""
    value = unicodedata.normalize("NFC", value)
    if not multiline:
        value = _LINE_BREAKS.sub(" ", value)
    value = _CONTROL.sub("", value.replace("\r\n", "\n"))
    return value.strip()


def _normalise(spec: FieldSpec, value: str) -> str:
    if spec.type == "phone":
        return re.sub(r"[\s\-()]", "", value).removeprefix("+86")
    if (field_type := _field_type(spec)) is not None:
        return field_type.normalise(value)
    if spec.format == "reference":
        return value.upper()
    return value


def _check(spec: FieldSpec, value: str, today: dt.date) -> FieldError | None:
    zh, en = spec.label_zh, spec.label_en
    if spec.type == "phone":
        if not PHONE_RE.match(value):
            return FieldError(spec.name, "请填写11位手机号码,例如 13812345678。",
                              "Give an 11-digit mainland mobile number, e.g. 13812345678.")
    elif (field_type := _field_type(spec)) is not None:
        if not re.match(field_type.rule[0], value):
            return FieldError(spec.name, field_type.invalid_zh, field_type.invalid_en)
    elif spec.type == "date":
        parsed = None
        if DATE_RE.match(value):
            try:
                parsed = dt.date.fromisoformat(value)
            except ValueError:
                parsed = None
        if parsed is None:
            return FieldError(spec.name, f"{zh}应为有效日期,格式 YYYY-MM-DD。", f"{en} must be a real date written YYYY-MM-DD.")
        if parsed < today:
            return FieldError(spec.name, f"{zh}不能早于今天。", f"{en} cannot be in the past.")
        if parsed > today + dt.timedelta(days=366):
            return FieldError(spec.name, f"{zh}不能超过一年以后。", f"{en} must be within a year.")
        if spec.format == "working_day":
            calendar = default_calendar()
            if not calendar.is_working_day(parsed):
                nearest = calendar.next_working_day(parsed)
                return FieldError(
                    spec.name,
                    f"{zh}须为工作日:{parsed.month}月{parsed.day}日是周末或法定节假日。"
                    f"最近的工作日是{nearest.month}月{nearest.day}日。",
                    f"{en} must be a working day: {parsed:%d %b %Y} is a weekend or public holiday. "
                    f"The next working day is {nearest:%d %b %Y}.")
    elif spec.type == "enum":
        if value not in [c.value for c in spec.choices]:
            return FieldError(spec.name, "请选择:" + "、".join(c.label_zh for c in spec.choices) + "。",
                              "Choose one of: " + ", ".join(c.label_en for c in spec.choices) + ".")
    elif spec.format == "reference" and not REFERENCE_RE.match(value):
        return FieldError(spec.name, "受理编号格式应为 WI- 加数字,例如 WI-000123。",
                          "A reference is WI- followed by digits, e.g. WI-000123.")
    if len(value) > spec.max_length:
        return FieldError(spec.name, f"{zh}最多{spec.max_length}字(当前{len(value)}字)。",
                          f"{en} may be at most {spec.max_length} characters (it has {len(value)}).")
    return None


def _clean_field(f: FieldSpec, value: Any, today: dt.date) -> tuple[str | None, FieldError | None]:
    """One field's value cleaned, normalised and checked: (value, None), or (value or None, the problem)."""
    if value is None:
        value = ""
    elif isinstance(value, bool) or not isinstance(value, (str, int)):
        return None, FieldError(f.name, f"{f.label_zh}应为文字。", f"{f.label_en} must be text.")
    if len(str(value)) > f.max_length * 4 + 100:  # far too long: say so without working through it
        return None, FieldError(f.name, f"{f.label_zh}最多{f.max_length}字。",
                                f"{f.label_en} may be at most {f.max_length} characters.")
    value = clean_text(str(value), multiline=f.type == "text")
    if not value:
        if f.required:
            return None, FieldError(f.name, f"请填写{f.label_zh}。", f"Please fill in: {f.label_en}.")
        return "", None
    value = _normalise(f, value)
    return value, _check(f, value, today)


def validate_fields(kind: str, raw: dict[str, Any], names: list[str], *, identified: bool = False,
                    today: dt.date | None = None) -> dict[str, str]:
    """Clean and check only the fields ``names`` of ``raw`` (a correction), each on its own terms.

    Fields not named are not looked at, so a value that has gone stale since it was sent
    (a preferred date now past) does not stop the citizen correcting another one.
    Raises FormInvalid listing the named fields' problems.
    """
    spec = form_spec(kind, identified=identified)
    if spec is None:
        raise KeyError(kind)
    today = today or dt.datetime.now(CHINA).date()
    errors: list[FieldError] = []
    clean: dict[str, str] = {}
    for f in spec.fields:
        if f.name not in names:
            continue
        value, error = _clean_field(f, raw.get(f.name), today)
        if error is not None:
            errors.append(error)
        elif value is not None:
            clean[f.name] = value
    if errors:
        raise FormInvalid(errors)
    return clean


def validate(kind: str, raw: Any, *, identified: bool = False, today: dt.date | None = None) -> Validated:
    """Check every field of ``raw`` against the kind's schema; raises FormInvalid listing all problems."""
    spec = form_spec(kind, identified=identified)
    if spec is None:
        raise KeyError(kind)
    today = today or dt.datetime.now(CHINA).date()
    if not isinstance(raw, dict):
        raise FormInvalid([FieldError("data", "表单内容应为对象。", "The form data must be an object.")])
    errors: list[FieldError] = []
    known = {f.name for f in spec.fields}
    for name in raw:
        if name not in known:
            shown = str(name)[:40]
            errors.append(FieldError(shown, f"表单中没有“{shown}”这一项。", f"This form has no field {shown!r}."))
    clean: dict[str, str] = {}
    for f in spec.fields:
        value, error = _clean_field(f, raw.get(f.name), today)
        if error is not None:
            errors.append(error)
        if value is not None:
            clean[f.name] = value
    if errors:
        raise FormInvalid(errors)
    struct = msgspec.convert(clean, FORMS[kind])  # the Struct is the last word on shape
    return Validated(kind, msgspec.to_builtins(struct), struct)


class TranscriptLine(msgspec.Struct, forbid_unknown_fields=True):
    who: Literal["user", "bot"]
    text: Annotated[str, msgspec.Meta(description=f"cut to {MAX_TRANSCRIPT_TEXT} characters")]


def json_schemas() -> dict[str, dict[str, Any]]:
    """Each submittable kind's JSON Schema (patterns, choices, lengths, labels), for the OpenAPI."""
    structs = {kind: FORMS[kind] for kind in form_kinds()}
    _, defs = msgspec.json.schema_components(list(structs.values()))
    zh_en = references()
    for schema in defs.values():  # a help text that lists the references: as the form shows it
        for prop in schema.get("properties", {}).values():
            if prop.get("description") == REFERENCES_HELP:
                prop["description"] = zh_en[1]
    return {kind: defs[struct.__name__] for kind, struct in structs.items()}


def validate_transcript(raw: Any) -> list[dict[str, str]]:
    if raw is None:
        return []
    bad = FormInvalid([FieldError("transcript", "对话记录格式不正确(应为 who/text 列表,最多200条)。",
                                  "The transcript must be a list of at most 200 {who, text} lines.")])
    if not isinstance(raw, list) or len(raw) > MAX_TRANSCRIPT_LINES:
        raise bad
    out: list[dict[str, str]] = []
    for line in raw:
        if not isinstance(line, dict) or line.get("who") not in ("user", "bot") or not isinstance(line.get("text"), str):
            raise bad
        out.append({"who": line["who"], "text": clean_text(line["text"], multiline=True)[:MAX_TRANSCRIPT_TEXT]})
    return out


def subject_line(kind: str, data: dict[str, Any]) -> str:
    """A short line for lists: what the item is about, from its data (no contact details)."""
    named = [f.name for f in _fields(kind) if (ft := _field_type(f)) is not None and ft.names_object] \
        if kind in FORMS else []
    for key in (*named, "topic", "reference", "description"):
        value = data.get(key)
        if value:
            return str(value)[:80]
    return ""


def department_for(kind: str, data: dict[str, Any]) -> str | None:
    """The owning department that follows from the form's own data (None: decided elsewhere)."""
    k = catalogue().kinds[kind]
    if k.fixed_department:
        return k.fixed_department
    if k.department == "by_field" and k.department_field:
        return Department(data[k.department_field]).value
    if k.department == "by_topic":
        if data.get("department"):
            return str(data["department"])
        return route_by_topic(k, f"{data.get('topic', '')} {data.get('message', '')}") or Department.court.value
    return None
