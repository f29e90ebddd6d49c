"""The creditor's (and debtor's) case pages, the court's staff pages for cases, and the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from accounts.models import User
from accounts.principal import Principal
from cases import ics
from cases.access import (
    CASE_GRANT,
    CaseChecker,
    assign_court,
    cases_of,
    grant_subject,
    grants_of,
    link_account,
    staff_courts,
    viewer_for,
)
from cases.catalogue import catalogue
from cases.documents import case_documents
from cases.follow import is_following, set_following
from cases.ingest import add_to_case, ingest_case
from cases.labels import PAYOUT_STATES, label
from cases.models import CourtStaff, EnforcementCase
from cases.numbers import normalise_case_number, parse_case_number
from cases.read import CaseRows, CaseView, Viewer, build_view, load_rows, reader, viewer_from
from cases.schemas import (
    AssetOut,
    AssetsIn,
    AuctionsIn,
    CaseIn,
    CaseLookupOut,
    IngestResult,
    LookupIn,
    MoneyListIn,
    MyCasesOut,
    NextOut,
    NodeOut,
    NodesIn,
    PayoutOut,
    PlansIn,
)
from kernel.auth import Auth, auth_of, principal_of
from kernel.caching import WholePages, digest
from kernel.deps import (
    Caller,
    CurrentPrincipal,
    Lang,
    Settings,
    ThrottleDep,
    request_lang,
    set_request_lang,
)
from kernel.errors import BilingualError, error_view
from kernel.guards import requires_service, requires_staff, requires_token
from kernel.i18n import N_, current_lang
from storage.context import DbSession

CLUE_KINDS = ("asset_clue", "refusal_clue")


class LookupForm(msgspec.Struct):
    case_number: str = ""
    id_number: str = ""
    query_code: str = ""


def _lookup_page(status: int, error: str | None, case_number: str, mine: list[Any] | None = None,
                 headers: dict[str, str] | None = None) -> Template:
    return Template("cases/lookup.html", status_code=status, headers=headers,
                    context={"error": error, "case_number": case_number, "mine": mine or []})


async def _lookup_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The lookup form again with the case number as typed (never the ID number or code) and why."""
    raw = str((await request.form()).get("case_number", ""))[:60]
    return _lookup_page(exc.status_code, exc.message(request_lang(request)), normalise_case_number(raw),
                        headers=exc.headers)


async def case_for(request: Request[Any, Any, Any], session: Any,
                   case_id: int) -> tuple[CaseRows, Viewer] | None:
    """The case's rows and how this caller (a party: linked account or grant cookie) sees it; None: they may not."""
    rows = await load_rows(session, case_id) if 0 < case_id < 2**63 else None
    if rows is None:
        return None
    principal = principal_of(request)
    viewer = viewer_from(rows.parties, principal.user_id if principal else None,
                         grants_of(auth_of(request), list(request.cookies), rows.case))
    return (rows, viewer) if viewer is not None else None


# The whole case page for a party who opened it with the answers (grant cookie) and is not signed
# in: keyed by the digest of what it shows (the view as this party sees it, the documents), the
# language and the day; the poll interval is the process's. kernel.caching.WholePages adds the
# path and fills in each request's CSRF token. Bounded per process; a changed case has a new digest.
_PAGES: WholePages[tuple[bytes, str, dt.date]] = WholePages(1024)  # ≈ 12 kB a page: ≈ 12 MB at most


def _render(request: Request[Any, Any, Any], template: str, context: dict[str, Any]) -> str:
    engine = request.app.template_engine
    assert engine is not None  # the portal always has one
    return str(engine.get_template(template).render(**context, request=request))


def _page_context(view: CaseView, request: Request[Any, Any, Any], poll_seconds: int, **extra: Any) -> dict[str, Any]:
    return {"c": view, "poll_seconds": poll_seconds, "staff": view.viewer.kind == "staff",
            "sent": request.query_params.get("sent", "")[:20], **extra}


