"""The queue's JSON API: form schemas for the assistant, and submissions.

``POST /api/v1/submissions`` is called by a signed-in citizen's browser (session) or by
the assistant's action server (``Authorization: Bearer <service token>``) acting for the
citizen it names (``X-Citizen-Token``) or, for forms that name another domain's object, for
whoever holds that object's reference and code (checked by the source's adapter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, cast

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody
from litestar.params import FromPath, HeaderParameter

from accounts.identity import citizen_from_token
from backoffice import forms, service, submissions
from backoffice.models import ItemState, MessageKind, WorkItem, parse_reference
from backoffice.service import Actor
from kernel.auth import Auth, auth_of, principal_of
from kernel.deps import CurrentPrincipal, Settings, app_context, request_lang, set_request_lang
from kernel.guards import requires_caller
from kernel.i18n import N_
from storage.context import DbSession

KEY_RE = re.compile(r"^[\x21-\x7e]{8,200}$")
MAX_BODY = 256 * 1024
MAX_DEPTH = 8  # a submission nests 3 deep (body → transcript → line); far deeper is no submission


class FormSummary(msgspec.Struct):
    kind: str
    title_zh: str
    title_en: str
    url: str


class SubmissionOut(msgspec.Struct):
    reference: str
    state: str
    department: str
    url: str


class SubmissionStatus(msgspec.Struct):
    reference: str
    kind: str
    state: str
    department: str
    url: str
    created_at: str
    updated_at: str
    due_at: str
    asked_zh: str | None = None  # what the citizen is asked to correct, when waiting for them
    asked_fields: list[str] = []
    resolution: str | None = None


def submission_body_schema() -> dict[str, Any]:
    """The body of ``POST /api/v1/submissions``, one variant per form kind, from the kinds' Structs.

    The handler reads the body itself (to answer every field's problem at once, in both
    languages), so the schema is given to the OpenAPI here rather than inferred.
    """
    _, defs = msgspec.json.schema_components([forms.TranscriptLine])
    line = defs["TranscriptLine"]
    variants = []
    for kind, data in forms.json_schemas().items():
        variants.append({
            "title": kind, "type": "object", "required": ["kind", "data"], "additionalProperties": False,
            "properties": {
                "kind": {"const": kind}, "data": data,
                "channel": {"enum": list(submissions.CHANNELS),
                            "description": "chat for the assistant (the default with the service token), else web"},
                "language": {"enum": list(submissions.LANGUAGES), "description": "the citizen's language"},
                "transcript": {"type": "array", "maxItems": forms.MAX_TRANSCRIPT_LINES, "items": line},
            },
        })
    return {"oneOf": variants, "discriminator": {"propertyName": "kind"}}


@dataclass
class SubmissionOperation(Operation):
    """The OpenAPI operation of a submission, with its body's schema."""

    def __post_init__(self) -> None:
        schema = cast(Any, submission_body_schema())  # a JSON Schema dict: rendered as it is
        self.request_body = RequestBody(content={"application/json": OpenAPIMediaType(schema=schema)}, required=True)


def out(item: WorkItem) -> SubmissionOut:
    return SubmissionOut(reference=item.reference, state=item.state, department=item.department,
                         url=f"/my/submissions/{item.reference}")


@dataclass(frozen=True)
class Caller:
    citizen_id: int | None
    actor: Actor
    scope: str
    client_key: str
    as_service: bool

    @property
    def submitter(self) -> submissions.Submitter:
        return submissions.Submitter(self.actor, self.citizen_id, self.scope, self.client_key)


def json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, bounded in size and nesting (400/413 otherwise)."""
    if len(raw) > MAX_BODY:
        raise HTTPException(status_code=413, detail="submission too large")
    too_deep = HTTPException(status_code=400, detail=f"the body is nested too deeply (at most {MAX_DEPTH} levels)")
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise HTTPException(status_code=400, detail="the body must be a JSON object") from None
    except RecursionError:  # nested far too deeply for the decoder
        raise too_deep from None
    if nesting_depth(body) > MAX_DEPTH:
        raise too_deep
    if not isinstance(body, dict):
        raise HTTPException(status_code=400, detail="the body must be a JSON object")
    return body


def nesting_depth(value: Any) -> int:
    """How deeply lists and objects nest in a decoded JSON value (a scalar: 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            depth += 1
            if depth > MAX_DEPTH:
                return depth  # enough to refuse: no need to walk the rest
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in node)
    return deepest


def caller_of(request: Request[Any, Any, Any]) -> Caller:
    """The queue's view of the caller the kernel resolved (behind ``requires_caller``)."""
    auth: Auth = auth_of(request)
    if auth.as_service:
        sender = auth.chat_sender or "unknown"
        label = f"assistant for citizen:{auth.citizen_id}" if auth.citizen_id else f"assistant chat:{sender}"
        return Caller(auth.citizen_id, Actor(auth.citizen_id, label, "citizen"), "service", auth.client_key, True)
    who = principal_of(request)
    assert who is not None  # requires_caller
    return Caller(who.user_id, Actor.citizen(who.user_id, who.label), f"user:{who.user_id}", auth.client_key, False)


