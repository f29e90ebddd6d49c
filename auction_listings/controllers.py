"""The court's pages for its lots, and each department's pre-review form.

Plain forms that work without JavaScript; htmx only adds the rules check as staff type and
the list's filter without a reload. Final or destructive actions (suspend, withdraw, record
unsold, record the sale) go through a confirmation page of their own with a box to tick.
A refused form comes back with what was typed and the message beside each field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from accounts.departments import DEPARTMENT_NAMES, Department
from accounts.principal import Principal
from auction_listings import catalogue, review, sales, service
from auction_listings.attachments import lot_documents
from auction_listings.errors import ListingError, LotNotFound, WrongStatus
from auction_listings.models import Lot, LotKind, LotStatus, Round
from auction_listings.read import finding_view, get_lot
from auction_listings.rules import (
    ARREARS_CLAUSES,
    CHINA,
    LOCATIONS,
    PARTIES,
    PROPERTY_USES,
    TAX_CLAUSES,
    check,
    parse_form,
)
from kernel.auth import Auth
from kernel.deps import request_lang
from kernel.errors import BilingualError, db_session_of, error_view
from kernel.guards import requires_admin, requires_staff
from storage.context import DbSession

SIMPLE_ACTIONS = ("request_review", "publish", "start_bidding", "resume")
CONFIRMED_ACTIONS = ("suspend", "withdraw", "unsold", "sale")


def _lang(request: Request[Any, Any, Any]) -> str:
    return request_lang(request)


def china_time(value: dt.datetime | None) -> str:
    """A moment as staff and bidders read it: China time, to the minute."""
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if value is not None else "—"


# Every page of the lots gets these (the template reads the caller and formats times).
PAGE_HELPERS = {"china_time": china_time}


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _version(form: dict[str, str]) -> int | None:
    raw = form.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _field_errors(exc: BilingualError, lang: str) -> dict[str, str]:
    fields = exc.details.get("fields") or {}
    out = {name: (msg.get("zh") if lang == "zh" else msg.get("en")) or "" for name, msg in fields.items()}
    if "field" in exc.details:
        out[str(exc.details["field"])] = exc.message(lang)
    return out


def _as_form(lot: Lot) -> dict[str, str]:
    """The lot's values as the form shows them (dates and times in China time)."""
    values: dict[str, str] = {}
    for name in service.lot_input(lot).__struct_fields__:
        value = getattr(lot, name)
        if value is None:
            values[name] = ""
        elif name in ("bidding_starts_at", "bidding_ends_at"):
            values[name] = value.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M")
        elif isinstance(value, bool):
            values[name] = "on" if value else ""
        else:
            values[name] = str(value)
    return values


def _choices(lang: str) -> dict[str, Any]:
    return {"kinds": [k.value for k in LotKind], "rounds": [r.value for r in Round],
            "court_labels": {code: c.name(lang) for code, c in catalogue.courts().items()},
            "platform_labels": {code: p.name(lang) for code, p in catalogue.platforms().items()}, "tax_clauses": TAX_CLAUSES, "uses": PROPERTY_USES,
            "locations": LOCATIONS, "parties": PARTIES, "arrears_clauses": ARREARS_CLAUSES,
            "statuses": [s.value for s in LotStatus]}


def _form_page(request: Request[Any, Any, Any], *, lot: Lot | None, values: dict[str, str], errors: dict[str, str],
               status: int = 200, notice: str | None = None, court: str | None = None) -> Template:
    return Template("auction_listings/staff_form.html", status_code=status, context={
        **PAGE_HELPERS, "lot": lot, "values": values, "errors": errors, "notice": notice, "court_code": court,
        **_choices(_lang(request))})


