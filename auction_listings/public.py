"""Public lot pages and the lot API: search (``/lots``), the lot page (``/lots/{lot_no}``),
following a lot, ``GET /api/v1/lots`` and ``GET /api/v1/lots/{lot_no}``.

Caching (kernel.caching): every answer carries an ETag; a matching ``If-None-Match`` is a 304.
The lot page and the lot API learn the lot's version from the in-process clock (one lookup a
second) and, when nothing changed, answer without touching the database: the body of the page
is rendered once per (lot, version, language); only the page's personal frame (menu, CSRF
token, follow button) is rendered per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, Parameter
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from auction_listings import follows
from auction_listings.public_cache import LotPublicCache, PublicLot
from auction_listings.public_views import buyer_values, comparisons, estimable, lot_out, result_of, tax_params
from auction_listings.read import LotView
from auction_listings.seams import EstimateLike, TaxEstimator, TaxLinesRenderer
from auction_listings.search import SORTS, STATUS_CHOICES, LotFilters, Places, SearchResult, parse_filters, search
from kernel.auth import Auth, principal_of
from kernel.caching import PRIVATE_REVALIDATE, PUBLIC_SHORT, RenderCache, cache_headers, csrf_part, etag, not_modified
from kernel.deps import Lang, request_lang
from kernel.errors import BilingualError, error_view, exception_handler, is_htmx
from kernel.guards import requires_signed_in
from storage.context import DbSession
from storage.db import utcnow

PAGE_VARY = "Cookie, Accept-Language, HX-Request"


@dataclass
class PublicListing:
    """What the public pages are given by the composition root (the ``listing`` dependency)."""

    cache: LotPublicCache
    tax_estimator: TaxEstimator | None = None
    tax_lines: TaxLinesRenderer | None = None  # the estimator owner's rendering of an estimate's lines
    places: Places = field(default_factory=Places)
    # The search form rendered, by (places read, what was asked, language): see _form_html.
    forms: RenderCache[tuple[int, tuple[tuple[str, str], ...], str], str] = field(
        default_factory=lambda: RenderCache(1024))


ListingDep = NamedDependency[PublicListing]


class LotNotFound(BilingualError):
    status_code = 404
    code = "lot_not_found"


def _not_found(lot_no: str) -> LotNotFound:
    return LotNotFound(f"没有编号为“{lot_no[:40]}”的公开拍品。请检查编号,或在拍品搜索中查找。",
                       f"There is no public lot numbered “{lot_no[:40]}”. Check the number or search the lots.",
                       lot_no=lot_no[:40])


def _clean_no(lot_no: str) -> str:
    """The number as given, trimmed; one longer than any lot number cannot match (a 404, not a prefix)."""
    lot_no = lot_no.strip()
    if len(lot_no) > 40 or not lot_no.isprintable():
        raise _not_found(lot_no)
    return lot_no


def _person(request: Request[Any, Any, Any]) -> str:
    who = principal_of(request)
    return f"u{who.user_id}" if who else "anon"


# --- search -----------------------------------------------------------------------------------


def _search_context(f: LotFilters | None, result: SearchResult | None, places: list[tuple[str, str]],
                    values: dict[str, str], error: str | None = None, error_field: str | None = None) -> dict[str, Any]:
    cities = sorted({c for c, _ in places})
    return {"f": f, "result": result, "values": values, "cities": cities, "places": places, "sorts": list(SORTS),
            "statuses": STATUS_CHOICES, "error": error, "error_field": error_field}


def _values(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: str(v)[:40] for k, v in request.query_params.items() if k != "lang"}


async def _search_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The search form again with what was asked and the message beside the field it names."""
    listing: PublicListing = request.app.state["listing"]
    async with listing.cache.reader.connect() as conn:
        places = await listing.places.get(conn)
    context = _search_context(None, None, places, _values(request), exc.message(request_lang(request)),
                              exc.details.get("field"))
    template = "auction_listings/_results.html" if is_htmx(request) else "auction_listings/search.html"
    return Template(template, status_code=exc.status_code, context=context,
                    headers={"Cache-Control": "no-store", "Vary": PAGE_VARY})