def form_summaries() -> list[FormSummary]:
    out_: list[FormSummary] = []
    for kind in forms.form_kinds():
        spec = forms.form_spec(kind)
        assert spec is not None
        out_.append(FormSummary(kind, spec.title_zh, spec.title_en, f"/api/v1/forms/{kind}"))
    return out_


class FormsAPI(Controller):
    path = "/api/v1/forms"
    tags = ["forms"]

    @get("/", name="api.forms", summary="The form kinds citizens can submit")
    async def list_forms(self) -> list[FormSummary]:
        return form_summaries()

    @get("/{kind:str}", name="api.form", summary="One form's schema: fields, types, labels and help in both languages",
         description="A field marked required_unless_identified (the verification code) is required unless the "
                     "caller is signed in or sends a valid X-Citizen-Token; `required` already reflects that.")
    async def form(
        self,
        principal: CurrentPrincipal,
        settings: Settings,
        kind: FromPath[str],
        citizen_token: Annotated[str | None, HeaderParameter(name="X-Citizen-Token")] = None,
    ) -> forms.FormSpec:
        identified = principal is not None or (
            bool(citizen_token) and citizen_from_token(settings.secret_key, citizen_token) is not None
        )
        spec = forms.form_spec(kind, identified=identified)
        if spec is None:
            raise NotFoundException(detail=f"unknown form kind {kind[:40]!r}")
        return spec


class SubmissionsAPI(Controller):
    path = "/api/v1/submissions"
    tags = ["submissions"]
    guards = [requires_caller]  # a signed-in person, or the service (token checked, citizen token too)

    @post("/", name="api.submissions.create", status_code=201, operation_class=SubmissionOperation,
          summary="Submit a form: a queue item in the right department's inbox",
          description="201 with the new item; 200 with the same body when the Idempotency-Key was seen with the "
                      "same body; 409 when it was seen with a different one; 422 with per-field errors.")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
        # Both read by the kernel's authentication middleware; declared for the schema.
        citizen_token: Annotated[str | None, HeaderParameter(name="X-Citizen-Token")] = None,
        chat_sender: Annotated[str | None, HeaderParameter(name="X-Chat-Sender")] = None,
        chat_client: Annotated[str | None, HeaderParameter(name="X-Chat-Client")] = None,
    ) -> Response[SubmissionOut]:
        caller = caller_of(request)
        if not caller.as_service:
            # /api/ is outside the CSRF middleware. A cross-site page can only send a "simple"
            # request (form encodings, text/plain) without a CORS preflight, which we never
            # grant; insisting on JSON therefore keeps a session-authenticated write same-site.
            if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                raise HTTPException(status_code=415, detail="send the submission as application/json")
        if caller.as_service and not idempotency_key:
            raise HTTPException(status_code=400, detail="Idempotency-Key header is required with the service token")
        if idempotency_key is not None and not KEY_RE.match(idempotency_key):
            raise HTTPException(status_code=400, detail="Idempotency-Key must be 8–200 printable ASCII characters")
        body = json_object(await request.body())
        if not isinstance(body.get("kind"), str):
            raise HTTPException(status_code=400, detail='the body must be a JSON object with a "kind"')
        sent = submissions.Submission(
            kind=body["kind"], data=body.get("data"), channel=body.get("channel", "chat" if caller.as_service else "web"),
            language=body.get("language"), default_language=request_lang(request), transcript=body.get("transcript"),
            key=idempotency_key,
        )
        language = sent.reply_language
        set_request_lang(request, language)  # refusals answer in the submission's language
        # FormInvalid → 422 with every field's error, Throttled → 429, QueueErrors (rolled back): the kernel's
        result = await submissions.file_form(db_session, app_context(request.app.state), sent, caller.submitter)
        return Response(out(result.item), status_code=201 if result.created else 200)

    @get("/{reference:str}", name="api.submissions.status", summary="A submission's state, for its citizen")
    async def status(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        reference: FromPath[str],
        citizen_token: Annotated[str | None, HeaderParameter(name="X-Citizen-Token")] = None,
        chat_sender: Annotated[str | None, HeaderParameter(name="X-Chat-Sender")] = None,
        chat_client: Annotated[str | None, HeaderParameter(name="X-Chat-Client")] = None,
    ) -> SubmissionStatus:
        caller = caller_of(request)
        item_id = parse_reference(reference)
        item = await service.load(db_session, item_id) if item_id is not None else None
        who = principal_of(request)
        allowed = item is not None and (
            (caller.citizen_id is not None and item.citizen_id == caller.citizen_id)
            or (not caller.as_service and who is not None and who.works_for(item.department))
        )
        if item is None or not allowed:
            raise NotFoundException(detail=N_("No such submission."))
        asked = None
        if item.state == ItemState.waiting_citizen:
            msgs = await service.thread(db_session, item, citizen_view=True)
            asked = next((m.body for m in reversed(msgs) if m.kind == MessageKind.correction_request), None)
        return SubmissionStatus(
            reference=item.reference, kind=item.kind, state=item.state, department=item.department,
            url=f"/my/submissions/{item.reference}", created_at=item.created_at.isoformat(),
            updated_at=item.updated_at.isoformat(), due_at=item.due_at.isoformat(), asked_zh=asked,
            asked_fields=list(item.correction_fields or []), resolution=item.resolution,
        )

