"""Document downloads and uploads over HTTP.

Wiring (done by the composition root, portal.app):

* the app's context holds the :class:`~documents.DocumentStore`;
  :func:`kernel.deps.provide_document_store` hands it to the handlers as ``document_store``.
* a ``db_session`` dependency (advanced-alchemy's SQLAlchemy plugin provides it);
* ``request.user`` / ``scope["user"]`` is a :class:`~accounts.principal.Principal` or None;
* errors are :class:`~documents.DocumentError` (the bilingual family), rendered by the
  kernel's one exception handler: JSON, the htmx fragment, or a page;
* optionally ``app.state.document_owner_check`` (an ``OwnerCheck``) when a domain knows
  better than ``owner_id`` who owns a document.

Register :class:`DocumentController` in the app's route handlers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, MultipartBody
from litestar.response import Redirect, Stream, Template
from litestar.status_codes import HTTP_201_CREATED, HTTP_303_SEE_OTHER, HTTP_304_NOT_MODIFIED
from sqlalchemy.ext.asyncio import AsyncSession

from documents import (
    AccessDenied,
    Document,
    DocumentNotFound,
    DocumentStore,
    InvalidUpload,
    ObjectNotFound,
    OwnerCheck,
    Subject,
    SubjectType,
    Visibility,
    can_delete,
    can_view,
    content_disposition,
    delete_document,
    get_document,
    get_limits,
    list_documents,
    upload,
)
from documents.service import MAX_ID
from kernel.auth import principal_of
from kernel.deps import provide_document_store
from kernel.errors import BilingualError, exception_handler, remember_error_next
from storage.context import DbSession
from storage.ids import RowId

__all__ = [
    "DocumentController",
    "UploadForm",
    "provide_document_store",
    "ViewerHook",
    "ViewerHooks",
    "viewer_hooks",
]

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# The largest document plus room for the multipart envelope and the other form fields.
MAX_UPLOAD_REQUEST_BYTES = get_limits().largest_upload_bytes + MIB


def _document_store(state: State) -> DocumentStore:
    return provide_document_store(state)  # type: ignore[no-any-return]


# The store, injected by name from :func:`provide_document_store`.
StoreDependency = NamedDependency[DocumentStore]

ViewerHook = Callable[[Request[Any, Any, Any], AsyncSession, Document], Awaitable[bool]]


class ViewerHooks:
    """Extra ways to be allowed to see an *owner* document, per subject type.

    The signed-in principal rules (:func:`documents.can_view`) come first. A domain
    whose citizens may prove access without an account registers a hook here: for example
    title_transfer lets whoever holds the tracking grant cookie of a transfer download the
    owner documents on that transfer and its steps. Department-only documents never pass
    through hooks.
    """

    def __init__(self) -> None:
        self._hooks: dict[SubjectType, list[ViewerHook]] = {}

    def register(self, subject_type: SubjectType | str, hook: ViewerHook) -> None:
        hooks = self._hooks.setdefault(SubjectType(subject_type), [])
        if hook not in hooks:
            hooks.append(hook)

    def clear(self) -> None:
        self._hooks.clear()

    async def allows(self, request: Request[Any, Any, Any], session: AsyncSession, document: Document) -> bool:
        if document.visibility != Visibility.owner:
            return False
        for hook in self._hooks.get(SubjectType(document.subject_type), ()):
            if await hook(request, session, document):
                return True
        return False


viewer_hooks = ViewerHooks()


@dataclasses.dataclass
class UploadForm:
    """The upload form. Everything is a string so that mistakes come back as a message the
    person can act on (in their language) rather than a bare validation error."""

    file: UploadFile | None = None
    kind: str = ""
    subject_type: str = ""
    subject_id: str = ""
    visibility: str = Visibility.owner.value
    department: str = ""
    next: str = ""  # where a plain (no-JS) form returns to


# --- helpers ---------------------------------------------------------------------------------------


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request", "").lower() == "true"


def _safe_next(value: str) -> str | None:
    """Only same-site paths: ``/tracking/12``, never ``//evil.example`` or ``https://…``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    if re.search(r"[\x00-\x1f\x7f]", value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def _owner_check(request: Request[Any, Any, Any]) -> OwnerCheck | None:
    return request.app.state.get("document_owner_check")