def _results_html(request: Request[Any, Any, Any], f: LotFilters, result: SearchResult) -> str:
    """The results part of the page (the same for everyone: no person, no token in it)."""
    engine = request.app.template_engine
    assert engine is not None
    return str(engine.get_template("auction_listings/_results.html").render(f=f, result=result, error=None))


def _form_html(request: Request[Any, Any, Any], listing: PublicListing, places: list[tuple[str, str]],
               values: dict[str, str], lang: str) -> Markup:
    """The search form, rendered once per (places read, what was asked, language) and kept: it
    holds no person and no token, and with every city and district an option it was about a fifth
    of a search's instructions (callgrind: 2.9 M of 13.4 M). The places are read again once a
    minute (a new read is a new key)."""
    key = (listing.places.fetched, tuple(sorted(values.items())), lang)
    html = listing.forms.get(key)
    if html is None:
        engine = request.app.template_engine
        assert engine is not None
        context = _search_context(None, None, places, values)
        html = listing.forms.put(key, engine.get_template("auction_listings/_search_form.html").render(context))
    return Markup(html)  # noqa: S704 - rendered by our own autoescaping template


class LotSearchController(Controller):
    path = "/lots"
    include_in_schema = False

    @get("/", name="lots.search", opt=error_view(_search_refused))
    async def search_page(self, request: Request[Any, Any, Any], listing: ListingDep, lang: Lang) -> Response[Any]:
        f = parse_filters(request.query_params)  # FilterInvalid → the form with the message, 400
        fragment = is_htmx(request)
        query = f.query_string()
        searches = listing.cache.searches

        async def compute() -> tuple[SearchResult, str]:
            async with listing.cache.reader.connect() as conn:  # one connection, no ORM session
                result = await search(conn, f)
            return result, _results_html(request, f, result)

        # Kept, or computed once for all who ask the same at the same time (public_cache.SearchResults).
        result, results_html = await searches.shared((query, lang), compute)
        places = [] if fragment else listing.places.peek()  # asked once a minute
        if places is None:
            async with listing.cache.reader.connect() as conn:
                places = await listing.places.get(conn)
        parts: list[object] = ["lots", lang, query, result.total, result.total_exact, fragment]
        parts += [(c.lot_no, c.version) for c in result.items]
        if not fragment:
            parts += [_person(request), csrf_part(request)]
        tag = etag(*parts)
        if (unchanged := not_modified(request, tag, cache_control=PRIVATE_REVALIDATE, vary=PAGE_VARY)) is not None:
            return unchanged
        headers = cache_headers(tag, PRIVATE_REVALIDATE, PAGE_VARY)
        if fragment:
            return Response(results_html, media_type=MediaType.HTML, headers=headers)
        context = {"f": f, "result": result, "form_html": _form_html(request, listing, places, _values(request), lang),
                   "results_html": Markup(results_html)}  # noqa: S704
        return Template("auction_listings/search.html", context=context, headers=headers)


# --- the lot page -------------------------------------------------------------------------------


async def _public_lot(listing: PublicListing, lot_no: str, session: AsyncSession | None = None) -> PublicLot:
    """The lot as it is now: from the caches, else one read (in ``session``'s transaction if given)."""
    if session is not None:
        found = await listing.cache.read(lot_no, await session.connection())
    else:
        found = await listing.cache.current(lot_no)
    if found is None:
        raise _not_found(lot_no)
    return found


def _estimate(listing: PublicListing, found: PublicLot, adjust: dict[str, str]) -> EstimateLike | None:
    if listing.tax_estimator is None or not estimable(found.detail.lot):
        return None
    return listing.tax_estimator(tax_params(found.detail, adjust))  # a bad value → 400 naming it