async def _form_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The lot form again: what was typed, the summary, each field's message."""
    if isinstance(exc, LotNotFound):
        raise NotFoundException(detail=exc.message_en)
    values = await _form(request)
    lot = None
    if "lot_no" in request.path_params:
        lot = await service.load_lot(db_session_of(request), request.user, request.path_params["lot_no"])
    return _form_page(request, lot=lot, values=values, errors=_field_errors(exc, _lang(request)), status=exc.status_code,
                      notice=exc.message(_lang(request)))


async def _confirm_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    lot_no, action = request.path_params["lot_no"], request.path_params["action"]
    if isinstance(exc, LotNotFound):
        raise NotFoundException(detail=exc.message_en)
    session = db_session_of(request)
    values = await _form(request)
    lot = await service.load_lot(session, request.user, lot_no)
    return _confirm_page(lot, action, values=values, errors=_field_errors(exc, _lang(request)),
                         notice=exc.message(_lang(request)), status=exc.status_code)


def _confirm_page(lot: Lot, action: str, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                  notice: str | None = None, status: int = 200) -> Template:
    return Template("auction_listings/staff_confirm.html", status_code=status, context={
        **PAGE_HELPERS, "lot": lot, "action": action, "values": values or {}, "errors": errors or {}, "notice": notice,
        "next_round": service.NEXT_ROUND.get(lot.round)})


async def _lot_page(request: Request[Principal, Auth, Any], session: DbSession, lot_no: str, *,
                    done: str | None = None, receipt: sales.SaleReceipt | None = None) -> Template:
    lot = await service.load_lot(session, request.user, lot_no)
    detail = await get_lot(session, lot.lot_no, public=False)
    documents = await lot_documents(session, lot.id, request.user)
    return Template("auction_listings/staff_lot.html", context={
        **PAGE_HELPERS, "principal": request.user, "lot": lot, "detail": detail, "documents": documents, "court": catalogue.court(lot.court_code),
        "done": done, "receipt": receipt, "editable": lot.status in service.EDITABLE})


