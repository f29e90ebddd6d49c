"""Submitting a form: the one use case behind the JSON API, the web form and the chat's
"leave a message" fallback.

:func:`file_form` runs the steps in order — a key seen before answers with its item;
validate (every field, the transcript, the envelope); a dispute needs its citizen; verify
that the submitter may act on what the form names (each source adapter decides); the per-client limit; create the
item — and raises what a caller turns into its own answer (:class:`forms.FormInvalid`,
:class:`Throttled`, a :class:`QueueError`). Each caller only adapts its input (who is
asking, the raw values, the key) and its output (JSON, a page, a redirect).

Each form becomes a queue item exactly once per Idempotency-Key. The key is settled by the database, not by looking first: the item and a row
``(scope, key, body_hash)`` go in together, and a unique constraint on (scope, key) makes
the second of two concurrent duplicates fail at insert time. The loser rolls back (its
item disappears with it) and answers with the winner's item, or with a conflict when the
same key came with a different body.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backoffice import forms, service
from backoffice.errors import NOT_FOUND, QueueError, StaleItem, Throttled
from backoffice.models import SubmissionKey, WorkItem, parse_reference
from backoffice.registry import Claim, Verified, registry
from backoffice.service import Actor
from storage.throttle import Throttle

MAX_KEY = 200


class KeyReused(QueueError):
    """The same Idempotency-Key came back with a different body."""

    status_code = 409
    code = "key_reused"


class UnknownKind(QueueError):
    status_code = 404
    code = "unknown_kind"


class CitizenRequired(QueueError):
    """A dispute is about the citizen's own item: it needs to know who they are."""

    status_code = 403
    code = "citizen_required"


class VerificationUnavailable(QueueError):
    status_code = 503
    code = "verification_unavailable"


CITIZEN_REQUIRED = CitizenRequired("提出异议需要知道您是谁:请先登录。",
                                   "A dispute needs the citizen: sign in (or send X-Citizen-Token).")
NO_VERIFIER = VerificationUnavailable("暂时无法核验表单所指的事项,请稍后再试。",
                                      "What this form names cannot be verified right now; try again later.")
CHANNELS = ("chat", "web")
LANGUAGES = ("zh", "en")

KEY_REUSED = KeyReused("这个幂等键已用于另一份不同的提交。",
                       "This Idempotency-Key was already used for a different submission.")


def body_hash(kind: str, data: Any, channel: str, language: str, transcript: Any, citizen_id: int | None) -> str:
    """A stable digest of what was asked (key order and whitespace do not matter)."""
    canonical = msgspec.json.encode({"kind": kind, "data": data, "channel": channel, "language": language,
                                     "transcript": transcript, "citizen": citizen_id}, order="sorted")
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True)
class Submitted:
    item: WorkItem
    created: bool


async def existing(session: AsyncSession, scope: str, key: str, digest: str) -> Submitted | None:
    row = await session.scalar(select(SubmissionKey).where(SubmissionKey.scope == scope, SubmissionKey.key == key))
    if row is None:
        return None
    if row.body_hash != digest:
        raise KEY_REUSED
    item = await service.load(session, row.item_id)
    if item is None:  # pragma: no cover - items are never deleted
        raise NOT_FOUND
    return Submitted(item, created=False)