def _body(request: Request[Any, Any, Any], listing: PublicListing, found: PublicLot, lang: str) -> Markup:
    """The lot's public body (facts, photos, findings, versions, documents, result), rendered once
    per (lot, version, language)."""
    lot = found.detail.lot
    key = (lot.lot_no, lot.version, lang)
    html = listing.cache.bodies.get(key)
    if html is None:
        engine = request.app.template_engine
        assert engine is not None  # the portal always has one
        template = engine.get_template("auction_listings/_lot_body.html")
        html = listing.cache.bodies.put(key, template.render(
            d=found.detail, lot=lot, photos=found.photos, files=found.files, compared=comparisons(found.detail),
            result=result_of(found.detail), now=utcnow()))
    return Markup(html)  # noqa: S704 - rendered by our own autoescaping template


def _tax_section(request: Request[Any, Any, Any], listing: PublicListing, found: PublicLot, lang: str,
                 adjust: dict[str, str], tax_error: str | None = None) -> Markup:
    """The tax section; for the default circumstances rendered once per (lot, version, language)
    (it has no personal part: a GET form), otherwise for the buyer's own values."""
    lot = found.detail.lot
    key = (lot.lot_no, lot.version, f"{lang}:tax")
    default = not adjust and tax_error is None
    html = listing.cache.bodies.get(key) if default else None
    if html is None:
        engine = request.app.template_engine
        assert engine is not None
        estimate = None if tax_error else _estimate(listing, found, adjust)  # a bad value → 400 naming it
        html = engine.get_template("auction_listings/_lot_tax.html").render(
            **_tax_context(request, listing, lot, estimate, adjust, tax_error))
        if default:
            listing.cache.bodies.put(key, html)
    return Markup(html)  # noqa: S704 - rendered by our own autoescaping template


def _tax_context(request: Request[Any, Any, Any], listing: PublicListing, lot: LotView,
                 estimate: EstimateLike | None, adjust: dict[str, str], tax_error: str | None = None) -> dict[str, Any]:
    """What ``_lot_tax.html`` shows: the form, and the estimate's lines as the estimator's owner renders them."""
    lines = None
    if estimate is not None and listing.tax_lines is not None:
        engine = request.app.template_engine
        assert engine is not None
        lines = Markup(listing.tax_lines(engine, estimate))  # noqa: S704 - rendered by an autoescaping template
    return {"lot": lot, "tax_lines": lines, "tax_error": tax_error, "adjust": adjust, "estimable": estimable(lot),
            "has_estimator": listing.tax_estimator is not None}


def _page_context(request: Request[Any, Any, Any], listing: PublicListing, found: PublicLot, lang: str,
                  following: bool, adjust: dict[str, str], tax_error: str | None = None) -> dict[str, Any]:
    return {"lot": found.detail.lot, "body": _body(request, listing, found, lang), "following": following,
            "tax": _tax_section(request, listing, found, lang, adjust, tax_error)}


async def _following(request: Request[Any, Any, Any], listing: PublicListing, lot_id: int) -> bool:
    """Whether the signed-in person follows the lot (one small read; nobody signed in: none)."""
    who = principal_of(request)
    if who is None:
        return False
    async with AsyncSession(listing.cache.engine) as session:
        return await follows.is_following(session, who.user_id, lot_id)


async def _lot_tax_refused(request: Request[Any, Any, Any], exc: BilingualError) -> Response[Any]:
    """The lot page again, the buyer's values kept, and the message in the tax section."""
    if isinstance(exc, LotNotFound):  # no page to show it on: the plain 404
        return exception_handler(request, exc, views=False)
    listing: PublicListing = request.app.state["listing"]
    lang = request_lang(request)
    found = await _public_lot(listing, _clean_no(request.path_params["lot_no"]))
    adjust = buyer_values(request.query_params)
    message = exc.message(lang)
    if is_htmx(request):
        return Template("auction_listings/_lot_tax.html", status_code=exc.status_code,
                        context=_tax_context(request, listing, found.detail.lot, None, adjust, message),
                        headers={"Cache-Control": "no-store"})
    following = await _following(request, listing, found.detail.lot.id)
    context = _page_context(request, listing, found, lang, following, adjust, message)
    return Template("auction_listings/lot.html", status_code=exc.status_code, context=context,
                    headers={"Cache-Control": "no-store"})


