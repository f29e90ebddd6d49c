"""The queue's JSON API: form schemas for the assistant, and submissions.

``POST /api/v1/submissions`` is called by a signed-in citizen's browser (session) or by
the assistant's action server (``Authorization: Bearer <service token>``) acting for the
citizen it names (``X-Citizen-Token``) or, for forms about a transfer, for whoever holds
the tracking number and verification code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import FromPath, HeaderParameter
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.clients import client_key, service_client_key
from accounts.identity import citizen_from_token, service_token_ok
from backoffice import forms, service, submissions
from backoffice.controllers.common import app_ctx, lang, principal
from backoffice.errors import QueueError, Throttled
from backoffice.models import ItemState, MessageKind, WorkItem, parse_reference
from backoffice.registry import TransferCheck, TransferMatch, registry
from backoffice.service import Actor
from storage.context import DbSession

KEY_RE = re.compile(r"^[\x21-\x7e]{8,200}$")
MAX_BODY = 256 * 1024
TRANSFER_FIELDS = ("tracking_number",)


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


class FormInvalidHTTP(ValidationException):
    """422 with per-field errors the assistant can read out (``errors``: field, message_zh, message_en)."""

    status_code = 422


def _invalid(errors: list[forms.FieldError], language: str) -> FormInvalidHTTP:
    first = errors[0]
    detail = first.message_zh if language == "zh" else first.message_en
    return FormInvalidHTTP(detail=detail, extra=[msgspec.to_builtins(e) for e in errors])


def _queue_error(exc: QueueError, language: str) -> HTTPException:
    return HTTPException(status_code=exc.status, detail=exc.message(language))


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


def _caller(request: Request[Any, Any, Any], citizen_token: str | None, chat_sender: str | None,
            chat_client: str | None = None) -> Caller:
    ctx = app_ctx(request)
    authorization = request.headers.get("authorization")
    if authorization is not None:
        if not service_token_ok(ctx.settings.service_token, authorization):
            raise HTTPException(status_code=401, detail="invalid service token")
        citizen_id = None
        if citizen_token:
            citizen_id = citizen_from_token(ctx.settings.secret_key, citizen_token)
            if citizen_id is None:
                raise PermissionDeniedException(detail="citizen token invalid or expired")
        sender = (chat_sender or "unknown")[:80]
        label = f"assistant for citizen:{citizen_id}" if citizen_id else f"assistant chat:{sender}"
        return Caller(citizen_id, Actor(citizen_id, label, "citizen"), "service",
                      service_client_key(ctx.settings.secret_key, chat_client, chat_sender), True)
    who = principal(request)
    if who is None:
        raise HTTPException(status_code=401, detail="sign in, or call with the service token")
    return Caller(who.user_id, Actor.citizen(who.user_id, who.label), f"user:{who.user_id}", client_key(request), False)


class FormsAPI(Controller):
    path = "/api/v1/forms"
    tags = ["forms"]

    @get("/", name="api.forms", summary="The form kinds citizens can submit")
    async def list_forms(self) -> list[FormSummary]:
        out_: list[FormSummary] = []
        for kind in forms.form_kinds():
            spec = forms.form_spec(kind)
            assert spec is not None
            out_.append(FormSummary(kind, spec.title_zh, spec.title_en, f"/api/v1/forms/{kind}"))
        return out_

    @get("/{kind:str}", name="api.form", summary="One form's schema: fields, types, labels and help in both languages",
         description="A field marked required_unless_identified (the verification code) is required unless the "
                     "caller is signed in or sends a valid X-Citizen-Token; `required` already reflects that.")
    async def form(
        self,
        request: Request[Any, Any, Any],
        kind: FromPath[str],
        citizen_token: Annotated[str | None, HeaderParameter(name="X-Citizen-Token")] = None,
    ) -> forms.FormSpec:
        identified = principal(request) is not None or (
            bool(citizen_token) and citizen_from_token(app_ctx(request).settings.secret_key, citizen_token) is not None
        )
        spec = forms.form_spec(kind, identified=identified)
        if spec is None:
            raise NotFoundException(detail=f"unknown form kind {kind[:40]!r}")
        return spec


class SubmissionsAPI(Controller):
    path = "/api/v1/submissions"
    tags = ["submissions"]

    @post("/", name="api.submissions.create", status_code=201,
          summary="Submit a form: a queue item in the right department's inbox",
          description="201 with the new item; 200 with the same body when the Idempotency-Key was seen with the "
                      "same body; 409 when it was seen with a different one; 422 with per-field errors.")
    async def create(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        idempotency_key: Annotated[str | None, HeaderParameter(name="Idempotency-Key")] = None,
        citizen_token: Annotated[str | None, HeaderParameter(name="X-Citizen-Token")] = None,
        chat_sender: Annotated[str | None, HeaderParameter(name="X-Chat-Sender")] = None,
        chat_client: Annotated[str | None, HeaderParameter(name="X-Chat-Client")] = None,
    ) -> Response[SubmissionOut]:
        caller = _caller(request, citizen_token, chat_sender, chat_client)
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
        raw_body = await request.body()
        if len(raw_body) > MAX_BODY:
            raise HTTPException(status_code=413, detail="submission too large")
        try:
            body = msgspec.json.decode(raw_body)
        except msgspec.DecodeError:
            raise HTTPException(status_code=400, detail="the body must be a JSON object") from None
        if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
            raise HTTPException(status_code=400, detail='the body must be a JSON object with a "kind"')
        language: str = body["language"] if body.get("language") in ("zh", "en") else lang(request)
        kind = body["kind"]
        if forms.form_spec(kind) is None:
            raise NotFoundException(detail=f"unknown form kind {kind[:40]!r}")
        errors: list[forms.FieldError] = []
        channel = body.get("channel", "chat" if caller.as_service else "web")
        if channel not in ("chat", "web"):
            errors.append(forms.FieldError("channel", "渠道应为 chat 或 web。", 'channel must be "chat" or "web".'))
        if body.get("language") not in (None, "zh", "en"):
            errors.append(forms.FieldError("language", "语言应为 zh 或 en。", 'language must be "zh" or "en".'))
        raw_data = body.get("data") or {}
        raw_transcript = body.get("transcript")
        digest = submissions.body_hash(kind, raw_data, channel, language, raw_transcript, caller.citizen_id)
        idem = (caller.scope, idempotency_key, digest) if idempotency_key else None
        if idem is not None:
            try:
                found = await submissions.existing(db_session, *idem)
            except QueueError as exc:
                raise _queue_error(exc, language) from None
            if found is not None:  # a replay: answer as before, without re-checking (dates may have passed)
                return Response(out(found.item), status_code=200)
        try:
            transcript = forms.validate_transcript(raw_transcript)
        except forms.FormInvalid as exc:
            errors.extend(exc.errors)
        try:
            valid = forms.validate(kind, raw_data, identified=caller.citizen_id is not None)
        except forms.FormInvalid as exc:
            errors.extend(exc.errors)
            valid = None
        if errors or valid is None:
            raise _invalid(errors, language)
        try:
            transfer = await verify_transfer(request, valid, caller, release=db_session)
        except forms.FormInvalid as exc:
            raise _invalid(exc.errors, language) from None
        except Throttled as exc:
            raise HTTPException(status_code=429, detail="too many failed attempts; try again later",
                                headers={"Retry-After": str(exc.retry_after)}) from None
        if kind == "dispute" and caller.citizen_id is None:
            raise PermissionDeniedException(detail="a dispute needs the citizen: sign in or send X-Citizen-Token")
        try:
            result = await submissions.submit(
                db_session, valid, actor=caller.actor, citizen_id=caller.citizen_id, channel=channel,
                language=language, transcript=transcript, transfer=transfer, idempotency=idem,
            )
        except QueueError as exc:
            await db_session.rollback()
            raise _queue_error(exc, language) from None
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
        caller = _caller(request, citizen_token, chat_sender, chat_client)
        item_id = parse_reference(reference)
        item = await service.load(db_session, item_id) if item_id is not None else None
        who = principal(request)
        allowed = item is not None and (
            (caller.citizen_id is not None and item.citizen_id == caller.citizen_id)
            or (not caller.as_service and who is not None and who.works_for(item.department))
        )
        if item is None or not allowed:
            raise NotFoundException(detail="no such submission")
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


async def verify_transfer(request: Request[Any, Any, Any], valid: forms.Validated,
                          caller: Caller, *, release: AsyncSession | None = None) -> TransferMatch | None:
    """Forms about a transfer: the caller must hold its code, or be its buyer.

    ``release``: the request's session, whose read-only transaction ends here so that the
    check (the transfer's read, the counters) never waits for a pooled connection while this
    request holds one. Raises FormInvalid (a field error to show) or Throttled (too many wrong codes).
    """
    if not any(f in valid.data for f in TRANSFER_FIELDS):
        return None
    verifier = registry.transfer_verifier
    if verifier is None:
        raise HTTPException(status_code=503, detail="transfer verification is not available")
    if release is not None and release.in_transaction() and not (release.new or release.dirty or release.deleted):
        await release.commit()  # nothing written yet: gives the connection back to the pool
    code = valid.data.get("verification_code") or None
    match = await verifier(app_ctx(request), TransferCheck(valid.data["tracking_number"], code, caller.citizen_id,
                                                           caller.client_key))
    if match is not None:
        return match
    if code is None:
        raise forms.FormInvalid([forms.FieldError(
            "verification_code", "该查询号不在您的账户下,请填写成交确认书上的查询码。",
            "This tracking number is not in your account: give the verification code from the sale confirmation.")])
    raise forms.FormInvalid([forms.FieldError(
        "verification_code", "查询号与查询码不匹配,请核对成交确认书。",
        "The tracking number and verification code do not match; check the sale confirmation.")])