async def submit(
    session: AsyncSession,
    valid: forms.Validated,
    *,
    actor: Actor,
    citizen_id: int | None,
    channel: str,
    language: str,
    transcript: list[dict[str, str]] | None = None,
    verified: list[Verified] | None = None,
    idempotency: tuple[str, str, str] | None = None,
    key_checked: bool = False,
) -> Submitted:
    """Create the item for a validated form (or, for a dispute, reopen the disputed item).

    ``idempotency`` is (scope, key, body_hash). This commits on success and rolls back on a
    duplicate, so call it as the only write of its transaction. ``key_checked``: the caller has
    just looked the key up and found nothing (file_form does, before verifying), so it is not
    read again; a duplicate that lands in between still loses on the key's unique index below.
    """
    if idempotency is not None and not key_checked:
        scope, key, digest = idempotency
        found = await existing(session, scope, key, digest)
        if found is not None:
            return found
    data = {k: v for k, v in valid.data.items() if k != "verification_code"}  # never stored
    for match in verified or ():  # objects the form names, as their sources spell them
        data.update(match.data)
        citizen_id = citizen_id if citizen_id is not None else match.owner_id
    if valid.kind == "dispute":
        target = parse_reference(data["reference"])
        if target is None or citizen_id is None:
            raise NOT_FOUND
        item = await service.dispute(session, target, Actor(citizen_id, actor.label, "citizen"), data["reason"])
    elif (joined := await _join_target(session, valid.kind, data, citizen_id, verified or [])) is not None:
        item = await _join(session, joined, kind=valid.kind, actor=actor, data=data, citizen_id=citizen_id,
                           channel=channel, transcript=transcript)
        adapter = registry.adapter(joined.source_type)
        if adapter is not None:
            await adapter.joined(session, item, valid.kind)
    else:
        department = forms.department_for(valid.kind, data)
        assert department is not None
        item = await service.open_item(
            session, kind=valid.kind, department=department, actor=actor, data=data, citizen_id=citizen_id,
            subject=forms.subject_line(valid.kind, data), channel=channel, language=language,
            transcript=transcript,
        )
    if idempotency is not None:
        scope, key, digest = idempotency
        session.add(SubmissionKey(scope=scope, key=key, body_hash=digest, item_id=item.id))
        try:
            await session.flush()
        except IntegrityError:
            # A concurrent duplicate won the key: forget our item, answer with theirs.
            await session.rollback()
            found = await existing(session, scope, key, digest)
            if found is None:  # pragma: no cover - the winner rolled back after we lost: ask again
                raise KeyReused("请重试。", "Please retry.") from None
            return found
    await session.commit()
    return Submitted(item, created=True)


async def _join_target(session: AsyncSession, kind: str, data: dict[str, Any], citizen_id: int | None,
                       verified: list[Verified]) -> WorkItem | None:
    """The open item already doing this job in the same department, for the same citizen (one job, one item)."""
    department = forms.department_for(kind, data)
    for match in verified:
        adapter = registry.adapter(match.source_type)
        if adapter is None:
            continue
        item = await adapter.joins(session, kind, data, match)
        if (item is not None and item.is_open and item.department == department
                and item.citizen_id in (None, citizen_id)):
            return item
    return None


async def _join(session: AsyncSession, item: WorkItem, **kw: Any) -> WorkItem:
    """Join ``item``; if staff changed it at that very moment (its version moved on), read it again
    and join what it is now: the citizen's form is never refused for someone else's click."""
    for _attempt in range(3):
        try:
            return await service.join_item(session, item, **kw)
        except StaleItem:
            fresh = await service.load(session, item.id)
            if fresh is None or not fresh.is_open:
                break
            item = fresh
    raise StaleItem("您要办理的事项刚刚有变化,请重新提交。", "The item your request joins just changed; please send it again.")


# --- the use case -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Submitter:
    """Who files the form, as the caller resolved them."""

    actor: Actor
    citizen_id: int | None
    scope: str  # the namespace of their idempotency keys ("user:7", "service", "chat:<sender>")
    client_key: str  # the client, for failure counters ("ip:…", "chat:<sender>")


@dataclass(frozen=True)
class Submission:
    """What was sent, as raw as it came: every value is checked here."""

    kind: str
    data: Any
    channel: Any = "web"
    language: Any = None  # as sent; None: the caller's ``default_language``
    default_language: str = "zh"
    transcript: Any = None
    key: str | None = None  # the Idempotency-Key (None: no replay protection)

    @property
    def reply_language(self) -> str:
        return self.language if self.language in LANGUAGES else self.default_language


@dataclass(frozen=True)
class ClientLimit:
    """At most ``limit`` submissions per client ``keys`` in the throttle's window."""

    throttle: Throttle
    keys: list[str] = field(default_factory=list)
    limit: int = 5