class FollowForm(msgspec.Struct):
    action: str = "follow"


class LotPageController(Controller):
    path = "/lots/{lot_no:str}"
    include_in_schema = False

    @get("/", name="lots.page", opt=error_view(_lot_tax_refused, error_page="error.html", error_back="/lots"))
    async def page(self, request: Request[Any, Any, Any], listing: ListingDep, lang: Lang,
                   lot_no: FromPath[str]) -> Response[Any]:
        lot_no = _clean_no(lot_no)
        found: PublicLot | None = None
        if "if-none-match" in request.headers:  # maybe a 304: the version alone may do
            version = await listing.cache.version(lot_no)  # no database while the clock is fresh
            if version is None:
                raise _not_found(lot_no)
        else:  # the page will be shown: version and lot in one read (none while cached and fresh)
            found = await _public_lot(listing, lot_no)
            version = found.detail.lot.version
        adjust = buyer_values(request.query_params)
        who = principal_of(request)
        following: bool | None = None
        if who is not None:  # the follow button is the person's own: one small read
            lot_id = found.detail.lot.id if found is not None else await _lot_id(listing, lot_no, version)
            following = await _following(request, listing, lot_id)
        tag = etag("lot", lot_no, version, lang, _person(request), following, csrf_part(request),
                   sorted(adjust.items()))
        if (unchanged := not_modified(request, tag, cache_control=PRIVATE_REVALIDATE, vary=PAGE_VARY)) is not None:
            return unchanged
        if found is None:
            found = await listing.cache.lot(lot_no, version)
            if found is None:
                raise _not_found(lot_no)
        if found.detail.lot.version != version:  # changed between the two looks: tag what is shown
            tag = etag("lot", lot_no, found.detail.lot.version, lang, _person(request), following,
                       csrf_part(request), sorted(adjust.items()))
        context = _page_context(request, listing, found, lang, bool(following), adjust)
        return Template("auction_listings/lot.html", context=context,
                        headers=cache_headers(tag, PRIVATE_REVALIDATE, PAGE_VARY))

    @get("/tax", name="lots.tax", opt=error_view(_lot_tax_refused))
    async def tax(self, request: Request[Any, Any, Any], listing: ListingDep, lot_no: FromPath[str]) -> Template:
        """The tax section alone, for the buyer's circumstances (htmx; also a plain link)."""
        found = await _public_lot(listing, _clean_no(lot_no))
        adjust = buyer_values(request.query_params)
        context = _tax_context(request, listing, found.detail.lot, _estimate(listing, found, adjust), adjust)
        return Template("auction_listings/_lot_tax.html", context=context)

    @post("/follow", name="lots.follow", status_code=303, guards=[requires_signed_in])
    async def follow(self, request: Request[Principal, Auth, Any], db_session: DbSession, listing: ListingDep,
                     lang: Lang, lot_no: FromPath[str],
                     data: Annotated[FollowForm, Body(media_type=RequestEncodingType.URL_ENCODED)]) -> Response[Any]:
        """Follow or stop following (plain form; htmx swaps the button)."""
        found = await _public_lot(listing, _clean_no(lot_no), db_session)
        lot = found.detail.lot
        if data.action == "unfollow":
            await follows.unfollow(db_session, request.user, lot.id, lot.lot_no)
        else:
            await follows.follow(db_session, request.user, lot.id, lot.lot_no, lang)
        await db_session.commit()
        following = data.action != "unfollow"
        if is_htmx(request):
            return Template("auction_listings/_follow.html", context={"lot": lot, "following": following},
                            headers={"Cache-Control": "no-store"})
        return Redirect(f"/lots/{lot.lot_no}#follow", status_code=303)


