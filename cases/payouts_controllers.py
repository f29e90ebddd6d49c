"""Mass payouts on the web: the payee's lookup (page and JSON API) and court staff's batch pages."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import Body, FromPath, HeaderParameter, JSONBody, MultipartBody
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.principal import Principal
from cases.catalogue import catalogue
from cases.idnumbers import mask_id
from cases.payouts import BatchState, PayeeStatus, PayoutReport, failure_catalogue, mask_account
from cases.payouts_bank import record_bank_results
from cases.payouts_chart import Part, progress_bar
from cases.payouts_files import MAX_FILE_BYTES, MIB, FileTooLarge, PayoutFileError, check_size
from cases.payouts_import import import_payees
from cases.payouts_report import Problem, message, report_csv, unpack
from cases.payouts_service import (
    PayoutAnswer,
    batch_for_staff,
    batches_for,
    close_batch,
    create_batch,
    failed_payees,
    lookup_payout,
    progress,
)
from kernel.auth import Auth, auth_of, principal_of
from kernel.deps import Caller, Lang, Settings, ThrottleDep, request_lang, set_request_lang
from kernel.errors import BilingualError, db_session_of, error_view, exception_handler, is_htmx
from kernel.guards import checks_credentials, requires_staff
from kernel.i18n import _
from storage.context import DbSession
from storage.ids import RowId

UPLOAD_LIMIT = MAX_FILE_BYTES + MIB  # the form around the file; the file's own cap gives the clear message


# --- the payee's lookup ----------------------------------------------------------------------------


class LookupForm(msgspec.Struct):
    batch_code: str = ""
    id_number: str = ""


class PayoutLookupRequest(msgspec.Struct):
    batch_code: str
    id_number: str
    # The language refusals answer in; the answer itself carries both. Not "lang": a body field may not share
    # a name with a dependency (the kernel's `lang`), or Litestar reports its type errors as a 500.
    language: Literal["zh", "en"] | None = None


def _lookup_page(request: Request[Any, Any, Any], *, status: int = 200, answer: PayoutAnswer | None = None,
                 error: str | None = None, batch_code: str = "", headers: dict[str, str] | None = None) -> Template:
    context = {"answer": answer, "error": error, "batch_code": batch_code[:32],
               "reason_note": answer.failure_note if answer else None}
    name = "cases/payouts/_answer.html" if is_htmx(request) else "cases/payouts/lookup.html"
    return Template(name, status_code=status, context=context, headers={"Cache-Control": "no-store", **(headers or {})})


async def _lookup_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    form = await request.form()
    return _lookup_page(request, status=exc.status_code, error=exc.message(request_lang(request)),
                        batch_code=str(form.get("batch_code", "")), headers=exc.headers)


class PayoutLookupController(Controller):
    path = "/payouts"
    include_in_schema = False

    @get("/", name="payouts.lookup")
    async def page(self, request: Request[Any, Any, Any]) -> Template:
        return _lookup_page(request, batch_code=request.query_params.get("batch", ""))

    @post("/", name="payouts.check", status_code=200, opt=error_view(_lookup_refused))
    async def check(self, request: Request[Any, Any, Any], settings: Settings, throttle: ThrottleDep,
                    engine: NamedDependency[AsyncEngine],
                    data: Annotated[LookupForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Template:
        # Refusals (a malformed code or ID number, no match, too many tries) re-render the form: error_view.
        answer = await lookup_payout(engine, throttle, secret=settings.secret_key, batch_code=data.batch_code,
                                     id_number=data.id_number, client_key=auth_of(request).client_key)
        return _lookup_page(request, answer=answer, batch_code=answer.batch_code)


class PayoutAPI(Controller):
    path = "/api/v1/payouts"
    tags = ["payouts"]
    guards = [checks_credentials]  # a wrong service token is 401, a bad citizen token 403

    @post(
        "/lookup", name="api.payouts.lookup", status_code=200, opt={"json_errors": True},
        summary="A payee's own payout, by batch code and ID number",
        description=(
            "Anyone (a browser, or the assistant's action server with `Authorization: Bearer` service token, "
            "optionally naming the citizen with `X-Citizen-Token` and the browser with `X-Chat-Client`). "
            "Unknown batches and ID numbers not in the batch get the same 404 (`payout_not_found`); a malformed "
            "batch code or ID number is a 422 saying what is wrong (not counted); repeated misses get 429 with "
            "Retry-After, per batch and per client. Contract: docs/payouts.md."
        ),
    )
    async def lookup(
        self, request: Request[Any, Any, Any], caller: Caller, settings: Settings, throttle: ThrottleDep,
        engine: NamedDependency[AsyncEngine], data: JSONBody[PayoutLookupRequest],
        citizen_token: Annotated[str | None, HeaderParameter(name="X-Citizen-Token")] = None,
        chat_sender: Annotated[str | None, HeaderParameter(name="X-Chat-Sender")] = None,
        chat_client: Annotated[str | None, HeaderParameter(name="X-Chat-Client")] = None,
    ) -> PayoutAnswer:
        if data.language:
            set_request_lang(request, data.language)
        return await lookup_payout(engine, throttle, secret=settings.secret_key, batch_code=data.batch_code[:64],
                                   id_number=data.id_number[:64], client_key=caller.client_key)


# --- court staff -------------------------------------------------------------------------------------


class NewBatchForm(msgspec.Struct):
    case_number: str = ""
    title: str = ""
    declared_count: str = ""
    declared_total: str = ""
    expected_by: str = ""


@dataclasses.dataclass
class FileForm:
    file: UploadFile | None = None


class CloseForm(msgspec.Struct):
    confirm: str = ""


async def _read_upload(form: FileForm) -> tuple[bytes, str]:
    if form.file is None or not form.file.filename:
        raise _NoFile("请选择要上传的文件(CSV 或 XLSX)。", "Choose a file to upload (CSV or XLSX).")
    try:
        data = await form.file.read(MAX_FILE_BYTES + 1)
    finally:
        await form.file.close()
    check_size(len(data))  # too large or empty: said clearly
    return data, form.file.filename


class _NoFile(BilingualError):
    status_code = 400
    code = "payout_no_file"


def _staff(request: Request[Any, Any, Any]) -> Principal:
    who = principal_of(request)
    assert who is not None  # behind requires_staff
    return who


async def _batch_page(request: Request[Any, Any, Any], code: str, error: BilingualError | None = None) -> Template:
    session = db_session_of(request)
    principal = _staff(request)
    batch, case = await batch_for_staff(session, principal, code)
    tallies = await progress(session, batch.id)
    reports = list(await session.scalars(select(PayoutReport).where(PayoutReport.batch_id == batch.id)
                                         .order_by(PayoutReport.created_at.desc()).limit(20)))
    shown_id = request.query_params.get("report")
    shown = next((r for r in reports if str(r.id) == shown_id), None) if shown_id else None
    if isinstance(error, PayoutFileError) and not isinstance(error, FileTooLarge) and reports and shown is None:
        shown = reports[0]  # a file that could not be read keeps a report before the refusal is raised
    labels = {"paid": _("Paid"), "pending": _("Pending"), "failed": _("Failed")}
    chart = progress_bar(_("Payout progress"), [
        Part(labels["paid"], tallies["paid"].count, "#1e7b34"),
        Part(labels["pending"], tallies["pending"].count, "#9aa4af"),
        Part(labels["failed"], tallies["failed"].count, "#a15c00", pattern="hatch"),
    ])
    court = catalogue().courts.get(case.court_code)
    preview: list[tuple[Problem, str]] = []
    if shown is not None:
        preview = [(p, message(p)) for p in unpack(shown.problems)[:30]]
    failures = failure_catalogue()
    return Template("cases/payouts/staff_batch.html", status_code=error.status_code if error else 200, context={
        "batch": batch, "case": case, "court": court, "tallies": tallies, "labels": labels, "chart": chart,
        "total_count": sum(t.count for t in tallies.values()),
        "total_amount": sum((t.amount for t in tallies.values()), Decimal("0")),
        "reports": reports, "shown": shown, "preview": preview,
        "failed": [(p, mask_id(p.id_last4), mask_account(p.account_last4), failures.get(p.failure_code))
                   for p in await failed_payees(session, batch.id)],
        "error": error.message(request_lang(request)) if error else None,
        "states": BatchState, "max_mb": MAX_FILE_BYTES // MIB,
    })


async def _list_page(request: Request[Any, Any, Any], error: BilingualError | None = None,
                     values: dict[str, str] | None = None) -> Template:
    session = db_session_of(request)
    rows = await batches_for(session, _staff(request))
    return Template("cases/payouts/staff_list.html", status_code=error.status_code if error else 200, context={
        "rows": rows, "error": error.message(request_lang(request)) if error else None,
        "error_field": (error.details.get("field") if error else None), "values": values or {}})


async def _create_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    form = await request.form()
    return await _list_page(request, exc, {k: str(form.get(k, ""))[:200] for k in NewBatchForm.__struct_fields__})


async def _batch_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    return await _batch_page(request, request.path_params["code"], exc)


def _upload_too_large(request: Request[Any, Any, Any], exc: RequestEntityTooLarge) -> Response[Any]:
    """A body past the route's limit is stopped before it is read: say so as clearly as a large file."""
    try:
        size = int(request.headers.get("content-length", "0"))
    except ValueError:
        size = 0
    try:
        check_size(max(size, MAX_FILE_BYTES + 1))
    except BilingualError as refusal:
        return exception_handler(request, refusal, views=False)
    raise AssertionError("check_size accepts nothing above the limit")  # pragma: no cover


