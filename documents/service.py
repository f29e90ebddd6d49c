"""Uploading, listing, access checks and deletion of documents.

Consistency between the object store and the database:

* upload writes the object first, then the row (and its audit entry) in the caller's
  transaction. If the row cannot be written, the object is deleted before the error
  propagates; if the caller's transaction later rolls back, the object is deleted too
  (a rollback hook on the session). If the store is down, :class:`StorageUnavailable`
  ("try again") is raised before any row exists.
* delete removes the row (with an audit entry) in the caller's transaction and removes
  the objects only once that transaction has committed.

So a row never points at a missing object, and an object outlives its row only when the
process dies between the two steps (then it is an unreferenced object, not a broken link).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import anyio
import anyio.to_thread
from sqlalchemy import event, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from accounts.departments import Department
from accounts.models import User
from accounts.principal import Principal
from documents.errors import (
    AccessDenied,
    EmptyFile,
    ExtensionMismatch,
    FileTooLarge,
    InvalidUpload,
    QuotaExceeded,
    StorageUnavailable,
    SubjectNotFound,
    TypeNotAllowedForKind,
    UnsupportedFileType,
)
from documents.images import check_image, make_thumbnail
from documents.kinds import CITIZEN_KINDS, DocumentKind, FileType, SubjectType, Visibility
from documents.limits import DocumentLimits, get_limits
from documents.models import Document
from documents.sniff import FILE_TYPES, SNIFF_BYTES, describe_unknown, extension_of, sniff
from storage.audit import record_audit
from storage.events import hub
from storage.objects.names import sanitize_filename
from storage.objects.store import DocumentStore, ObjectData, new_storage_key, thumbnail_key

__all__ = [
    "MAX_ID",
    "OwnerCheck",
    "Subject",
    "SubjectGuards",
    "SubjectInfo",
    "SubjectResolver",
    "can_delete",
    "can_view",
    "delete_document",
    "get_document",
    "list_documents",
    "subject_guards",
    "upload",
    "upload_as_guest",
    "check_upload",
    "Guest",
    "used_bytes",
    "wait_for_cleanups",
]

log = logging.getLogger(__name__)

# Published in the caller's transaction so other domains can follow (e.g. the tracking page
# lists a step's documents without a second query).
DOCUMENT_ATTACHED = "document.attached"
DOCUMENT_REMOVED = "document.removed"

OwnerCheck = Callable[[Document, Principal], bool]

_HASH_CHUNK = 1024 * 1024
# Subject ids are BIGINT: anything outside is refused before it reaches the database.
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Subject:
    """What a document is attached to: a transfer, a step, a lot, a case or a work item."""

    type: SubjectType
    id: int

    @classmethod
    def of(cls, subject_type: str, subject_id: int | str) -> Subject:
        try:
            kind = SubjectType(subject_type)
        except ValueError:
            raise InvalidUpload(
                f"不能把文件附到“{subject_type}”上。",
                f"Documents cannot be attached to {subject_type!r}.",
                subject_type=subject_type,
            ) from None
        try:
            number = int(subject_id)
        except (TypeError, ValueError):
            number = 0
        if not 0 < number <= MAX_ID:
            raise InvalidUpload(
                "附件对象编号无效：应为正整数。",
                "The number of the item to attach to is not valid: it must be a positive whole number.",
            )
        return cls(kind, number)


@dataclass(frozen=True)
class SubjectInfo:
    """What the domain owning a subject says about it, for deciding who may attach what.

    ``owner_id``: the citizen it belongs to (the item's citizen, the transfer's buyer), who
    becomes the owner of every document attached to it; None when it is nobody's (a lot).
    ``departments``: whose staff act on it (the item's department, the step's department).
    ``public``: public by nature (a lot), the only subjects that may carry public documents.
    """

    owner_id: int | None
    departments: frozenset[str]
    public: bool = False


SubjectResolver = Callable[[AsyncSession, int], Awaitable[SubjectInfo | None]]


class SubjectGuards:
    """Who owns what, per subject type.

    Domain packages (title_transfer, backoffice, auction_listings…) own their subjects; the
    composition root registers a resolver for each subject type: ``resolver(session, id)``
    returns a :class:`SubjectInfo`, or None when there is no such subject. A subject type
    without a resolver is unknown to everyone (404).
    """

    def __init__(self) -> None:
        self._resolvers: dict[SubjectType, SubjectResolver] = {}

    def register(self, subject_type: SubjectType | str, resolver: SubjectResolver) -> None:
        self._resolvers[SubjectType(subject_type)] = resolver

    def clear(self) -> None:
        self._resolvers.clear()

    async def resolve(self, session: AsyncSession, subject: Subject) -> SubjectInfo | None:
        resolver = self._resolvers.get(subject.type)
        return None if resolver is None else await resolver(session, subject.id)


subject_guards = SubjectGuards()


# --- access -------------------------------------------------------------------------------------


def _is_owner(document: Document, principal: Principal, owner_check: OwnerCheck | None) -> bool:
    if owner_check is not None:
        return owner_check(document, principal)
    return document.owner_id is not None and document.owner_id == principal.user_id


def can_view(document: Document, principal: Principal | None, *, owner_check: OwnerCheck | None = None) -> bool:
    """public → anyone; owner → the owner, staff of the document's department, administrators;
    department → staff of that department, administrators.

    ``owner_check`` replaces the default "owner_id is this user" test where a domain knows
    better (for instance a buyer signed in by tracking number and verification code).
    """
    visibility = document.visibility
    if visibility == Visibility.public:
        return True
    if principal is None:
        return False
    if principal.is_admin:
        return True
    in_department = document.department is not None and principal.works_for(document.department)
    if visibility == Visibility.department:
        return in_department
    if visibility == Visibility.owner:
        return in_department or _is_owner(document, principal, owner_check)
    return False  # an unknown visibility is visible to nobody but administrators


def can_delete(document: Document, principal: Principal | None) -> bool:
    """Administrators; staff of the document's department; a citizen for what they uploaded."""
    if principal is None:
        return False
    if principal.is_admin:
        return True
    if principal.is_staff:
        return document.department is not None and principal.works_for(document.department)
    return document.uploaded_by == principal.user_id and document.visibility == Visibility.owner