async def _lot_id(listing: PublicListing, lot_no: str, version: int) -> int:
    found = await listing.cache.lot(lot_no, version)
    if found is None:
        raise _not_found(lot_no)
    return found.detail.lot.id


# --- JSON API -----------------------------------------------------------------------------------


def _q(description: str) -> Any:
    return Parameter(required=False, description=description)


class LotAPI(Controller):
    path = "/api/v1/lots"
    tags = ["lots"]

    @get(
        "/",
        name="api.lots",
        summary="Search public lots (the filters of the /lots page)",
        description="No credentials needed. Unknown, repeated or out-of-range parameters are a 400 whose "
                    "`details.field` names the parameter. Answers carry an ETag; If-None-Match → 304. "
                    "See docs/auction_listings_public.md.",
    )
    async def list_lots(
        self,
        request: Request[Any, Any, Any],
        db_session: DbSession,
        city: Annotated[str | None, _q("City as written on the lot, e.g. 绍兴市")] = None,
        district: Annotated[str | None, _q("District, e.g. 诸暨市")] = None,
        kind: Annotated[str | None, _q("real_estate, vehicle or other")] = None,
        status: Annotated[str | None, _q("open (default: announced or bidding), all, or one public status")] = None,
        price_min: Annotated[str | None, _q("Lowest starting price, yuan")] = None,
        price_max: Annotated[str | None, _q("Highest starting price, yuan")] = None,
        date_from: Annotated[str | None, _q("Auction (bidding start) on or after, YYYY-MM-DD (China time)")] = None,
        date_to: Annotated[str | None, _q("Auction on or before, YYYY-MM-DD (China time)")] = None,
        sort: Annotated[str | None, _q("starts (default), -starts, price, -price, newest")] = None,
        page: Annotated[str | None, _q("1 to 10000")] = None,
        per_page: Annotated[str | None, _q("10, 20 (default) or 50")] = None,
    ) -> Response[SearchResult]:
        f = parse_filters(request.query_params)
        result = await search(db_session, f)
        tag = etag("api.lots", f.query_string(), result.total, result.total_exact,
                   *((c.lot_no, c.version) for c in result.items))
        if (unchanged := not_modified(request, tag, cache_control=PUBLIC_SHORT)) is not None:
            return unchanged
        return Response(result, headers=cache_headers(tag, PUBLIC_SHORT))

    @get(
        "/{lot_no:str}",
        name="api.lot",
        summary="A public lot: facts, every department's findings with their versions, result, documents",
        description="No credentials needed. 404 for a lot that does not exist or is not public. ETag from the "
                    "lot's version; If-None-Match → 304 without reading the database while the version is fresh.",
    )
    async def get_lot(self, request: Request[Any, Any, Any], listing: ListingDep,
                      lot_no: FromPath[str]) -> Response[Any]:
        lot_no = _clean_no(lot_no)
        if "if-none-match" in request.headers:  # maybe a 304: the version alone may do
            version = await listing.cache.version(lot_no)
            if version is None:
                raise _not_found(lot_no)
            tag = etag("api.lot", lot_no, version)
            if (unchanged := not_modified(request, tag, cache_control=PUBLIC_SHORT)) is not None:
                return unchanged
        found = await _public_lot(listing, lot_no)
        key = (lot_no, found.detail.lot.version, "json")
        body = listing.cache.bodies.get(key)
        if body is None:
            body = listing.cache.bodies.put(key, msgspec.json.encode(lot_out(found.detail, found.documents)).decode())
        tag = etag("api.lot", lot_no, found.detail.lot.version)
        return Response(body.encode(), media_type="application/json", headers=cache_headers(tag, PUBLIC_SHORT))


__all__ = ["LotAPI", "LotNotFound", "LotPageController", "LotSearchController", "PublicListing"]