def _cache_control(document: Document) -> str:
    if document.visibility == Visibility.public and document.subject_type == SubjectType.lot:
        return f"public, max-age={get_limits().public_cache_seconds}"
    return "private, no-store"


async def _visible_document(
    request: Request[Any, Any, Any], db_session: DbSession, document_id: FromPath[int]
) -> Document:
    # Ids outside BIGINT cannot exist; they must not reach the database driver (OverflowError).
    document = await get_document(db_session, document_id) if 0 < document_id <= MAX_ID else None
    # The same answer whether it does not exist or may not be seen: ids are not an oracle.
    if document is None:
        raise DocumentNotFound()
    if can_view(document, principal_of(request), owner_check=_owner_check(request)):
        return document
    if await viewer_hooks.allows(request, db_session, document):
        return document
    raise DocumentNotFound()


def _download_headers(document: Document, *, filename: str) -> dict[str, str]:
    return {
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": _cache_control(document),
        "ETag": f'"{document.sha256}"',
        "Referrer-Policy": "no-referrer",
    }


# --- the controller --------------------------------------------------------------------------------


class DocumentController(Controller):
    path = "/documents"
    tags = ["documents"]
    # Declared here as well so the controller can be mounted on its own (a test app of documents).
    dependencies = {"document_store": Provide(_document_store, sync_to_thread=False)}
    # The kernel's one handler, also when this controller is mounted on its own (tests): JSON for
    # API clients, this fragment for htmx, the upload page for a plain form that gave ``next``.
    exception_handlers = {BilingualError: exception_handler}  # documents' and the store's refusals
    opt = {"json_errors": True, "error_fragment": "documents/_upload_error.html",
           "error_page_with_next": "documents/upload_error.html"}

    @get("/{document_id:int}", name="documents:download")
    async def download(
        self,
        request: Request[Any, Any, Any],
        document_id: RowId,
        db_session: DbSession,
        document_store: StoreDependency,
    ) -> Response:
        """Check access for the person asking, then redirect to a short-lived presigned URL
        (S3) or stream the file through the portal (local folder)."""
        document = await _visible_document(request, db_session, document_id)
        return await _serve(request, document_store, document, key=document.storage_key)

    @get("/{document_id:int}/thumbnail", name="documents:thumbnail")
    async def thumbnail(
        self,
        request: Request[Any, Any, Any],
        document_id: RowId,
        db_session: DbSession,
        document_store: StoreDependency,
    ) -> Response:
        document = await _visible_document(request, db_session, document_id)
        if document.thumbnail_key is None:
            raise DocumentNotFound()
        return await _serve(request, document_store, document, key=document.thumbnail_key, thumbnail=True)

    @get("/", name="documents:list")
    async def list_for_subject(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        subject_type: FromQuery[str],
        subject_id: FromQuery[str],  # parsed by Subject.of: "not a whole number" in the person's words
    ) -> Response:
        """The documents on one subject that the person asking may see (htmx fragment or JSON)."""
        subject = Subject.of(subject_type, subject_id)
        principal = principal_of(request)
        documents = await list_documents(db_session, subject, principal, owner_check=_owner_check(request))
        if _is_htmx(request):
            return Template(
                template_name="documents/_list.html",
                context={
                    "documents": documents,
                    "deletable": {d.id for d in documents if can_delete(d, principal)},
                },
                headers={"Cache-Control": "private, no-store"},
            )
        return Response(
            content={"documents": [d.public_dict() for d in documents]},
            headers={"Cache-Control": "private, no-store"},
        )

    @post("/", name="documents:upload", request_max_body_size=MAX_UPLOAD_REQUEST_BYTES, status_code=HTTP_201_CREATED)
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: MultipartBody[UploadForm],
        db_session: DbSession,
        document_store: StoreDependency,
    ) -> Response:
        """Multipart upload. Answers an htmx fragment (``HX-Request``), a 303 back to ``next``
        for a plain form, or JSON for API clients."""
        next_url = _safe_next(data.next)
        remember_error_next(request, next_url)
        principal = principal_of(request)
        try:
            if principal is None:
                raise AccessDenied("请先登录再上传文件。", "Sign in before uploading documents.")
            if data.file is None or not data.file.filename:
                raise InvalidUpload("请选择要上传的文件。", "Choose a file to upload.")
            subject = Subject.of(data.subject_type, data.subject_id)
            # The owner is the subject's (the item's citizen, the transfer's buyer), never the form's.
            document = await upload(
                db_session,
                document_store,
                principal,
                subject,
                data.kind,
                data.file.filename,
                data.file.file,
                data.visibility or Visibility.owner.value,
                data.department or None,
            )
            await db_session.commit()
        finally:
            if data.file is not None:
                await data.file.close()

        if _is_htmx(request):
            return Template(
                template_name="documents/_uploaded.html",
                context={"document": document, "deletable": True},
                status_code=HTTP_201_CREATED,
                headers={"HX-Trigger": "document-uploaded", "Cache-Control": "no-store"},
            )
        if next_url:
            return Redirect(path=next_url, status_code=HTTP_303_SEE_OTHER)
        return Response(content=document.public_dict(), status_code=HTTP_201_CREATED)

    @post("/{document_id:int}/delete", name="documents:delete", status_code=200)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        document_id: RowId,
        db_session: DbSession,
        document_store: StoreDependency,
        next: FromQuery[str] = "",  # noqa: A002
    ) -> Response:
        """Delete a document (form POST or ``hx-post``); the object goes after the commit."""
        next_url = _safe_next(next)
        remember_error_next(request, next_url)
        principal = principal_of(request)
        document = await _visible_document(request, db_session, document_id)
        if principal is None:
            raise DocumentNotFound()
        await delete_document(db_session, document_store, principal, document)
        await db_session.commit()
        if _is_htmx(request):
            return Response(content="", media_type="text/html", headers={"HX-Trigger": "document-deleted"})
        if next_url:
            return Redirect(path=next_url, status_code=HTTP_303_SEE_OTHER)
        return Response(content={"deleted": document_id})