# --- reading ------------------------------------------------------------------------------------


async def get_document(session: AsyncSession, document_id: int) -> Document | None:
    return await session.get(Document, document_id)


async def list_documents(
    session: AsyncSession,
    subject: Subject,
    principal: Principal | None,
    *,
    owner_check: OwnerCheck | None = None,
    kinds: Iterable[DocumentKind | str] | None = None,
) -> list[Document]:
    """The documents attached to ``subject`` that ``principal`` may see, oldest first."""
    stmt = select(Document).where(Document.subject_type == subject.type.value, Document.subject_id == subject.id)
    if kinds is not None:
        stmt = stmt.where(Document.kind.in_([DocumentKind(k).value for k in kinds]))
    rows = (await session.scalars(stmt.order_by(Document.created_at, Document.id))).all()
    return [doc for doc in rows if can_view(doc, principal, owner_check=owner_check)]


async def used_bytes(session: AsyncSession, user_id: int) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(Document.size), 0)).where(Document.uploaded_by == user_id)
    )
    return int(total or 0)


# --- upload -------------------------------------------------------------------------------------

def _as_file(data: ObjectData) -> tuple[IO[bytes], int]:
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(data)), len(data)
    data.seek(0, os.SEEK_END)
    size = data.tell()
    data.seek(0)
    return data, size


def _sha256(fp: IO[bytes]) -> str:
    fp.seek(0)
    digest = hashlib.sha256()
    while chunk := fp.read(_HASH_CHUNK):
        digest.update(chunk)
    fp.seek(0)
    return digest.hexdigest()


def _parse_kind(kind: DocumentKind | str) -> DocumentKind:
    try:
        return DocumentKind(kind)
    except ValueError:
        raise InvalidUpload(f"未知的文件类别“{kind}”。", f"Unknown document kind {kind!r}.", kind=str(kind)) from None


def _parse_visibility(visibility: Visibility | str) -> Visibility:
    try:
        return Visibility(visibility)
    except ValueError:
        raise InvalidUpload(
            "可见范围只能是本人、部门或公开。",
            "Visibility must be owner, department or public.",
            visibility=str(visibility),
        ) from None


def _parse_department(department: str | None) -> str | None:
    if department in (None, ""):
        return None
    try:
        return Department(department).value
    except ValueError:
        raise InvalidUpload(
            f"未知的部门“{department}”。", f"Unknown department {department!r}.", department=str(department)
        ) from None


