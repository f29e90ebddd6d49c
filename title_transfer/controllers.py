"""Buyer's tracking pages, the transfer API, and the plain staff page that moves steps."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException, NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath, HeaderParameter
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.departments import Department
from accounts.principal import Principal
from storage.context import AppContext, DbSession
from title_transfer import codes
from title_transfer.access import (
    Throttled,
    citizen_from_token,
    grant_cookie_name,
    grant_deletions,
    grant_valid,
    make_grant,
    principal_may_view,
    service_token_ok,
)
from title_transfer.models import Transfer, TransferStep
from title_transfer.read import TransferRecord, fetch_transfer
from title_transfer.schemas import TransferView
from title_transfer.service import TransitionError, load_transfer, move_step, reissue_code
from title_transfer.workflow import StepState

NOT_FOUND_ZH = "查询号或查询码不正确。请核对成交确认书上的信息。"
NOT_FOUND_EN = "That tracking number and code do not match. Check them against your sale confirmation."


def _lang(request: Request[Any, Any, Any]) -> str:
    return request.scope.get("state", {}).get("lang", "zh")


def _ctx(request: Request[Any, Any, Any]) -> AppContext:
    return request.app.state.ctx  # type: ignore[no-any-return]


def _principal(request: Request[Any, Any, Any]) -> Principal | None:
    user = request.scope.get("user")
    return user if isinstance(user, Principal) else None


def _client(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


class LookupForm(msgspec.Struct):
    tracking_no: str = ""
    code: str = ""


class StepActionForm(msgspec.Struct):
    action: str = ""
    revision: str = ""
    note: str = ""
    reason: str = ""


class TrackingController(Controller):
    path = "/track"
    include_in_schema = False

    @get("/", name="track.lookup")
    async def lookup_page(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        principal = _principal(request)
        mine: list[Transfer] = []
        if principal is not None:
            mine = list((await db_session.scalars(
                select(Transfer).where(Transfer.buyer_id == principal.user_id).order_by(Transfer.id.desc())
            )).all())
        return Template("title_transfer/lookup.html", context={"error": None, "tracking_no": "", "mine": mine})

    @post("/", name="track.verify", status_code=303)
    async def verify(
        self,
        request: Request[Any, Any, Any],
        data: Annotated[LookupForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        ctx = _ctx(request)
        lang = _lang(request)
        raw_no = data.tracking_no[:64]
        try:
            tracking_no = codes.normalise_tracking_no(raw_no)
        except codes.MalformedTrackingNumber:
            msg = ("查询号格式应为 ZT 加 10 位数字,例如 ZT2026000001。" if lang == "zh"
                   else "A tracking number is ZT followed by 10 digits, e.g. ZT2026000001.")
            return Template("title_transfer/lookup.html", status_code=400,
                            context={"error": msg, "tracking_no": raw_no, "mine": []})
        if not data.code.strip():
            msg = "请输入查询码。" if lang == "zh" else "Please enter the verification code."
            return Template("title_transfer/lookup.html", status_code=400,
                            context={"error": msg, "tracking_no": tracking_no, "mine": []})
        record = await fetch_transfer(ctx.engine, tracking_no)
        try:
            ok = await ctx.code_checker.check(record, tracking_no, data.code, _client(request))
        except Throttled as exc:
            msg = (f"尝试次数过多,请 {max(1, exc.retry_after // 60)} 分钟后再试。" if lang == "zh"
                   else f"Too many tries. Please wait {max(1, exc.retry_after // 60)} minutes.")
            return Template("title_transfer/lookup.html", status_code=429, headers={"Retry-After": str(exc.retry_after)},
                            context={"error": msg, "tracking_no": tracking_no, "mine": []})
        if not ok:
            return Template("title_transfer/lookup.html", status_code=404,
                            context={"error": NOT_FOUND_ZH if lang == "zh" else NOT_FOUND_EN,
                                     "tracking_no": tracking_no, "mine": []})
        return Redirect(
            f"/track/{tracking_no}",
            status_code=303,
            cookies=[Cookie(key=grant_cookie_name(tracking_no),
                            value=make_grant(ctx.settings.secret_key, tracking_no, record.code_version if record else 1),
                            path="/", httponly=True, secure=ctx.settings.secure_cookies,
                            samesite="lax", max_age=60 * 60 * 24 * 30)],
        )

    @post("/forget", name="track.forget", status_code=303)
    async def forget(self, request: Request[Any, Any, Any]) -> Response[Any]:
        """“Forget this device”: drop every tracking grant this browser holds (works without JavaScript)."""
        return Redirect("/track", status_code=303,
                        cookies=grant_deletions(request.cookies, secure=_ctx(request).settings.secure_cookies))

    async def _authorised(self, request: Request[Any, Any, Any], tracking_no: str) -> TransferRecord:
        ctx = _ctx(request)
        try:
            tracking_no = codes.normalise_tracking_no(tracking_no)
        except codes.MalformedTrackingNumber:
            raise NotFoundException() from None
        record = await fetch_transfer(ctx.engine, tracking_no)
        if record is not None and (
            principal_may_view(_principal(request), record)
            or grant_valid(ctx.settings.secret_key, tracking_no, request.cookies.get(grant_cookie_name(tracking_no)),
                           record.code_version)
        ):
            return record
        raise _NeedsCode(tracking_no)

    @get("/{tracking_no:str}", name="track.page")
    async def page(self, request: Request[Any, Any, Any], tracking_no: FromPath[str]) -> Template:
        record = await self._authorised(request, tracking_no)
        return Template("title_transfer/track.html", context=_page_context(request, record.view))

    @get("/{tracking_no:str}/live", name="track.live")
    async def live(self, request: Request[Any, Any, Any], tracking_no: FromPath[str]) -> Response[Any]:
        record = await self._authorised(request, tracking_no)
        etag = f'W/"{record.view.tracking_no}-{record.view.version}-{request.scope["state"]["lang"]}"'
        if request.headers.get("if-none-match") == etag:
            return Response(content=b"", status_code=304, headers={"ETag": etag})
        return Template("title_transfer/_live.html", context=_page_context(request, record.view),
                        headers={"ETag": etag, "Cache-Control": "private, no-cache"})


class _NeedsCode(HTTPException):
    """Not allowed to see this transfer (or it does not exist): send the person to the lookup form."""

    status_code = 303

    def __init__(self, tracking_no: str) -> None:
        super().__init__(detail="verification needed")
        self.tracking_no = tracking_no


def needs_code_handler(request: Request[Any, Any, Any], exc: _NeedsCode) -> Response[Any]:
    return Redirect(f"/track?no={exc.tracking_no}", status_code=303)


def _page_context(request: Request[Any, Any, Any], view: TransferView) -> dict[str, Any]:
    return {
        "t": view,
        "poll_seconds": _ctx(request).settings.poll_seconds,
        "today": dt.date.today(),
        "utilities": [s for s in view.steps if s.utility],
        "delivery": next((s for s in view.steps if s.key == "delivery"), None),
    }


class TransferAPI(Controller):
    path = "/api/v1/transfers"
    tags = ["transfers"]

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
        request: Request[Any, Any, Any],
        tracking_no: FromPath[str],
        verification_code: Annotated[str | None, HeaderParameter(name="X-Verification-Code")] = None,
        citizen_token: Annotated[str | None, HeaderParameter(name="X-Citizen-Token")] = None,
        chat_sender: Annotated[str | None, HeaderParameter(name="X-Chat-Sender")] = None,
    ) -> TransferView:
        ctx = _ctx(request)
        try:
            tracking_no = codes.normalise_tracking_no(tracking_no)
        except codes.MalformedTrackingNumber:
            raise HTTPException(status_code=400, detail="tracking number must be ZT followed by 10 digits") from None
        authorization = request.headers.get("authorization")
        as_service = authorization is not None
        if as_service and not service_token_ok(ctx.settings.service_token, authorization):
            raise HTTPException(status_code=401, detail="invalid service token")
        record = await fetch_transfer(ctx.engine, tracking_no)
        if as_service:
            if citizen_token:
                user_id = citizen_from_token(ctx.settings.secret_key, citizen_token)
                if user_id is None:
                    raise HTTPException(status_code=403, detail="citizen token invalid or expired")
                if record is not None and record.buyer_id == user_id:
                    return record.view
                raise NotFoundException(detail=NOT_FOUND_EN)
            if not verification_code:
                raise PermissionDeniedException(
                    detail="name the citizen: send X-Citizen-Token or X-Verification-Code with the service token")
            client_key = f"chat:{(chat_sender or 'unknown')[:80]}"
        else:
            if record is not None and principal_may_view(_principal(request), record):
                return record.view
            if not verification_code:
                raise NotFoundException(detail=NOT_FOUND_EN)
            client_key = f"ip:{_client(request)}"
        try:
            ok = await ctx.code_checker.check(record, tracking_no, verification_code, client_key)
        except Throttled as exc:
            raise HTTPException(status_code=429, detail="too many failed attempts; try again later",
                                headers={"Retry-After": str(exc.retry_after)}) from None
        if not ok or record is None:
            raise NotFoundException(detail=NOT_FOUND_EN)
        return record.view


class StaffStepsController(Controller):
    path = "/staff"
    include_in_schema = False

    @get("/steps", name="staff.steps")
    async def my_steps(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        principal = _require_staff(request)
        stmt = (
            select(TransferStep, Transfer.tracking_no, Transfer.title)
            .join(Transfer, Transfer.id == TransferStep.transfer_id)
            .where(TransferStep.state.in_([StepState.ready, StepState.in_progress, StepState.blocked]))
            .order_by(TransferStep.due_on, TransferStep.id)
            .limit(200)
        )
        if not principal.is_admin:
            stmt = stmt.where(TransferStep.department == principal.department)
        rows = (await db_session.execute(stmt)).all()
        return Template("title_transfer/staff_steps.html", context={"rows": rows, "today": dt.date.today()})

    @get("/transfers/{tracking_no:str}", name="staff.transfer")
    async def transfer_page(self, request: Request[Any, Any, Any], tracking_no: FromPath[str]) -> Template:
        principal = _require_staff(request)
        record = await _staff_record(request, principal, tracking_no)
        return Template("title_transfer/staff_transfer.html",
                        context={"t": record.view, "principal": principal, "error": None, "today": dt.date.today(),
                                 "buyer_id": record.buyer_id})

    @post("/transfers/{tracking_no:str}/steps/{step_key:str}", name="staff.step_action", status_code=303)
    async def step_action(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        tracking_no: FromPath[str],
        step_key: FromPath[str],
        data: Annotated[StepActionForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[Any]:
        principal = _require_staff(request)
        lang = _lang(request)
        await _staff_record(request, principal, tracking_no)
        tracking_no = codes.normalise_tracking_no(tracking_no)
        try:
            revision = int(data.revision)
        except ValueError:
            revision = -1
        transfer = await load_transfer(db_session, tracking_no, for_update=True)
        if transfer is None:
            raise NotFoundException()
        try:
            await move_step(db_session, transfer, step_key, data.action, principal,
                            expected_revision=revision, note=data.note, reason=data.reason)
        except TransitionError as exc:
            await db_session.rollback()
            record = await _staff_record(request, principal, tracking_no)
            return Template("title_transfer/staff_transfer.html", status_code=exc.status,
                            context={"t": record.view, "principal": principal, "error": exc.message(lang),
                                     "today": dt.date.today(), "buyer_id": record.buyer_id})
        await db_session.commit()
        return Redirect(f"/staff/transfers/{tracking_no}?done={step_key}", status_code=303)

    @post("/transfers/{tracking_no:str}/code", name="staff.reissue_code")
    async def reissue(self, request: Request[Any, Any, Any], db_session: DbSession,
                      tracking_no: FromPath[str]) -> Template:
        """Court staff (who print the sale confirmation) or an administrator issue a new code; shown once."""
        principal = _require_staff(request)
        if not principal.works_for(Department.court):
            raise PermissionDeniedException(detail="the court issues verification codes")
        await _staff_record(request, principal, tracking_no)
        tracking_no = codes.normalise_tracking_no(tracking_no)
        transfer = await load_transfer(db_session, tracking_no, for_update=True)
        if transfer is None:
            raise NotFoundException()
        new_code = await reissue_code(db_session, transfer, secret=_ctx(request).settings.secret_key, actor=principal)
        await db_session.commit()
        record = await _staff_record(request, principal, tracking_no)
        return Template("title_transfer/staff_transfer.html",
                        context={"t": record.view, "principal": principal, "error": None, "today": dt.date.today(),
                                 "buyer_id": record.buyer_id, "new_code": new_code},
                        headers={"Cache-Control": "no-store"})


def _require_staff(request: Request[Any, Any, Any]) -> Principal:
    principal = _principal(request)
    if principal is None:
        raise HTTPException(status_code=401, detail="sign in first")
    if not (principal.is_staff or principal.is_admin):
        raise PermissionDeniedException(detail="department staff only")
    return principal


async def _staff_record(request: Request[Any, Any, Any], principal: Principal, tracking_no: str) -> TransferRecord:
    try:
        tracking_no = codes.normalise_tracking_no(tracking_no)
    except codes.MalformedTrackingNumber:
        raise NotFoundException() from None
    record = await fetch_transfer(_ctx(request).engine, tracking_no)
    if record is None or not principal_may_view(principal, record):
        raise NotFoundException()
    return record


__all__ = ["TrackingController", "TransferAPI", "StaffStepsController", "needs_code_handler", "_NeedsCode",
           "AsyncEngine"]
