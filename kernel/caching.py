"""HTTP caching for public pages and the API: ETags from versions, conditional GET (304),
Cache-Control, and an in-process cache keyed by (object, version, language).

How a page that has not changed is served without touching the database:

1. the object's *version* (an integer the owning domain bumps on every public change) is
   learned through a :class:`VersionClock`: one small lookup per object per ``ttl`` (a
   second by default), shared by every request in that second (single flight: 500
   concurrent requests for one lot make one query, not 500), and updated at once in this
   process when the owning domain says it changed (:meth:`VersionClock.bump`);
2. the ETag is built from that version (and the language, and whatever else the page
   shows: who is signed in, their CSRF cookie), so an ``If-None-Match`` that still holds is
   answered 304 before anything is read or rendered;
3. otherwise the rendered, non-personal part of the page comes from a :class:`RenderCache`
   keyed by (object, version, language); only a miss reads and renders.

Another replica learns a change within ``ttl`` (its clock asks again); nothing is shared
between processes but the database itself, so no new moving part is needed to run several.
Personal parts (who is signed in, a follow button, the CSRF token) are never put in these
caches and pages that carry them are ``private``.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

import msgspec
from litestar import Request, Response
from litestar.utils.empty import value_or_default
from litestar.utils.scope.state import ScopeState
from markupsafe import escape

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

# HTML pages carry the CSRF token and the signed-in person's menu: the browser may keep them
# but must ask every time (a 304 is cheap), and no shared cache may keep them.
PRIVATE_REVALIDATE = "private, no-cache"
# JSON without personal data: shared caches may keep it a few seconds, then revalidate.
PUBLIC_SHORT = "public, max-age=5, must-revalidate"
VARY_PAGE = "Cookie, Accept-Language"  # the language comes from ?lang, the cookie or the header


def etag(*parts: object, weak: bool = True) -> str:
    """An ETag from the parts that decide the representation (version, language, person …)."""
    raw = "|".join(str(p) for p in parts)
    digest = hashlib.blake2b(raw.encode("utf-8"), digest_size=12).hexdigest()
    return f'W/"{digest}"' if weak else f'"{digest}"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def matches(if_none_match: str | None, current: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): does the client's ``If-None-Match`` hold ``current``?"""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    want = _opaque(current)
    return any(_opaque(candidate) == want for candidate in if_none_match.split(",")[:50])


def not_modified(request: Request[Any, Any, Any], tag: str, *, cache_control: str,
                 vary: str | None = None) -> Response[Any] | None:
    """A 304 for a GET/HEAD whose ``If-None-Match`` still holds ``tag``; None otherwise."""
    if request.method not in ("GET", "HEAD") or not matches(request.headers.get("if-none-match"), tag):
        return None
    return Response(content=b"", status_code=304, headers=cache_headers(tag, cache_control, vary))


def cache_headers(tag: str, cache_control: str, vary: str | None = None) -> dict[str, str]:
    headers = {"ETag": tag, "Cache-Control": cache_control}
    if vary:
        headers["Vary"] = vary
    return headers


def csrf_part(request: Request[Any, Any, Any], cookie: str = "csrftoken") -> str:
    """A short digest of the browser's CSRF cookie, for the ETag of a page that embeds its token
    (a page kept under an old token would post with it)."""
    value = request.cookies.get(cookie, "")
    return hashlib.blake2b(value.encode(), digest_size=6).hexdigest() if value else "-"