def _handling_department(info: SubjectInfo, department: str | None) -> str | None:
    """The department an upload is for: the one named (it must handle the subject), else the
    subject's only department, else none."""
    if department is None:
        return next(iter(info.departments)) if len(info.departments) == 1 else None
    if department not in info.departments:
        raise InvalidUpload(
            "这个事项不由所选部门办理。", "The department chosen does not handle this item.", department=department
        )
    return department


async def _authorise(
    session: AsyncSession,
    principal: Principal,
    subject: Subject,
    kind: DocumentKind,
    visibility: Visibility,
    department: str | None,
    guards: SubjectGuards,
    limits: DocumentLimits,
) -> tuple[str | None, int | None]:
    """Check who may upload what where; return the (department, owner_id) to store.

    The owner always comes from the subject, never from the request."""
    info = await guards.resolve(session, subject)
    if info is None:
        raise SubjectNotFound()
    if visibility == Visibility.public and not info.public:
        raise AccessDenied(
            "只有拍卖标的等公开事项的文件可以公开；这个事项的文件只对当事人和办理部门可见。",
            "Only documents of something public by nature (a lot) can be public; this item's documents are seen "
            "by the person concerned and the departments handling it.",
        )

    if principal.is_admin or principal.is_staff:
        if principal.is_staff:
            if department is not None and department != principal.department:
                raise AccessDenied("您只能为本部门上传文件。", "You can only upload documents for your own department.")
            department = principal.department
            if department not in info.departments:
                raise AccessDenied(
                    "这个事项不由您所在的部门办理，您不能向它添加文件。",
                    "This item is handled by another department; you cannot add documents to it.",
                )
        else:
            department = _handling_department(info, department)
        rule = limits.rule(kind)
        if department is not None and not rule.issuable_by(department):
            raise AccessDenied(
                f"{rule.zh}只能由出具它的部门上传，您所在的部门不能上传。",
                f"A {rule.en} is uploaded by the department that issues it; yours does not.",
            )
        if visibility == Visibility.department and department is None:
            raise InvalidUpload("“部门可见”的文件必须指定部门。", "A department-only document needs a department.")
        return department, info.owner_id

    if kind not in CITIZEN_KINDS:
        raise InvalidUpload(
            "这类文件由办理部门出具和上传。您可以上传身份证明、合同、证据材料或其他材料。",
            "Documents of this kind are issued and uploaded by the department. You can upload an ID copy, "
            "a contract, evidence or another document.",
            kind=kind.value,
        )
    if visibility != Visibility.owner:
        raise InvalidUpload(
            "您上传的文件只对您本人和办理部门可见。",
            "What you upload is visible to you and the handling department only.",
        )
    if info.owner_id is None or info.owner_id != principal.user_id:
        raise AccessDenied(
            "您不能向这个事项添加文件。请从您自己的办理事项页面上传。",
            "You cannot add documents to this item. Upload from the page of your own transfer, case or request.",
        )
    return _handling_department(info, department), principal.user_id