class StaffLotsController(Controller):
    """The court's lots: list, enter, edit, and the lifecycle."""

    path = "/staff/lots"
    include_in_schema = False
    guards = [requires_staff("court")]
    opt = {"error_back": "/staff/lots"}  # refusals without a form of their own: back to the list

    @get("/", name="lots.staff.list")
    async def index(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                    status: FromQuery[str | None] = None) -> Template:
        who = request.user
        court_code = await service.staff_court(db_session, who)
        chosen = status if status in {s.value for s in LotStatus} else None
        lots = await service.lots_for(db_session, who, status=chosen)
        waiting = await service.unanswered_counts(db_session, [lot.id for lot in lots])
        template = "auction_listings/_staff_rows.html" if request.headers.get("hx-request") else \
            "auction_listings/staff_list.html"
        return Template(template, context={**PAGE_HELPERS, "principal": who, "lots": lots, "waiting": waiting, "status": chosen, "court": catalogue.court(court_code),
                                           "statuses": [s.value for s in LotStatus]})

    @get("/new", name="lots.staff.new")
    async def new(self, request: Request[Principal, Auth, Any], db_session: DbSession) -> Template:
        court = await service.staff_court(db_session, request.user)
        return _form_page(request, lot=None, values={"court_code": court or "", "has_gas": "on"}, errors={}, court=court)

    @post("/new", name="lots.staff.create", opt=error_view(_form_refused))
    async def create(self, request: Request[Principal, Auth, Any], db_session: DbSession) -> Redirect:
        lot = await service.create_lot(db_session, request.user, await _form(request))
        await db_session.commit()
        return Redirect(f"/staff/lots/{lot.lot_no}?done=created", status_code=303)

    @post("/check", name="lots.staff.check")
    async def check_rules(self, request: Request[Principal, Auth, Any], db_session: DbSession) -> Template:
        """htmx: the rules the form as typed breaks so far (200 always: it is advice, not a refusal)."""
        form = await _form(request)
        data, problems = parse_form(form)
        previous = None
        lot_no = form.get("lot_no", "")
        if lot_no:
            lot = await service.load_lot(db_session, request.user, lot_no)
            data.round = lot.round
            previous = await service.previous_round(db_session, lot)
        problems += check(data, previous)
        return Template("auction_listings/_rules_check.html", context={"problems": problems})

    @get("/{lot_no:str}", name="lots.staff.lot")
    async def lot_page(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                       lot_no: FromPath[str]) -> Template:
        return await _lot_page(request, db_session, lot_no, done=request.query_params.get("done"))

    @get("/{lot_no:str}/edit", name="lots.staff.edit")
    async def edit(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                   lot_no: FromPath[str]) -> Template:
        lot = await service.load_lot(db_session, request.user, lot_no)
        if lot.status not in service.EDITABLE:
            raise service.not_editable(lot)
        return _form_page(request, lot=lot, values=_as_form(lot), errors={})

    @post("/{lot_no:str}/edit", name="lots.staff.update", opt=error_view(_form_refused))
    async def update(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                     lot_no: FromPath[str]) -> Redirect:
        form = await _form(request)
        lot = await service.update_lot(db_session, request.user, lot_no, form, expected_version=_version(form))
        await db_session.commit()
        return Redirect(f"/staff/lots/{lot.lot_no}?done=saved", status_code=303)

    @post("/{lot_no:str}/act/{action:str}", name="lots.staff.act")
    async def act(self, request: Request[Principal, Auth, Any], db_session: DbSession, lot_no: FromPath[str],
                  action: FromPath[str]) -> Redirect:
        if action not in SIMPLE_ACTIONS:
            raise NotFoundException(detail="no such action")
        form = await _form(request)
        who, version = request.user, _version(form)
        if action == "request_review":
            await review.request_review(db_session, who, lot_no, expected_version=version)
        elif action == "publish":
            await service.publish(db_session, who, lot_no, expected_version=version)
        elif action == "start_bidding":
            await service.start_bidding(db_session, who, lot_no, expected_version=version)
        else:
            await service.resume(db_session, who, lot_no, expected_version=version)
        await db_session.commit()
        return Redirect(f"/staff/lots/{lot_no}?done={action}", status_code=303)

    @get("/{lot_no:str}/confirm/{action:str}", name="lots.staff.confirm")
    async def confirm_page(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                           lot_no: FromPath[str], action: FromPath[str]) -> Template:
        if action not in CONFIRMED_ACTIONS:
            raise NotFoundException(detail="no such action")
        lot = await service.load_lot(db_session, request.user, lot_no)
        return _confirm_page(lot, action)

    @post("/{lot_no:str}/confirm/{action:str}", name="lots.staff.confirmed", opt=error_view(_confirm_refused))
    async def confirmed(self, request: Request[Principal, Auth, Any], db_session: DbSession, lot_no: FromPath[str],
                        action: FromPath[str]) -> Redirect | Template:
        if action not in CONFIRMED_ACTIONS:
            raise NotFoundException(detail="no such action")
        form = await _form(request)
        who, version = request.user, _version(form)
        if form.get("confirm") != "yes":
            raise WrongStatus("请勾选确认框后再提交:此操作不能撤销。",
                              "Tick the box to confirm: this cannot be undone.", field="confirm")
        target = lot_no
        if action == "suspend":
            await service.suspend(db_session, who, lot_no, form.get("reason"), expected_version=version)
        elif action == "withdraw":
            await service.withdraw(db_session, who, lot_no, form.get("reason"), expected_version=version)
        elif action == "unsold":
            _, following = await service.record_unsold(db_session, who, lot_no, relist=form.get("relist") == "yes",
                                                       expected_version=version)
            target = following.lot_no if following is not None else lot_no
        else:
            _, receipt = await sales.record_sale(db_session, who, lot_no, form, expected_version=version)
            await db_session.commit()
            # The verification code is shown here, once (only its digest is kept): no redirect,
            # so it is in no URL. Sending the form again is told the sale is already recorded.
            return await _lot_page(request, db_session, lot_no, done="sale", receipt=receipt)
        await db_session.commit()
        return Redirect(f"/staff/lots/{target}?done={action}", status_code=303)