class StaffPayoutController(Controller):
    path = "/staff/payouts"
    include_in_schema = False
    guards = [requires_staff("court")]
    exception_handlers = {RequestEntityTooLarge: _upload_too_large}

    @get("/", name="staff.payouts")
    async def batches(self, request: Request[Principal, Auth, Any], db_session: DbSession) -> Template:
        return await _list_page(request)

    @post("/", name="staff.payouts.create", status_code=303, opt=error_view(_create_refused))
    async def create(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                     data: Annotated[NewBatchForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Redirect:
        batch = await create_batch(db_session, request.user, case_number=data.case_number, title=data.title,
                                   declared_count=data.declared_count, declared_total=data.declared_total,
                                   expected_by=data.expected_by)
        await db_session.commit()
        return Redirect(f"/staff/payouts/{batch.code}", status_code=303)

    @get("/{code:str}", name="staff.payouts.batch")
    async def batch(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                    code: FromPath[str]) -> Template:
        return await _batch_page(request, code)

    @post("/{code:str}/import", name="staff.payouts.import", status_code=303, request_max_body_size=UPLOAD_LIMIT,
          opt=error_view(_batch_refused))
    async def import_list(self, request: Request[Principal, Auth, Any], db_session: DbSession, settings: Settings,
                          code: FromPath[str], data: MultipartBody[FileForm]) -> Redirect:
        batch, _case = await batch_for_staff(db_session, request.user, code)
        content, filename = await _read_upload(data)
        report = await import_payees(db_session, batch, request.user, data=content, filename=filename,
                                     secret=settings.secret_key)
        return Redirect(f"/staff/payouts/{batch.code}?report={report.id}", status_code=303)

    @post("/{code:str}/results", name="staff.payouts.results", status_code=303, request_max_body_size=UPLOAD_LIMIT,
          opt=error_view(_batch_refused))
    async def bank_results(self, request: Request[Principal, Auth, Any], db_session: DbSession, settings: Settings,
                           code: FromPath[str], data: MultipartBody[FileForm]) -> Redirect:
        batch, _case = await batch_for_staff(db_session, request.user, code)
        content, filename = await _read_upload(data)
        report = await record_bank_results(db_session, batch, request.user, data=content, filename=filename,
                                           secret=settings.secret_key)
        return Redirect(f"/staff/payouts/{batch.code}?report={report.id}", status_code=303)

    @get("/{code:str}/reports/{report_id:int}", name="staff.payouts.report")
    async def report(self, request: Request[Principal, Auth, Any], db_session: DbSession, lang: Lang,
                     code: FromPath[str], report_id: RowId) -> Response[bytes]:
        batch, _case = await batch_for_staff(db_session, request.user, code)
        report = await db_session.scalar(select(PayoutReport).where(PayoutReport.id == report_id,
                                                                    PayoutReport.batch_id == batch.id))
        if report is None:
            raise NotFoundException()
        problems = unpack(report.problems)
        summary = [_("File: %(name)s (%(encoding)s), %(rows)s rows.") % {
            "name": report.filename, "encoding": report.encoding, "rows": report.rows},
            _("Accepted: nothing to fix.") if report.accepted else
            _("Refused: nothing was imported or changed. Fix the rows below and upload the whole file again."),
            _("Row numbers are those of the spreadsheet: the headings are row 1.")]
        body = report_csv(problems, summary)
        stamp = report.created_at.strftime("%Y%m%d-%H%M")
        return Response(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="payout-{batch.code}-{report.kind}-{stamp}.csv"',
            "Cache-Control": "private, no-store"})

    @get("/{code:str}/close", name="staff.payouts.confirm_close")
    async def confirm_close(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                            code: FromPath[str]) -> Template:
        batch, case = await batch_for_staff(db_session, request.user, code)
        tallies = await progress(db_session, batch.id)
        return Template("cases/payouts/staff_close.html", context={"batch": batch, "case": case, "tallies": tallies})

    @post("/{code:str}/close", name="staff.payouts.close", status_code=303, opt=error_view(_batch_refused))
    async def close(self, request: Request[Principal, Auth, Any], db_session: DbSession, code: FromPath[str],
                    data: Annotated[CloseForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Redirect:
        batch, _case = await batch_for_staff(db_session, request.user, code)
        if data.confirm != "yes":  # only the confirmation page's button closes a batch
            return Redirect(f"/staff/payouts/{batch.code}/close", status_code=303)
        await close_batch(db_session, request.user, batch)
        await db_session.commit()
        return Redirect(f"/staff/payouts/{batch.code}?closed=1", status_code=303)


route_handlers = [PayoutLookupController, PayoutAPI, StaffPayoutController]

__all__ = ["PayoutAPI", "PayoutLookupController", "StaffPayoutController", "route_handlers", "PayeeStatus"]
