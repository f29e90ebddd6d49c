"""Buyer's tracking pages, the transfer API, and the plain staff page that moves steps."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath, HeaderParameter
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.clients import client_key as _client_key
from accounts.departments import Department
from accounts.principal import Principal
from kernel.auth import Auth, auth_of, principal_of
from kernel.caching import RenderCache, WholePages, digest
from kernel.deps import Caller, CurrentPrincipal, Lang, Settings, app_context, request_lang
from kernel.errors import BilingualError, error_view
from kernel.guards import checks_credentials, requires_staff
from kernel.i18n import N_, _
from storage.context import DbSession
from title_transfer import codes
from title_transfer.access import TRACKING_GRANT, CodeChecker, principal_may_view
from title_transfer.models import Transfer, TransferStep
from title_transfer.read import TransferRecord, fetch_transfer
from title_transfer.schemas import TransferView
from title_transfer.service import InvalidInput, load_transfer, move_step, reissue_code
from title_transfer.workflow import StepState, step_names

NOT_FOUND_EN = "That tracking number and code do not match. Check them against your sale confirmation."


def _client(request: Request[Any, Any, Any]) -> str:
    return _client_key(request)  # the same key the API and the forms use for this client


def _lookup(status: int, error: str, tracking_no: str, headers: dict[str, str] | None = None) -> Template:
    return Template("title_transfer/lookup.html", status_code=status, headers=headers,
                    context={"error": error, "tracking_no": tracking_no, "mine": []})


async def _lookup_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The lookup form again, with the refusal (too many tries) above it."""
    raw_no = str((await request.form()).get("tracking_no", ""))[:64]
    try:
        raw_no = codes.normalise_tracking_no(raw_no)
    except codes.MalformedTrackingNumber:
        pass
    return _lookup(exc.status_code, exc.message(request_lang(request)), raw_no, exc.headers)


class LookupForm(msgspec.Struct):
    tracking_no: str = ""
    code: str = ""


class StepActionForm(msgspec.Struct):
    action: str = ""
    revision: str = ""
    note: str = ""
    reason: str = ""
    confirm: str = ""


# Final or visible-to-the-buyer step actions: the form must carry a ticked confirmation (no JavaScript needed).
CONFIRMED_STEP_ACTIONS = frozenset({"complete", "block", "not_applicable"})