async def _serve(
    request: Request[Any, Any, Any],
    store: DocumentStore,
    document: Document,
    *,
    key: str,
    thumbnail: bool = False,
) -> Response:
    limits = get_limits()
    filename = document.original_name
    content_type = document.content_type
    if thumbnail:
        stem = filename.rsplit(".", 1)[0]
        filename, content_type = f"{stem}-thumbnail.jpg", "image/jpeg"
    cache_control = _cache_control(document)

    url = await store.presigned_get_url(
        key,
        expires=dt.timedelta(seconds=limits.presign_seconds),
        filename=filename,
        content_type=content_type,
        cache_control=cache_control,
    )
    if url is not None:
        # The link itself is short-lived and personal: never cache the redirect.
        return Redirect(
            path=url,
            status_code=302,
            headers={"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"},
        )

    headers = _download_headers(document, filename=filename)
    if thumbnail:
        headers["ETag"] = f'"{document.sha256}-thumb"'
    if request.headers.get("if-none-match") == headers["ETag"] and cache_control.startswith("public"):
        return Response(content=b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    try:
        chunks = await store.stream(key)
        if not thumbnail:
            headers["Content-Length"] = str(document.size)
    except ObjectNotFound:
        log.error("document %s has a row but no object under %s", document.id, key)
        raise DocumentNotFound() from None
    return Stream(content=chunks, media_type=content_type, headers=headers)