def _review_page(target: review.ReviewTarget, *, values: dict[str, str], errors: dict[str, str],
                 notice: str | None = None, status: int = 200, done: str | None = None) -> Template:
    zh, en = DEPARTMENT_NAMES[Department(target.department)]
    return Template("auction_listings/staff_review.html", status_code=status, context={
        **PAGE_HELPERS, "t": target, "lot": target.lot,
        "latest": finding_view(target.latest) if target.latest is not None else None, "values": values, "errors": errors, "notice": notice, "done": done,
        "dept_zh": zh, "dept_en": en, "court": catalogue.court(target.lot.court_code)})


def _answer_values(target: review.ReviewTarget) -> dict[str, str]:
    values: dict[str, str] = {}
    if target.latest is None:
        return values
    for area, fields in (target.latest.answers or {}).items():
        for key, value in (fields or {}).items():
            if isinstance(value, bool):
                values[f"{area}.{key}"] = "yes" if value else "no"
            elif value is not None:
                values[f"{area}.{key}"] = str(value)
    values["note"] = target.latest.note or ""
    return values


async def _review_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    if not isinstance(exc, ListingError) or exc.status_code in (403, 404):
        raise exc
    session = db_session_of(request)
    target = await review.review_target(session, request.user, request.path_params["lot_no"],
                                        request.path_params["department"])
    return _review_page(target, values=await _form(request), errors=_field_errors(exc, _lang(request)),
                        notice=exc.message(_lang(request)), status=exc.status_code)


class PreReviewController(Controller):
    """A department's structured pre-review form for one lot (opened from its queue item)."""

    path = "/staff/lots/{lot_no:str}/review/{department:str}"
    include_in_schema = False
    guards = [requires_staff()]
    opt = {"error_back": "/staff"}

    @get("/", name="lots.review.form")
    async def form(self, request: Request[Principal, Auth, Any], db_session: DbSession, lot_no: FromPath[str],
                   department: FromPath[str]) -> Template:
        target = await review.review_target(db_session, request.user, lot_no, department)
        return _review_page(target, values=_answer_values(target), errors={}, done=request.query_params.get("done"))

    @post("/", name="lots.review.answer", opt=error_view(_review_refused))
    async def answer(self, request: Request[Principal, Auth, Any], db_session: DbSession, lot_no: FromPath[str],
                     department: FromPath[str]) -> Redirect:
        await review.answer(db_session, request.user, lot_no, department, await _form(request))
        await db_session.commit()
        return Redirect(f"/staff/lots/{lot_no}/review/{department}?done=signed", status_code=303)


class CourtStaffController(Controller):
    """Administrators say which court each member of the court enforcement bureau works at."""

    path = "/admin/courts"
    include_in_schema = False
    guards = [requires_admin]

    @get("/", name="lots.admin.courts")
    async def index(self, request: Request[Principal, Auth, Any], db_session: DbSession) -> Template:
        return Template("auction_listings/admin_courts.html", context={
            "clerks": await service.court_clerks(db_session), "done": request.query_params.get("done"),
            "court_labels": {code: c.name(_lang(request)) for code, c in catalogue.courts().items()}})

    @post("/", name="lots.admin.assign")
    async def assign(self, request: Request[Principal, Auth, Any], db_session: DbSession) -> Redirect:
        form = await _form(request)
        raw = form.get("user", "")
        await service.assign_clerk(db_session, request.user, int(raw) if raw.isdigit() and len(raw) < 19 else 0,
                                   form.get("court_code", ""))
        await db_session.commit()
        return Redirect("/admin/courts?done=1", status_code=303)


route_handlers = [StaffLotsController, PreReviewController, CourtStaffController]
__all__ = ["StaffLotsController", "PreReviewController", "CourtStaffController", "route_handlers"]