class TrackingController(Controller):
    path = "/track"
    include_in_schema = False

    @get("/", name="track.lookup")
    async def lookup_page(self, db_session: DbSession, principal: CurrentPrincipal) -> Template:
        mine: list[Transfer] = []
        if principal is not None:
            mine = list((await db_session.scalars(
                select(Transfer).where(Transfer.buyer_id == principal.user_id).order_by(Transfer.id.desc())
            )).all())
        return Template("title_transfer/lookup.html", context={"error": None, "tracking_no": "", "mine": mine})

    @post("/", name="track.verify", status_code=303, opt=error_view(_lookup_refused))
    async def verify(
        self,
        request: Request[Any, Any, Any],
        lang: Lang,
        settings: Settings,
        engine: NamedDependency[AsyncEngine],
        code_checker: NamedDependency[CodeChecker],
        data: Annotated[LookupForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        raw_no = data.tracking_no[:64]
        try:
            tracking_no = codes.normalise_tracking_no(raw_no)
        except codes.MalformedTrackingNumber:
            return _lookup(400, _("A tracking number is ZT followed by 10 digits, e.g. ZT2026000001."), raw_no)
        if not data.code.strip():
            return _lookup(400, _("Please enter the query code."), tracking_no)
        record = await fetch_transfer(engine, tracking_no)
        if not await code_checker.check(record, tracking_no, data.code, _client(request)):  # Throttled → 429
            return _lookup(404, _("That tracking number and code do not match. "
                                  "Check them against your sale confirmation."), tracking_no)
        return Redirect(
            f"/track/{tracking_no}",
            status_code=303,
            cookies=[TRACKING_GRANT.cookie(settings.secret_key, tracking_no, record.code_version if record else 1,
                                           secure=settings.secure_cookies)],
        )

    @post("/forget", name="track.forget", status_code=303)
    async def forget(self, request: Request[Any, Any, Any], settings: Settings) -> Response[Any]:
        """“Forget this device”: drop every tracking grant this browser holds (works without JavaScript)."""
        return Redirect("/track", status_code=303,
                        cookies=TRACKING_GRANT.deletions(request.cookies, secure=settings.secure_cookies))

    async def _authorised(self, request: Request[Any, Any, Any], tracking_no: str) -> TransferRecord:
        try:
            tracking_no = codes.normalise_tracking_no(tracking_no)
        except codes.MalformedTrackingNumber:
            raise NotFoundException() from None
        record = await fetch_transfer(app_context(request.app.state).engine, tracking_no)
        if record is not None and (
            principal_may_view(principal_of(request), record)
            or auth_of(request).holds(TRACKING_GRANT, tracking_no, record.code_version)
        ):
            return record
        raise _NeedsCode(tracking_no)

    @get("/{tracking_no:str}", name="track.page")
    async def page(self, request: Request[Any, Any, Any], lang: Lang, settings: Settings,
                   tracking_no: FromPath[str]) -> Response[Any]:
        record = await self._authorised(request, tracking_no)
        scope = request.scope
        if scope.get("user") is None and not scope.get("query_string"):
            # A visitor with the code (not signed in): the whole page, shell included, is the same
            # for everyone but the CSRF token; rendered once, the token filled in per request.
            return Response(content=whole_page(request, record.view, lang, settings.poll_seconds),
                            media_type=MediaType.HTML)
        body = rendered(request, "title_transfer/_transfer_body.html", record.view, lang, settings.poll_seconds)
        return Template("title_transfer/track.html", context={"t": record.view, "body": body})

    @get("/{tracking_no:str}/live", name="track.live")
    async def live(self, request: Request[Any, Any, Any], lang: Lang, settings: Settings,
                   tracking_no: FromPath[str]) -> Response[Any]:
        record = await self._authorised(request, tracking_no)
        etag = f'W/"{record.view.tracking_no}-{record.view.version}-{lang}"'
        if request.headers.get("if-none-match") == etag:
            return Response(content=b"", status_code=304, headers={"ETag": etag})
        html = rendered(request, "title_transfer/_live.html", record.view, lang, settings.poll_seconds)
        return Response(content=html, media_type="text/html; charset=utf-8",
                        headers={"ETag": etag, "Cache-Control": "private, no-cache"})


class _NeedsCode(HTTPException):
    """Not allowed to see this transfer (or it does not exist): send the person to the lookup form."""

    status_code = 303

    def __init__(self, tracking_no: str) -> None:
        super().__init__(detail="verification needed")
        self.tracking_no = tracking_no


def needs_code_handler(request: Request[Any, Any, Any], exc: _NeedsCode) -> Response[Any]:
    return Redirect(f"/track?no={exc.tracking_no}", status_code=303)


# The transfer's part of the tracking page (and the live fragment) depends only on the transfer
# as read, the reader's language and the day (overdue flags, "due" dates): rendered once per
# (template, transfer digest, language, day, poll interval) and reused by every request that reads
# the same transfer, so a page costs its query and the small personal shell around it
# (menu, CSRF token), not a full render. Bounded per process; a changed transfer has a new digest.
_RENDERED: RenderCache[tuple[str, str, bytes, str, dt.date, int], Markup] = RenderCache(4096)


def rendered(request: Request[Any, Any, Any], template: str, view: TransferView, lang: str,
             poll_seconds: int) -> Markup:
    today = dt.date.today()
    key = (template, view.tracking_no, digest(view), lang, today, poll_seconds)
    html = _RENDERED.get(key)
    if html is None:
        engine = request.app.template_engine
        assert engine is not None  # the portal always has one
        html = _RENDERED.put(key, Markup(engine.get_template(template).render(  # noqa: S704 - autoescaping template
            t=view, poll_seconds=poll_seconds, today=today)))
    return html


# The whole tracking page for visitors who are not signed in and sent no query string: besides the
# transfer, its shell shows only the language (menu, language switch back to this path) and the
# CSRF token, which kernel.caching.WholePages fills in per request. Keyed like _RENDERED.
_PAGES: WholePages[tuple[str, bytes, str, dt.date, int]] = WholePages(4096)


# The shell around the transfer (layout, menu, language switch, forget-this-device form) differs
# between transfers only by the tracking number (in the title and in the language switch's
# path): kept per language with stand-ins for the number and the body.
_SHELLS: dict[tuple[str, str], str] = {}
_BODY_SLOT = f"transfer-body-{secrets.token_hex(16)}"
_NUMBER_SLOT = f"tracking-no-{secrets.token_hex(16)}"


def whole_page(request: Request[Any, Any, Any], view: TransferView, lang: str, poll_seconds: int) -> bytes:
    today = dt.date.today()

    def render(slots: dict[str, Any]) -> str:
        engine = request.app.template_engine
        assert engine is not None  # the portal always has one
        body = engine.get_template("title_transfer/_transfer_body.html").render(
            t=view, poll_seconds=poll_seconds, today=today)
        no, root, path = view.tracking_no, request.scope.get("root_path", ""), request.scope["path"]
        shell = _SHELLS.get((lang, root)) if path == f"/track/{no}" else None
        if shell is None:
            html = engine.get_template("title_transfer/track.html").render(
                t=view, body=Markup(_BODY_SLOT), request=request, **slots)  # noqa: S704 - a stand-in
            if path == f"/track/{no}":  # the number shows as itself (ZT + digits: nothing to escape or encode)
                shell = _SHELLS[(lang, root)] = html.replace(no, _NUMBER_SLOT)
        else:
            html = shell.replace(_NUMBER_SLOT, no)
        return html.replace(_BODY_SLOT, body)

    return _PAGES.serve(request, (view.tracking_no, digest(view), lang, today, poll_seconds), render)


class TransferAPI(Controller):
    path = "/api/v1/transfers"
    tags = ["transfers"]
    guards = [checks_credentials]  # a wrong service token is 401, a bad citizen token 403

    @get(
        "/{tracking_no:str}",
        name="api.transfer",
        summary="A title transfer's steps, tax estimate and state",
        description=(
            "For the buyer (session), a holder of the verification code (X-Verification-Code), "
            "or the assistant's action server (Authorization: Bearer service token) acting for a citizen it names "
            "with X-Citizen-Token (signed identity from the portal) or X-Verification-Code. "
            "Unknown numbers and wrong codes get the same 404; repeated failures get 429."
        ),
    )
    async def get_transfer(
        self,
        caller: Caller,
        principal: CurrentPrincipal,
        engine: NamedDependency[AsyncEngine],
        code_checker: NamedDependency[CodeChecker],
        tracking_no: FromPath[str],
        verification_code: Annotated[str | None, HeaderParameter(name="X-Verification-Code")] = None,
        # Read by the kernel's authentication middleware (request.auth); declared for the schema.
        citizen_token: Annotated[str | None, HeaderParameter(name="X-Citizen-Token")] = None,
        chat_sender: Annotated[str | None, HeaderParameter(name="X-Chat-Sender")] = None,
        chat_client: Annotated[str | None, HeaderParameter(name="X-Chat-Client")] = None,
    ) -> TransferView:
        try:
            tracking_no = codes.normalise_tracking_no(tracking_no)
        except codes.MalformedTrackingNumber:
            raise HTTPException(status_code=400, detail="tracking number must be ZT followed by 10 digits") from None
        record = await fetch_transfer(engine, tracking_no)
        if caller.as_service:
            if caller.citizen_id is not None:
                if record is not None and record.buyer_id == caller.citizen_id:
                    return record.view
                raise NotFoundException(detail=NOT_FOUND_EN)
            if not verification_code:
                raise PermissionDeniedException(
                    detail="name the citizen: send X-Citizen-Token or X-Verification-Code with the service token")
        else:
            if record is not None and principal_may_view(principal, record):
                return record.view
            if not verification_code:
                raise NotFoundException(detail=NOT_FOUND_EN)
        # Throttled (429 with Retry-After) goes to the kernel's exception handler.
        if not await code_checker.check(record, tracking_no, verification_code, caller.client_key) or record is None:
            raise NotFoundException(detail=NOT_FOUND_EN)
        return record.view


# The steps list, as the queue page's menu links to it (the composition root registers it).
STAFF_PAGE = ("/staff/steps", N_("Steps for my department"))


class StaffStepsController(Controller):
    path = "/staff"
    include_in_schema = False
    guards = [requires_staff()]

    @get("/steps", name="staff.steps")
    async def my_steps(self, request: Request[Principal, Auth, Any], db_session: DbSession) -> Template:
        principal = request.user
        stmt = (
            select(TransferStep, Transfer.tracking_no, Transfer.title, Transfer.asset_kind)
            .join(Transfer, Transfer.id == TransferStep.transfer_id)
            .where(TransferStep.state.in_([StepState.ready, StepState.in_progress, StepState.blocked]))
            .order_by(TransferStep.due_on, TransferStep.id)
            .limit(200)
        )
        if not principal.is_admin:
            stmt = stmt.where(TransferStep.department == principal.department)
        rows = [(step, no, title, step_names(kind, step.key))
                for step, no, title, kind in (await db_session.execute(stmt)).all()]
        return Template("title_transfer/staff_steps.html", context={"rows": rows, "today": dt.date.today()})

    @get("/transfers/{tracking_no:str}", name="staff.transfer")
    async def transfer_page(self, request: Request[Principal, Auth, Any], tracking_no: FromPath[str]) -> Template:
        return await _staff_transfer_page(request, tracking_no)

    @post("/transfers/{tracking_no:str}/steps/{step_key:str}", name="staff.step_action", status_code=303,
          opt=error_view(lambda request, exc: _staff_transfer_page(request, request.path_params["tracking_no"], exc)))
    async def step_action(
        self,
        request: Request[Principal, Auth, Any],
        db_session: DbSession,
        tracking_no: FromPath[str],
        step_key: FromPath[str],
        data: Annotated[StepActionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        principal = request.user
        await _staff_record(request, principal, tracking_no)
        tracking_no = codes.normalise_tracking_no(tracking_no)
        if data.action in CONFIRMED_STEP_ACTIONS and data.confirm != "yes":
            raise InvalidInput("请勾选确认后再提交:买受人将在进度页面看到这一变化。",
                               "Tick the confirmation first: the buyer will see this change on the tracking page.")
        try:
            revision = int(data.revision)
        except ValueError:
            revision = -1
        transfer = await load_transfer(db_session, tracking_no, for_update=True)
        if transfer is None:
            raise NotFoundException()
        # A refused move (TransitionError) re-renders the page with the message: see error_view above.
        await move_step(db_session, transfer, step_key, data.action, principal,
                        expected_revision=revision, note=data.note, reason=data.reason)
        await db_session.commit()
        return Redirect(f"/staff/transfers/{tracking_no}?done={step_key}", status_code=303)

    @post("/transfers/{tracking_no:str}/code", name="staff.reissue_code", guards=[requires_staff(Department.court)])
    async def reissue(self, request: Request[Principal, Auth, Any], db_session: DbSession, settings: Settings,
                      tracking_no: FromPath[str]) -> Template:
        """Court staff (who print the sale confirmation) or an administrator issue a new code; shown once."""
        principal = request.user
        await _staff_record(request, principal, tracking_no)
        tracking_no = codes.normalise_tracking_no(tracking_no)
        transfer = await load_transfer(db_session, tracking_no, for_update=True)
        if transfer is None:
            raise NotFoundException()
        new_code = await reissue_code(db_session, transfer, secret=settings.secret_key, actor=principal)
        await db_session.commit()
        record = await _staff_record(request, principal, tracking_no)
        return Template("title_transfer/staff_transfer.html",
                        context={"t": record.view, "principal": principal, "error": None, "today": dt.date.today(),
                                 "buyer_id": record.buyer_id, "new_code": new_code},
                        headers={"Cache-Control": "no-store"})


async def _staff_transfer_page(request: Request[Any, Any, Any], tracking_no: str,
                               error: BilingualError | None = None) -> Template:
    principal = principal_of(request)
    assert principal is not None  # behind requires_staff
    record = await _staff_record(request, principal, tracking_no)
    return Template("title_transfer/staff_transfer.html", status_code=error.status_code if error else 200,
                    context={"t": record.view, "principal": principal,
                             "error": error.message(request_lang(request)) if error else None,
                             "today": dt.date.today(), "buyer_id": record.buyer_id})


async def _staff_record(request: Request[Any, Any, Any], principal: Principal, tracking_no: str) -> TransferRecord:
    try:
        tracking_no = codes.normalise_tracking_no(tracking_no)
    except codes.MalformedTrackingNumber:
        raise NotFoundException() from None
    record = await fetch_transfer(app_context(request.app.state).engine, tracking_no)
    if record is None or not principal_may_view(principal, record):
        raise NotFoundException()
    return record


__all__ = ["TrackingController", "TransferAPI", "StaffStepsController", "needs_code_handler", "_NeedsCode",
           "AsyncEngine"]