async def file_form(session: AsyncSession, ctx: Any, sent: Submission, submitter: Submitter, *,
                    limit: ClientLimit | None = None) -> Submitted:
    """Submit a form: existing key? → validate → verify what it names → throttle → create.

    ``ctx`` is the application context handed to the source adapters' verifiers. Raises
    :class:`UnknownKind`, :class:`forms.FormInvalid` (every problem at once),
    :class:`CitizenRequired`, :class:`Throttled`, :class:`KeyReused` or another
    :class:`QueueError`; the session is rolled back after a refused write.
    """
    if forms.form_spec(sent.kind) is None:
        raise UnknownKind(f"没有这种表单:{sent.kind[:40]}。", f"unknown form kind {sent.kind[:40]!r}")
    language = sent.reply_language
    raw_data = sent.data if sent.data is not None else {}
    idempotency = None
    if sent.key is not None:
        digest = body_hash(sent.kind, raw_data, sent.channel, language, sent.transcript, submitter.citizen_id)
        idempotency = (submitter.scope, sent.key, digest)
        found = await existing(session, *idempotency)
        if found is not None:  # a replay: answer as before, without re-checking (dates may have passed)
            return found
    valid, transcript = _validate(sent, raw_data, identified=submitter.citizen_id is not None)
    if sent.kind == "dispute" and submitter.citizen_id is None:
        raise CITIZEN_REQUIRED
    await _release(session)
    verified = await verify_references(ctx, valid, submitter)
    if limit is not None:
        verdict = await limit.throttle.hit({key: limit.limit for key in limit.keys})  # counted before filing
        if verdict.refused:
            raise Throttled(verdict.retry_after)
    try:
        result = await submit(session, valid, actor=submitter.actor, citizen_id=submitter.citizen_id,
                              channel=sent.channel, language=language, transcript=transcript, verified=verified,
                              idempotency=idempotency, key_checked=True)
    except QueueError:
        await session.rollback()
        if limit is not None:
            await limit.throttle.refund(limit.keys)  # nothing was filed
        raise
    if limit is not None and not result.created:
        await limit.throttle.refund(limit.keys)  # a concurrent duplicate: the first one counted
    return result


async def _release(session: AsyncSession) -> None:
    """End the request session's read-only transaction, giving its pooled connection back, so
    that the checks that follow (the object's read, the counters) never wait for a second
    connection while this request holds one."""
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        await session.commit()


def _validate(sent: Submission, raw_data: Any, *, identified: bool) -> tuple[forms.Validated, list[dict[str, str]]]:
    errors: list[forms.FieldError] = []
    if sent.channel not in CHANNELS:
        errors.append(forms.FieldError("channel", "渠道应为 chat 或 web。", 'channel must be "chat" or "web".'))
    if sent.language not in (None, *LANGUAGES):
        errors.append(forms.FieldError("language", "语言应为 zh 或 en。", 'language must be "zh" or "en".'))
    transcript: list[dict[str, str]] = []
    try:
        transcript = forms.validate_transcript(sent.transcript)
    except forms.FormInvalid as exc:
        errors.extend(exc.errors)
    valid = None
    try:
        valid = forms.validate(sent.kind, raw_data, identified=identified)
    except forms.FormInvalid as exc:
        errors.extend(exc.errors)
    if errors or valid is None:
        raise forms.FormInvalid(errors)
    return valid, transcript


async def verify_references(ctx: Any, valid: forms.Validated, submitter: Submitter) -> list[Verified]:
    """Forms that name another domain's object: the submitter must hold its code, or own it.

    The one place a submission reaches the owner of what it names: each source adapter whose
    reference field the form fills decides. Raises FormInvalid (a field error to show),
    Throttled (too many wrong codes) or VerificationUnavailable (no adapter for a guarded field).
    """
    adapters = registry.verifiers_for(valid.data)
    spec = forms.form_spec(valid.kind)
    guarded = {f.name for f in spec.fields if f.required_unless_identified} if spec is not None else set()
    if guarded - {a.code_field for a in adapters}:  # a form that needs a check nobody registered
        raise NO_VERIFIER
    found: list[Verified] = []
    for adapter in adapters:
        assert adapter.reference_field is not None
        code = (valid.data.get(adapter.code_field) or None) if adapter.code_field else None
        claim = Claim(valid.data[adapter.reference_field], code, submitter.citizen_id, submitter.client_key)
        match = await adapter.verify(ctx, claim)
        if match is None:
            zh, en = adapter.refusal(claim)
            raise forms.FormInvalid([forms.FieldError(adapter.code_field or adapter.reference_field, zh, en)])
        found.append(dataclasses.replace(match, field=adapter.reference_field, source_type=adapter.source_type))
    return found


__all__ = ["CITIZEN_REQUIRED", "ClientLimit", "CitizenRequired", "KeyReused", "Submission", "Submitted", "Submitter",
           "UnknownKind", "VerificationUnavailable", "body_hash", "existing", "file_form", "submit", "verify_references"]