async def _hold_quota(session: AsyncSession, user_id: int) -> None:
    """Serialise one person's uploads until the caller's transaction ends, so that the quota
    check and the insert that follows cannot interleave with another upload of theirs.

    PostgreSQL: a row lock on the uploader's account. SQLite: a write takes the database's
    single writer lock (and starts the transaction, so the sum read next is current)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(User.id).where(User.id == user_id).with_for_update())
    else:
        await session.execute(text("UPDATE user_account SET id = id WHERE id = :id"), {"id": user_id})


async def _check_file(kind_: DocumentKind, filename: str, data: ObjectData,
                      limits: DocumentLimits) -> tuple[IO[bytes], int, FileType, str]:
    """Size, sniffed type, extension and (images) pixels: what every upload must pass."""
    fp, size = _as_file(data)
    rule = limits.rule(kind_)
    if size == 0:
        raise EmptyFile()
    if size > rule.max_bytes:
        raise FileTooLarge(size=size, limit=rule.max_bytes, kind_zh=rule.zh, kind_en=rule.en)

    head = fp.read(SNIFF_BYTES)
    fp.seek(0)
    file_type = sniff(head)
    if file_type is None:
        zh, en = describe_unknown(head)
        raise UnsupportedFileType(looks_like_zh=zh, looks_like_en=en)
    info = FILE_TYPES[file_type]
    if file_type not in rule.types:
        raise TypeNotAllowedForKind(
            actual=info.label_en,
            actual_zh=info.label_zh,
            allowed=[FILE_TYPES[t].type.value.upper() for t in rule.types],
            kind_zh=rule.zh,
            kind_en=rule.en,
        )
    display_name = sanitize_filename(filename, fallback=kind_.value, max_chars=limits.max_name_chars)
    extension = extension_of(display_name)
    if extension not in info.extensions:
        raise ExtensionMismatch(
            extension=extension,
            actual=info.label_en,
            actual_zh=info.label_zh,
            expected_extensions=list(info.extensions),
        )

    is_image = file_type in (FileType.jpeg, FileType.png)
    if is_image:
        await anyio.to_thread.run_sync(lambda: check_image(fp, file_type, max_pixels=limits.max_image_pixels))

    return fp, size, file_type, display_name


async def check_upload(kind: DocumentKind | str, filename: str, data: ObjectData, *,
                       limits: DocumentLimits | None = None) -> None:
    """Would this file be accepted as ``kind`` (size, type sniffed from the bytes, extension,
    image size)? Raises the DocumentError an upload would, before anything is filed."""
    await _check_file(_parse_kind(kind), filename, data, limits or get_limits())


async def _store(session: AsyncSession, store: DocumentStore, subject: Subject, fp: IO[bytes], size: int,
                 file_type: FileType, display_name: str, kind_: DocumentKind, visibility_: Visibility, department_: str | None, *,
                 owner: int | None, actor_id: int | None, actor_label: str, uploaded_by: int | None,
                 limits: DocumentLimits, guest_key: str | None = None) -> Document:
    info = FILE_TYPES[file_type]
    is_image = file_type in (FileType.jpeg, FileType.png)
    digest = await anyio.to_thread.run_sync(_sha256, fp)
    thumbnail: bytes | None = None
    if is_image and kind_ == DocumentKind.lot_photo:
        thumbnail = await anyio.to_thread.run_sync(
            lambda: make_thumbnail(
                fp,
                file_type,
                max_px=limits.thumbnail_max_px,
                quality=limits.thumbnail_quality,
                max_pixels=limits.max_image_pixels,
            )
        )

    key = new_storage_key()
    thumb_key = thumbnail_key(key) if thumbnail is not None else None
    written: list[str] = []
    try:
        await store.put(key, fp, size=size, content_type=info.content_type)
        written.append(key)
        if thumbnail is not None and thumb_key is not None:
            await store.put(thumb_key, thumbnail, size=len(thumbnail), content_type="image/jpeg")
            written.append(thumb_key)
        document = Document(
            owner_id=owner,
            subject_type=subject.type.value,
            subject_id=subject.id,
            kind=kind_.value,
            original_name=display_name,
            content_type=info.content_type,
            size=size,
            sha256=digest,
            storage_key=key,
            visibility=visibility_.value,
            department=department_,
            thumbnail_key=thumb_key,
            uploaded_by=uploaded_by,
            guest_key=guest_key,
        )
        session.add(document)
        await session.flush()
        record_audit(
            session,
            actor_id=actor_id,
            actor_label=actor_label,
            subject_type="document",
            subject_id=document.id,
            action="document.upload",
            after=_audit_view(document),
        )
        await session.flush()
        await hub.publish(session, DOCUMENT_ATTACHED, {"document_id": document.id, **_audit_view(document)})
    except BaseException as exc:
        # Nothing may stay in the store without its row. If the store itself failed, the
        # object may be half-known to it; try anyway, it costs one request.
        with anyio.CancelScope(shield=True):
            await _discard(store, [key, *([thumb_key] if thumb_key else [])], reason=type(exc).__name__)
        if isinstance(exc, StorageUnavailable):
            log.warning("document upload refused, store unavailable: %s", exc.detail)
        raise
    _delete_if_rolled_back(session, store, document, written)
    return document


@dataclass(frozen=True)
class Guest:
    """Someone without an account whom the calling domain has checked (e.g. a case's party who
    proved case number + ID number + query code). ``key`` is what their quota counts (the same
    citizen quota as an account's), ``label`` what the audit log names."""

    key: str
    label: str


async def _hold_guest_quota(session: AsyncSession, key: str) -> None:
    """As :func:`_hold_quota`, for a guest: a transaction-scoped advisory lock on the key
    (PostgreSQL); SQLite's single writer lock (a write starts the transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"document-guest:{key}"})
    else:
        await session.execute(text("UPDATE document SET id = id WHERE guest_key = :k"), {"k": key})


async def upload_as_guest(
    session: AsyncSession,
    store: DocumentStore,
    guest: Guest,
    subject: Subject,
    kind: DocumentKind | str,
    filename: str,
    data: ObjectData,
    *,
    guards: SubjectGuards | None = None,
    limits: DocumentLimits | None = None,
) -> Document:
    """A citizen's upload without an account: the same kinds, sizes, type sniffing and quota as
    :func:`upload` by a citizen (the quota counted per ``guest.key``), visible to the departments
    handling the subject (the guest, having no account, cannot open it again). The caller has
    checked the guest's right to the subject and commits."""
    limits = limits or get_limits()
    guards = guards if guards is not None else subject_guards
    kind_ = _parse_kind(kind)
    info = await guards.resolve(session, subject)
    if info is None:
        raise SubjectNotFound()
    if kind_ not in CITIZEN_KINDS:
        raise InvalidUpload(
            "这类文件由办理部门出具和上传。您可以上传身份证明、合同、证据材料或其他材料。",
            "Documents of this kind are issued and uploaded by the department. You can upload an ID copy, "
            "a contract, evidence or another document.",
            kind=kind_.value,
        )
    fp, size, file_type, display_name = await _check_file(kind_, filename, data, limits)
    await _hold_guest_quota(session, guest.key)
    used = int(await session.scalar(
        select(func.coalesce(func.sum(Document.size), 0)).where(Document.guest_key == guest.key)) or 0)
    if used + size > limits.citizen_quota_bytes:
        raise QuotaExceeded(used=used, size=size, quota=limits.citizen_quota_bytes)
    return await _store(session, store, subject, fp, size, file_type, display_name, kind_, Visibility.owner,
                        _handling_department(info, None), owner=None, actor_id=None, actor_label=guest.label,
                        uploaded_by=None, limits=limits, guest_key=guest.key)


async def upload(
    session: AsyncSession,
    store: DocumentStore,
    principal: Principal,
    subject: Subject,
    kind: DocumentKind | str,
    filename: str,
    data: ObjectData,
    visibility: Visibility | str = Visibility.owner,
    department: str | None = None,
    *,
    guards: SubjectGuards | None = None,
    limits: DocumentLimits | None = None,
) -> Document:
    """Validate, store and record one document; return the flushed :class:`Document` row.

    Who may attach what is decided from the subject (see :class:`SubjectInfo`): staff only to
    subjects their department handles and only kinds it issues; citizens only to their own
    subjects; the document's owner is the subject's. The caller commits. Raises a
    :class:`~documents.errors.DocumentError` subclass
    whose message says what to fix.
    """
    limits = limits or get_limits()
    guards = guards if guards is not None else subject_guards
    kind_ = _parse_kind(kind)
    visibility_ = _parse_visibility(visibility)
    department_ = _parse_department(department)
    if visibility_ == Visibility.public and not (principal.is_staff or principal.is_admin):
        raise AccessDenied("只有办理部门可以发布公开文件。", "Only departments can publish public documents.")
    department_, owner = await _authorise(session, principal, subject, kind_, visibility_, department_, guards, limits)

    fp, size, file_type, display_name = await _check_file(kind_, filename, data, limits)

    if not (principal.is_staff or principal.is_admin):
        await _hold_quota(session, principal.user_id)
        used = await used_bytes(session, principal.user_id)
        if used + size > limits.citizen_quota_bytes:
            raise QuotaExceeded(used=used, size=size, quota=limits.citizen_quota_bytes)

    return await _store(session, store, subject, fp, size, file_type, display_name, kind_, visibility_, department_,
                        owner=owner, actor_id=principal.user_id, actor_label=principal.label,
                        uploaded_by=principal.user_id, limits=limits)


def _audit_view(document: Document) -> dict[str, Any]:
    return {
        "subject_type": document.subject_type,
        "subject_id": document.subject_id,
        "kind": document.kind,
        "name": document.original_name,
        "content_type": document.content_type,
        "size": document.size,
        "sha256": document.sha256,
        "visibility": document.visibility,
        "department": document.department,
        "owner_id": document.owner_id,
    }


# --- deletion -----------------------------------------------------------------------------------


async def delete_document(
    session: AsyncSession, store: DocumentStore, principal: Principal, document: Document
) -> None:
    """Delete the row now (caller commits); the objects go once the commit has happened."""
    if not can_delete(document, principal):
        raise AccessDenied("您无权删除这个文件。", "You are not allowed to delete this document.")
    keys = [document.storage_key, *([document.thumbnail_key] if document.thumbnail_key else [])]
    record_audit(
        session,
        actor_id=principal.user_id,
        actor_label=principal.label,
        subject_type="document",
        subject_id=document.id,
        action="document.delete",
        before=_audit_view(document),
    )
    await session.delete(document)
    await session.flush()
    await hub.publish(session, DOCUMENT_REMOVED, {"document_id": document.id, **_audit_view(document)})
    _delete_after_commit(session, store, document, keys)


# --- object clean-up tied to the caller's transaction --------------------------------------------

_pending: set[asyncio.Task[None]] = set()


async def _discard(store: DocumentStore, keys: Sequence[str], *, reason: str) -> None:
    for key in keys:
        try:
            await store.delete(key)
        except Exception as exc:  # the store may be the thing that failed
            log.error("could not remove document object %s after %s: %s (orphan object)", key, reason, exc)


def _schedule_discard(store: DocumentStore, keys: Sequence[str], reason: str) -> None:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        log.error("no event loop to remove document objects %s after %s (orphan objects)", keys, reason)
        return
    task = loop.create_task(_discard(store, list(keys), reason=reason))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def wait_for_cleanups() -> None:
    """Wait until scheduled object removals have finished (tests, graceful shutdown; wrap in
    ``anyio.fail_after`` to bound it). Removals scheduled on another event loop (a test
    client's) are polled; those on a loop that has closed are given up and logged."""
    loop = asyncio.get_running_loop()
    while _pending:
        for task in [t for t in _pending if t.get_loop().is_closed()]:
            log.error("document object removal abandoned: its event loop closed (orphan objects)")
            _pending.discard(task)
        here = [task for task in _pending if task.get_loop() is loop]
        if here:
            await asyncio.wait(here)
        elif _pending:
            await asyncio.sleep(0.01)


# Per-session bookkeeping in ``session.info``; one pair of listeners per session.
_UPLOADED = "documents.uploaded"  # [(store, document, keys)] written in the open transaction
_DELETED = "documents.deleted"  # [(store, document, keys)] to remove once the deletion commits


def _watch(session: AsyncSession) -> dict[str, Any]:
    sync_session = session.sync_session
    info = sync_session.info
    if _UPLOADED not in info:
        info[_UPLOADED] = []
        info[_DELETED] = []
        event.listen(sync_session, "after_soft_rollback", _after_soft_rollback)
        event.listen(sync_session, "after_commit", _after_commit)
    return info


def _after_soft_rollback(sess: Session, previous_transaction: Any) -> None:
    keep = []
    for store, document, keys in sess.info.get(_UPLOADED, []):
        if inspect(document).persistent:
            keep.append((store, document, keys))  # a savepoint that did not hold the row rolled back
        else:
            _schedule_discard(store, keys, "rollback")
    sess.info[_UPLOADED] = keep
    if not sess.in_transaction():
        sess.info[_DELETED] = []  # the deletions never happened


def _after_commit(sess: Session) -> None:
    sess.info[_UPLOADED] = []
    deleted, sess.info[_DELETED] = sess.info.get(_DELETED, []), []
    for store, document, keys in deleted:
        if inspect(document).was_deleted:  # not undone by a savepoint rollback
            _schedule_discard(store, keys, "delete")


def _delete_if_rolled_back(session: AsyncSession, store: DocumentStore, document: Document, keys: list[str]) -> None:
    _watch(session)[_UPLOADED].append((store, document, list(keys)))


def _delete_after_commit(session: AsyncSession, store: DocumentStore, document: Document, keys: list[str]) -> None:
    _watch(session)[_DELETED].append((store, document, list(keys)))