class CasesController(Controller):
    path = "/cases"
    include_in_schema = False

    @get("/", name="cases.lookup")
    async def lookup(self, db_session: DbSession, principal: CurrentPrincipal,
                     number: FromQuery[str] = "") -> Template:
        mine = await cases_of(db_session, principal.user_id) if principal is not None else []
        return _lookup_page(200, None, normalise_case_number(number[:60]), mine)

    @post("/", name="cases.verify", status_code=303, opt=error_view(_lookup_refused))
    async def verify(self, request: Request[Any, Any, Any], db_session: DbSession, settings: Settings,
                     throttle: ThrottleDep, principal: CurrentPrincipal,
                     data: Annotated[LookupForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Response[Any]:
        checker = CaseChecker(settings.secret_key, throttle)
        # Malformed answers (422), wrong ones (404) and too many (429) go to _lookup_refused.
        proven = await checker.verify(db_session, data.case_number[:60], data.id_number[:40], data.query_code[:64],
                                      auth_of(request).client_key)
        if principal is not None and await link_account(db_session, proven.party, principal):
            await db_session.commit()
        case = proven.case
        return Redirect(f"/cases/{case.id}", status_code=303, cookies=[CASE_GRANT.cookie(
            settings.secret_key, grant_subject(case.id, proven.party.id), case.query_code_version,
            secure=settings.secure_cookies)])

    @post("/forget", name="cases.forget", status_code=303)
    async def forget(self, request: Request[Any, Any, Any], settings: Settings) -> Response[Any]:
        """“Forget this device”: drop every case grant this browser holds (works without JavaScript)."""
        return Redirect("/cases", status_code=303,
                        cookies=CASE_GRANT.deletions(request.cookies, secure=settings.secure_cookies))

    @get("/{case_id:int}", name="cases.page")
    async def page(self, request: Request[Any, Any, Any], engine: NamedDependency[AsyncEngine], lang: Lang,
                   settings: Settings, principal: CurrentPrincipal, case_id: FromPath[int]) -> Response[Any]:
        # Read-only: every statement on one autocommit connection (no transaction around them).
        async with reader(engine).connect() as conn:
            found = await case_for(request, conn, case_id)
            if found is None:
                return Redirect("/cases", status_code=303)
            rows, viewer = found
            case = rows.case
            view = await build_view(conn, case.id, viewer, lang, rows=rows)
            following = principal is not None and await is_following(conn, case.id, principal.user_id)
            documents = await case_documents(conn, case.id)
        context = _page_context(view, request, settings.poll_seconds, following=following, documents=documents,
                                signed_in=principal is not None)
        if WholePages.applies(request):  # a party by grant cookie, not signed in: the page is the same for
            # every browser holding that grant (but the CSRF token), so it is rendered once per view
            return Response(content=_PAGES.serve(request, (digest(view, documents), lang, dt.date.today()),
                                                 lambda slots: _render(request, "cases/page.html",
                                                                       {**context, **slots})),
                            media_type=MediaType.HTML)
        return Template("cases/page.html", context=context)

    @get("/{case_id:int}/live", name="cases.live")
    async def live(self, request: Request[Any, Any, Any], engine: NamedDependency[AsyncEngine], lang: Lang,
                   settings: Settings, case_id: FromPath[int]) -> Response[Any]:
        async with reader(engine).connect() as conn:
            found = await case_for(request, conn, case_id)
            if found is None:
                raise NotFoundException()
            rows, viewer = found
            case = rows.case
            etag = f'W/"c{case.id}-{case.version}-{viewer.kind}{viewer.party_id or 0}-{lang}"'
            if request.headers.get("if-none-match") == etag:
                return Response(content=b"", status_code=304, headers={"ETag": etag})
            view = await build_view(conn, case.id, viewer, lang, rows=rows)
        return Template("cases/_live.html", context=_page_context(view, request, settings.poll_seconds),
                        headers={"ETag": etag, "Cache-Control": "private, no-cache"})

    @get("/{case_id:int}/calendar.ics", name="cases.calendar")
    async def calendar_file(self, request: Request[Any, Any, Any], db_session: DbSession, lang: Lang,
                            case_id: FromPath[int]) -> Response[Any]:
        found = await case_for(request, db_session, case_id)
        if found is None:
            raise NotFoundException()
        rows, viewer = found
        case = rows.case
        view = await build_view(db_session, case.id, viewer, lang, rows=rows)
        body = ics.calendar(view.case_number, view.dates, uid_seed=f"case-{case.id}")
        return Response(content=body, media_type="text/calendar; charset=utf-8", headers={
            "Content-Disposition": f"attachment; filename=\"case-{case.id}.ics\"; filename*=UTF-8''"
                                   f"{quote(view.case_number)}.ics", "Cache-Control": "private, no-store"})

    @post("/{case_id:int}/follow", name="cases.follow", status_code=303)
    async def follow(self, request: Request[Any, Any, Any], db_session: DbSession, lang: Lang,
                     principal: CurrentPrincipal, case_id: FromPath[int]) -> Response[Any]:
        """A signed-in party starts (or stops) being told of each new node."""
        found = await case_for(request, db_session, case_id)
        if found is None:
            raise NotFoundException()
        if principal is None:
            return Redirect(f"/login?next=/cases/{case_id}", status_code=303)
        form = await request.form()
        await set_following(db_session, case_id, principal, form.get("follow") != "0", lang)
        await db_session.commit()
        return Redirect(f"/cases/{case_id}#follow", status_code=303)


# The court's case list, as the queue page's menu links to it (the composition root registers it):
# its path, label and the department whose staff (and administrators) may open it.
STAFF_PAGE = ("/staff/cases", N_("Court cases"), "court")


class StaffCasesController(Controller):
    path = STAFF_PAGE[0]
    include_in_schema = False
    guards = [requires_staff(STAFF_PAGE[2])]

    @get("/", name="staff.cases")
    async def index(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                    number: FromQuery[str] = "") -> Template:
        courts = await staff_courts(db_session, request.user)
        stmt = select(EnforcementCase).order_by(EnforcementCase.filed_on.desc(), EnforcementCase.id.desc()).limit(100)
        if courts is not None:
            stmt = stmt.where(EnforcementCase.court_code.in_(sorted(courts) or [""]))
        wanted = normalise_case_number(number[:60])
        if wanted:
            stmt = stmt.where(EnforcementCase.case_number.contains(wanted))
        rows = list((await db_session.scalars(stmt)).all())
        total_stmt = select(func.count()).select_from(EnforcementCase)
        if courts is not None:
            total_stmt = total_stmt.where(EnforcementCase.court_code.in_(sorted(courts) or [""]))
        total = await db_session.scalar(total_stmt)
        cat = catalogue()
        clerks: list[Any] = []
        assigned: dict[int, list[str]] = {}
        if request.user.is_admin:
            clerks = list((await db_session.scalars(select(User).where(
                User.role == "staff", User.department == "court", User.is_active.is_(True))
                .order_by(User.display_name))).all())
            for uid, code in (await db_session.execute(select(CourtStaff.user_id, CourtStaff.court_code))).all():
                assigned.setdefault(uid, []).append(code)
        return Template("cases/staff_list.html", context={
            "cases": rows, "number": wanted, "total": total or 0, "courts": cat.courts, "stages": cat,
            "no_court": courts is not None and not courts, "clerks": clerks, "assigned": assigned})

    @post("/courts", name="staff.cases.courts", status_code=303)
    async def assign(self, request: Request[Principal, Auth, Any], db_session: DbSession) -> Redirect:
        """An administrator adds court staff to a court (or removes them): a plain form."""
        form = await request.form()
        try:
            user_id = int(str(form.get("user_id", "")))
        except ValueError:
            user_id = 0
        await assign_court(db_session, request.user, user_id, str(form.get("court_code", "")),
                           form.get("assigned") != "0")
        await db_session.commit()
        return Redirect("/staff/cases#courts", status_code=303)

    @get("/find", name="staff.cases.find")
    async def find(self, request: Request[Principal, Auth, Any], db_session: DbSession,
                   number: FromQuery[str] = "") -> Redirect:
        canonical = parse_case_number(number[:60]).text
        case = await db_session.scalar(select(EnforcementCase).where(EnforcementCase.case_number == canonical))
        if case is None or await viewer_for(db_session, case, request.user, as_staff=True) is None:
            raise NotFoundException()
        return Redirect(f"/staff/cases/{case.id}", status_code=303)

    @get("/{case_id:int}", name="staff.case")
    async def case_page(self, request: Request[Principal, Auth, Any], db_session: DbSession, lang: Lang,
                        settings: Settings, case_id: FromPath[int]) -> Template:
        case = await db_session.get(EnforcementCase, case_id) if 0 < case_id < 2**63 else None
        viewer = await viewer_for(db_session, case, request.user, as_staff=True) if case is not None else None
        if case is None or viewer is None:
            raise NotFoundException()  # another court's case looks like no case
        view = await build_view(db_session, case, viewer, lang)
        documents = await case_documents(db_session, case.id)
        return Template("cases/page.html", context=_page_context(view, request, settings.poll_seconds,
                                                                 documents=documents, following=False,
                                                                 signed_in=True))


# --- JSON API --------------------------------------------------------------------------------------


def lookup_out(view: CaseView, lang: str) -> CaseLookupOut:
    """The lookup contract (docs/cases.md): what the assistant reads out."""
    payout = view.my_payout
    return CaseLookupOut(
        case_number=view.case_number, court=view.court_name, stage=view.stage, stage_label=view.stage_label,
        role=view.viewer.kind,
        latest_node=NodeOut(name=view.latest.name, at=view.latest.at, description=view.latest.description)
        if view.latest else None,
        next=NextOut(name=view.next.name, likely_from=view.next.likely_from, likely_to=view.next.likely_to)
        if view.next else None,
        assets=[AssetOut(kind=a.kind, kind_label=a.kind_label, description=a.description, state=a.state,
                         state_label=a.state_label, value=f"{a.value:.2f}" if a.value is not None else None)
                for a in view.assets],
        my_payout=PayoutOut(amount=f"{payout.amount:.2f}", status=payout.state,
                            status_label=label(PAYOUT_STATES, payout.state, lang)) if payout else None,
        url=f"/cases/{view.id}",
    )


def _api_lang(request: Request[Any, Any, Any], wanted: str | None) -> str:
    if wanted:
        set_request_lang(request, wanted)  # errors answer in it too
        current_lang.set(wanted)
    return request_lang(request)


class CaseAPI(Controller):
    path = "/api/v1/cases"
    tags = ["cases"]
    guards = [requires_service]

    @post("/lookup", name="api.cases.lookup", status_code=200, summary="A party's case, checked like the page",
          description=(
              "For the assistant's action server (Authorization: Bearer service token), for the person in the chat. "
              "The case number, the party's ID number and the case query code must all match: unknown cases and "
              "wrong answers get the same 404 (code case_not_found); a malformed case number or an ID number with a "
              "wrong check digit is a 422 saying what to fix; repeated failures (per case and per chat client, "
              "X-Chat-Client) get 429 with Retry-After. Names the answer's language with `language` (zh/en)."))
    async def lookup(self, request: Request[Any, Any, Any], caller: Caller, db_session: DbSession,
                     settings: Settings, throttle: ThrottleDep, data: JSONBody[LookupIn],
                     chat_client: Annotated[str | None, HeaderParameter(name="X-Chat-Client")] = None,
                     ) -> CaseLookupOut:
        lang = _api_lang(request, data.language)
        proven = await CaseChecker(settings.secret_key, throttle).verify(
            db_session, data.case_number, data.id_number, data.query_code, caller.client_key)
        viewer = Viewer(proven.party.role, proven.party.id)  # type: ignore[arg-type]
        return lookup_out(await build_view(db_session, proven.case, viewer, lang), lang)

    @get("/mine", name="api.cases.mine", summary="The signed-in citizen's cases",
         description="With the service token and X-Citizen-Token (the portal's signed identity of the chat's "
                     "person): the cases whose party is linked to that account. 403 without a citizen.")
    async def mine(self, request: Request[Any, Any, Any], caller: Caller, db_session: DbSession,
                   language: FromQuery[str | None] = None,
                   citizen_token: Annotated[str | None, HeaderParameter(name="X-Citizen-Token")] = None,
                   ) -> MyCasesOut:
        if caller.citizen_id is None:
            raise PermissionDeniedException(detail="name the citizen: send X-Citizen-Token with the service token")
        lang = _api_lang(request, language if language in ("zh", "en") else None)
        out = []
        for case, party in await cases_of(db_session, caller.citizen_id):
            viewer = Viewer(party.role, party.id)  # type: ignore[arg-type]
            out.append(lookup_out(await build_view(db_session, case, viewer, lang), lang))
        return MyCasesOut(cases=out)


INGEST_ACTOR = "system:court-case-system"


async def _add(db_session: DbSession, settings: Settings, case_number: str, **parts: Any) -> IngestResult:
    """The five "add to a case" routes: one call, one commit (separate routes keep OpenAPI's schemas)."""
    result = await add_to_case(db_session, case_number, secret=settings.secret_key, actor_label=INGEST_ACTOR,
                               **parts)
    await db_session.commit()
    return result


class CaseIngestAPI(Controller):
    """For the court's case system: its own token (CASE_INGEST_TOKEN), which calls these routes and
    nothing else; the assistant's service token is refused here (403)."""

    path = "/api/v1/ingest"
    tags = ["case ingest"]
    guards = [requires_token("case_ingest")]

    @post("/cases", name="api.ingest.case", summary="Create or update a case (idempotent by source ids)",
          description="Authorization: Bearer <the court system's ingest token, CASE_INGEST_TOKEN> on every "
                      "/api/v1/ingest route (the assistant's service token gets 403). Sends the whole case: parties (ID numbers are hashed on arrival), nodes, assets, auctions, "
                      "money and distribution plans. The same source_id again updates that record. 422 lists every "
                      "problem with its path. A new case without a query_code gets one, returned once.")
    async def case(self, db_session: DbSession, settings: Settings, data: JSONBody[CaseIn]) -> Response[IngestResult]:
        result = await ingest_case(db_session, data, secret=settings.secret_key, actor_label=INGEST_ACTOR)
        await db_session.commit()
        return Response(result, status_code=201 if result.created else 200)

    @post("/cases/nodes", name="api.ingest.nodes", status_code=200, summary="Add progress nodes to a case")
    async def nodes(self, db_session: DbSession, settings: Settings, data: JSONBody[NodesIn]) -> IngestResult:
        return await _add(db_session, settings, data.case_number, nodes=data.nodes)

    @post("/cases/assets", name="api.ingest.assets", status_code=200, summary="Add or update assets of a case")
    async def assets(self, db_session: DbSession, settings: Settings, data: JSONBody[AssetsIn]) -> IngestResult:
        return await _add(db_session, settings, data.case_number, assets=data.assets)

    @post("/cases/auctions", name="api.ingest.auctions", status_code=200, summary="Add or update auctions of a case")
    async def auctions(self, db_session: DbSession, settings: Settings, data: JSONBody[AuctionsIn]) -> IngestResult:
        return await _add(db_session, settings, data.case_number, auctions=data.auctions)

    @post("/cases/money", name="api.ingest.money", status_code=200, summary="Add money received or paid out")
    async def money(self, db_session: DbSession, settings: Settings, data: JSONBody[MoneyListIn]) -> IngestResult:
        return await _add(db_session, settings, data.case_number, money=data.money)

    @post("/cases/plans", name="api.ingest.plans", status_code=200,
          summary="Add or update distribution plans and their payouts")
    async def plans(self, db_session: DbSession, settings: Settings, data: JSONBody[PlansIn]) -> IngestResult:
        return await _add(db_session, settings, data.case_number, plans=data.plans)


route_handlers = [CasesController, StaffCasesController, CaseAPI, CaseIngestAPI]

__all__ = ["CLUE_KINDS", "case_for", "CaseAPI", "CaseIngestAPI", "CasesController", "StaffCasesController", "lookup_out",
           "route_handlers"]
