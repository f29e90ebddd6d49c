"""Clues from a case's page (财产线索, 拒执线索) into the court's queue.

A composition-root controller: it checks access with the cases domain and files the form
through the queue's one form use case (``backoffice.submissions.file_form``), so the clue is
the same item, validated by the same schema, as one sent from the chat or the generic form.
The page's form proves the sender is the case's party with a short-lived signed proof (in
the form's ``verification_code``, never stored). Evidence files are attached to the new item
through the documents domain's published interface: checked first (size, type sniffed from the
bytes, extension: a refused file sends nothing and says why), then stored as the signed-in
person's upload, or — for a party who reached the case with case number + ID number + query
code and has no account — as a guest upload whose quota counts per case party
(``documents.upload_as_guest``). Staff see them on the queue item.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from backoffice import forms, submissions
from backoffice.controllers.common import View, new_form_key
from backoffice.records import Actor
from cases.access import clue_proof
from cases.controllers import CLUE_KINDS, case_for
from documents import (
    DocumentError,
    DocumentKind,
    Guest,
    StorageUnavailable,
    Subject,
    SubjectType,
    Visibility,
    check_upload,
    upload,
    upload_as_guest,
)
from kernel.auth import auth_of, principal_of
from kernel.deps import Lang, Settings, ThrottleDep, app_context, request_lang
from kernel.errors import (
    BilingualError,
    FieldError,
    FormInvalid,
    db_session_of,
    error_view,
    field_errors_of,
    page_status,
)
from storage.context import DbSession

HIDDEN = ("case_number", "verification_code")  # filled by the server from the case the page shows
MAX_FILES = 5


def _spec(kind: str) -> forms.FormSpec:
    spec = forms.form_spec(kind, identified=True) if kind in CLUE_KINDS else None
    if spec is None:
        raise NotFoundException()
    return spec


def _context(request: Request[Any, Any, Any], case: Any, kind: str, values: dict[str, str], key: str,
             errors: list[forms.FieldError] | None = None, notice: str | None = None) -> dict[str, Any]:
    spec = _spec(kind)
    v = View(request_lang(request))
    return {"spec": spec, "fields": [f for f in spec.fields if f.name not in HIDDEN], "case": case,
            "values": values, "key": key, "errors": v.field_errors(errors or []), "notice": notice, "v": v,
            "max_files": MAX_FILES}


async def _values(request: Request[Any, Any, Any]) -> tuple[dict[str, str], str, list[UploadFile]]:
    form = await request.form()
    # "evidence" is the file input: a browser sends it as an empty text part when no file is chosen
    values = {k: str(v) for k, v in form.items()
              if isinstance(v, str) and not k.startswith("_") and k not in HIDDEN and k != "evidence"}
    key = str(form.get("_key") or "")[:200] or new_form_key()
    files = [f for f in form.getall("evidence") if isinstance(f, UploadFile) and f.filename] if "evidence" in form \
        else []
    return values, key, files


async def _refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The clue form again, as typed, with the refusal (too many, a conflict) above it."""
    found = await case_for(request, db_session_of(request), int(request.path_params["case_id"]))
    if found is None:
        return Redirect("/cases", status_code=303)
    values, key, _ = await _values(request)
    errors = field_errors_of(exc)
    if errors:  # each message beside its field
        return Template("cases/clue.html", status_code=page_status(exc),
                        context=_context(request, found[0].case, request.path_params["kind"], values, key, errors))
    return Template("cases/clue.html", status_code=exc.status_code, headers=exc.headers,
                    context=_context(request, found[0].case, request.path_params["kind"], values, key,
                                     notice=exc.message(request_lang(request))))


class CaseCluesController(Controller):
    path = "/cases/{case_id:int}/clues"
    include_in_schema = False

    @get("/{kind:str}", name="cases.clue_form")
    async def form(self, request: Request[Any, Any, Any], db_session: DbSession, case_id: FromPath[int],
                   kind: FromPath[str]) -> Response[Any]:
        _spec(kind)
        found = await case_for(request, db_session, case_id)
        if found is None:
            return Redirect("/cases", status_code=303)
        return Template("cases/clue.html", context=_context(request, found[0].case, kind, {}, new_form_key()))

    @post("/{kind:str}", name="cases.clue_send", status_code=303, opt=error_view(_refused),
          request_max_body_size=MAX_FILES * 21 * 1024 * 1024)
    async def send(self, request: Request[Any, Any, Any], db_session: DbSession, lang: Lang, settings: Settings,
                   throttle: ThrottleDep, case_id: FromPath[int], kind: FromPath[str]) -> Response[Any]:
        _spec(kind)
        found = await case_for(request, db_session, case_id)
        if found is None:
            return Redirect("/cases", status_code=303)
        case, viewer = found[0].case, found[1]
        values, key, files = await _values(request)
        if len(files) > MAX_FILES:
            raise FormInvalid([FieldError("evidence", f"最多附 {MAX_FILES} 个文件。", f"Attach at most {MAX_FILES} files.")])
        assert viewer.party_id is not None  # the public page is for parties only
        contents = []
        for f in files:  # every file checked before anything is filed: a refused one sends nothing
            body = await f.read()
            try:
                await check_upload(DocumentKind.evidence, f.filename, body)
            except DocumentError as exc:  # the form again, the file's name and reason beside its input
                raise FormInvalid([FieldError("evidence", f"{f.filename[:80]}:{exc.message_zh}",
                                              f"{f.filename[:80]}: {exc.message_en}")],
                                  page_status=exc.status_code) from exc
            contents.append((f.filename, body))
        data = {**values, "case_number": case.case_number,
                "verification_code": clue_proof(settings.secret_key, case.id, viewer.party_id)}
        principal = principal_of(request)
        client = auth_of(request).client_key
        if principal is not None:
            submitter = submissions.Submitter(Actor.citizen(principal.user_id, principal.label), principal.user_id,
                                              f"user:{principal.user_id}", client)
        else:
            submitter = submissions.Submitter(Actor.citizen(None, f"case-party:{viewer.party_id}"), None,
                                              f"case:{case.id}p{viewer.party_id}", client)
        sent = submissions.Submission(kind=kind, data=data, channel="web", default_language=lang, key=key)
        limit = submissions.ClientLimit(throttle, [f"clue:client:{client}"], limit=throttle.limit * 2)
        # FormInvalid, Throttled and QueueErrors → _refused, after the kernel's rollback
        result = await submissions.file_form(db_session, app_context(request.app.state), sent, submitter, limit=limit)
        ref = result.item.reference
        if contents and result.created:
            store = app_context(request.app.state).document_store
            subject = Subject(SubjectType.work_item, result.item.id)
            try:
                for name, body in contents:
                    if principal is not None:
                        await upload(db_session, store, principal, subject, DocumentKind.evidence, name, body,
                                     Visibility.owner)
                    else:  # the case's party, checked by the grant: their quota counts per case party
                        await upload_as_guest(db_session, store, Guest(f"case:{case.id}p{viewer.party_id}",
                                                                       f"case-party:{viewer.party_id}"),
                                              subject, DocumentKind.evidence, name, body)
                await db_session.commit()
            except (DocumentError, StorageUnavailable):
                await db_session.rollback()
                return Redirect(f"/cases/{case.id}?sent={ref}&files=refused", status_code=303)
        return Redirect(f"/cases/{case.id}?sent={ref}", status_code=303)


__all__ = ["CaseCluesController"]