class RenderCache(Generic[K, V]):
    """A bounded, least-recently-used map for rendered fragments and built views.

    Keys carry the version, so an entry is never invalidated, only superseded and evicted.
    Not shared between processes; each keeps at most ``max_entries``.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[K, V] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        value = self._data.get(key)
        if value is None:
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: K, value: V) -> V:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class CsrfSlots:
    """Render a page once with stand-ins for the CSRF token, then serve it to anyone with their own token.

    A page's shell carries the visitor's CSRF token twice over: ``csrf_token()`` (autoescaped by
    Jinja) and ``csrf_input`` (Litestar's hidden field, ``html.escape``d). :meth:`context` gives the
    render context with unguessable stand-ins (random per process, so no text in a page can
    fake one); :meth:`split` cuts the rendered page at them; :meth:`fill` puts a request's token
    back, escaped exactly as the template engine would have. The bytes are those of a render
    with the real token: a token from a hostile cookie is escaped the same way.
    """

    def __init__(self) -> None:
        nonce = secrets.token_hex(16)
        self.token_slot = f"csrf-token-{nonce}"  # what csrf_token() returns during the render
        self.input_slot = f"csrf-input-{nonce}"  # the value inside csrf_input

    def context(self) -> dict[str, Any]:
        return {"csrf_token": lambda: self.token_slot,
                "csrf_input": f'<input type="hidden" name="_csrf_token" value="{self.input_slot}" />'}

    def split(self, page: str) -> tuple[tuple[bytes, ...], tuple[bool, ...]]:
        """The page as UTF-8 pieces between the slots, and which slot (token: True, input: False) follows each."""
        pieces: list[bytes] = []
        kinds: list[bool] = []
        rest = page
        while True:
            at_token, at_input = rest.find(self.token_slot), rest.find(self.input_slot)
            if at_token < 0 and at_input < 0:
                pieces.append(rest.encode())
                return tuple(pieces), tuple(kinds)
            is_token = at_input < 0 or 0 <= at_token < at_input
            at, slot = (at_token, self.token_slot) if is_token else (at_input, self.input_slot)
            pieces.append(rest[:at].encode())
            kinds.append(is_token)
            rest = rest[at + len(slot):]

    @staticmethod
    def fill(pieces: tuple[bytes, ...], kinds: tuple[bool, ...], request: Request[Any, Any, Any]) -> bytes:
        if not kinds:
            return pieces[0]
        token = str(value_or_default(ScopeState.from_scope(request.scope).csrf_token, ""))
        as_token = str(escape(token)).encode()
        as_input = html.escape(token).encode()
        out = [pieces[0]]
        for kind, piece in zip(kinds, pieces[1:], strict=True):
            out.append(as_token if kind else as_input)
            out.append(piece)
        return b"".join(out)


def digest(*parts: Any) -> bytes:
    """A short, stable digest of what a render depends on (views as msgspec structs or
    dataclasses, lists of them, strings, numbers, dates): equal parts, equal digest."""
    return hashlib.blake2b(msgspec.json.encode(parts), digest_size=16).digest()


Slices = tuple[tuple[bytes, ...], tuple[bool, ...]]  # CsrfSlots.split's pieces and slot kinds


class WholePages(Generic[K]):
    """Whole pages for visitors who are not signed in, rendered once and served to each with their own CSRF token.

    Such a page shows the same bytes to every visitor but for the CSRF token (no menu of a
    person, no query string): :meth:`serve` renders it once per key (the key names everything
    the page shows besides the request's path: the view's :func:`digest`, the language, the
    day …; the path is added here, as the shell's language switch links back to it) with
    :class:`CsrfSlots`' stand-ins, and fills each request's token into the kept UTF-8 pieces.
    """

    def __init__(self, max_entries: int = 4096) -> None:
        self.pages: RenderCache[tuple[K, str, str], Slices] = RenderCache(max_entries)
        self.slots = CsrfSlots()

    @staticmethod
    def applies(request: Request[Any, Any, Any]) -> bool:
        """A visitor who is not signed in, asking without a query string: the page is everyone's."""
        scope = request.scope
        return scope.get("user") is None and not scope.get("query_string")

    def serve(self, request: Request[Any, Any, Any], key: K, render: Callable[[dict[str, Any]], str]) -> bytes:
        """The page for ``key``; ``render(slots)`` renders it (``slots``: the CSRF stand-ins to add to its
        context) on a miss. Only for requests :meth:`applies` to."""
        scope = request.scope
        full = (key, scope.get("root_path", ""), scope["path"])
        page = self.pages.get(full)
        if page is None:
            page = self.pages.put(full, self.slots.split(render(self.slots.context())))
        return self.slots.fill(*page, request)


Fetch = Callable[[K], Awaitable[V | None]]


class VersionClock(Generic[K]):
    """The current version of objects, asked of the owner at most once per ``ttl`` per object.

    ``fetch(key)`` returns the version (None: no such object, remembered as briefly). Requests
    arriving while a lookup is in flight wait for that lookup. ``bump`` records a version the
    process itself just wrote (so this process never serves older content after its own change).
    """

    def __init__(self, fetch: Callable[[K], Awaitable[int | None]], *, ttl: float = 1.0,
                 max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.fetch = fetch
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._known: OrderedDict[K, tuple[float, int | None]] = OrderedDict()
        self._inflight: dict[K, asyncio.Future[int | None]] = {}
        self.lookups = 0

    async def version(self, key: K) -> int | None:
        now = self.clock()
        known = self._known.get(key)
        if known is not None and now - known[0] < self.ttl:
            return known[1]
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            self.lookups += 1
            value = await self.fetch(key)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, no "never retrieved" warning
            raise
        finally:
            self._inflight.pop(key, None)
        self._remember(key, value, self.clock())
        future.set_result(value)
        return value

    def peek(self, key: K) -> tuple[bool, int | None] | None:
        """(fresh, version) as last learned, without asking the owner; None: never learned."""
        known = self._known.get(key)
        if known is None:
            return None
        return self.clock() - known[0] < self.ttl, known[1]

    def bump(self, key: K, version: int) -> None:
        """This process changed the object: its new version is known now."""
        known = self._known.get(key)
        if known is None or known[1] is None or known[1] < version:
            self._remember(key, version, self.clock())

    def forget(self, keys: Iterable[K] | None = None) -> None:
        if keys is None:
            self._known.clear()
            return
        for key in keys:
            self._known.pop(key, None)

    def _remember(self, key: K, value: int | None, at: float) -> None:
        self._known[key] = (at, value)
        self._known.move_to_end(key)
        while len(self._known) > self.max_entries:
            self._known.popitem(last=False)


__all__ = ["PRIVATE_REVALIDATE", "PUBLIC_SHORT", "VARY_PAGE", "CsrfSlots", "RenderCache", "VersionClock", "WholePages",
           "cache_headers", "csrf_part", "digest", "etag", "matches", "not_modified"]
