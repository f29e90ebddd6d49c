"""Dependency providers every domain's handlers may ask for by name.

The composition root registers :func:`dependencies` at app level; a handler declares, e.g.,
``lang: Lang`` or ``throttle: ThrottleDep`` and gets a typed value, instead of reading
``app.state`` or ``scope["state"]``. Settings come as typed sections (protocols naming only
what domains read), so domains do not import portal's settings module.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias, runtime_checkable

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ImproperlyConfiguredException

from accounts.principal import Principal
from kernel import di
from kernel.auth import Auth, auth_of, principal_of
from kernel.i18n import DEFAULT_LANG, LANGS, current_lang
from storage.context import AppContext
from storage.throttle import Throttle


@runtime_checkable
class WebSettings(Protocol):
    """The settings every web handler may read."""

    @property
    def secret_key(self) -> str: ...
    @property
    def service_token(self) -> str: ...
    @property
    def secure_cookies(self) -> bool: ...
    @property
    def poll_seconds(self) -> int: ...


@runtime_checkable
class QueueSection(Protocol):
    @property
    def claim_lease_seconds(self) -> int: ...


@runtime_checkable
class BotSection(Protocol):
    @property
    def rasa_url(self) -> str: ...
    @property
    def timeout_seconds(self) -> float: ...


def app_context(state: State) -> AppContext:
    ctx = state.get("ctx")
    if not isinstance(ctx, AppContext):
        raise ImproperlyConfiguredException("app.state.ctx is not set: build the app with portal.app.create_app")
    return ctx


def request_lang(request: Request[Any, Any, Any]) -> str:
    """The language the portal's middleware chose for this request (Chinese by default)."""
    lang = request.scope.get("state", {}).get("lang") or current_lang.get()
    return lang if lang in LANGS else DEFAULT_LANG


def set_request_lang(request: Request[Any, Any, Any], lang: str) -> None:
    """A request that names its language in its body (the assistant's): errors answer in it."""
    if lang in LANGS:
        request.scope.setdefault("state", {})["lang"] = lang


def provide_lang(request: Request[Any, Any, Any]) -> str:
    return request_lang(request)


def provide_principal(request: Request[Any, Any, Any]) -> Principal | None:
    return principal_of(request)


def provide_caller(request: Request[Any, Any, Any]) -> Auth:
    return auth_of(request)


def provide_settings(state: State) -> WebSettings:
    return app_context(state).settings  # type: ignore[no-any-return]


def provide_queue_settings(state: State) -> QueueSection:
    return app_context(state).settings.queue  # type: ignore[no-any-return]


def provide_bot_settings(state: State) -> BotSection:
    return app_context(state).settings.bot  # type: ignore[no-any-return]


def provide_engine(state: State) -> Any:
    return app_context(state).engine


def provide_throttle(state: State) -> Throttle:
    return app_context(state).throttle


def provide_code_checker(state: State) -> Any:
    return app_context(state).code_checker


def provide_document_store(state: State) -> Any:
    """The document store the app was started with (``ctx.document_store``; a bare test app of
    the documents routes may put it at ``app.state.document_store``)."""
    ctx = state.get("ctx")
    store = ctx.document_store if isinstance(ctx, AppContext) else state.get("document_store")
    if store is None:
        raise ImproperlyConfiguredException("no document store: build it at start-up")
    return store


def provide_http_client(state: State) -> Any:
    client = app_context(state).http
    if client is None:
        raise ImproperlyConfiguredException("the HTTP client is opened at start-up; the app has not started")
    return client


# Names a handler may declare; the type says what it gets.
Lang: TypeAlias = NamedDependency[str]
CurrentPrincipal: TypeAlias = NamedDependency[Principal | None]
Caller: TypeAlias = NamedDependency[Auth]
Settings: TypeAlias = NamedDependency[WebSettings]
QueueSettings: TypeAlias = NamedDependency[QueueSection]
BotSettings: TypeAlias = NamedDependency[BotSection]
ThrottleDep: TypeAlias = NamedDependency[Throttle]


PROVIDERS: dict[str, Provide] = {
    "lang": Provide(provide_lang, sync_to_thread=False),
    "principal": Provide(provide_principal, sync_to_thread=False),
    "caller": Provide(provide_caller, sync_to_thread=False),
    "settings": Provide(provide_settings, sync_to_thread=False),
    "queue_settings": Provide(provide_queue_settings, sync_to_thread=False),
    "bot_settings": Provide(provide_bot_settings, sync_to_thread=False),
    "engine": Provide(provide_engine, sync_to_thread=False),
    "throttle": Provide(provide_throttle, sync_to_thread=False),
    "code_checker": Provide(provide_code_checker, sync_to_thread=False),
    "document_store": Provide(provide_document_store, sync_to_thread=False),
    "http_client": Provide(provide_http_client, sync_to_thread=False),
}


def dependencies() -> dict[str, Provide]:
    """Everything above, for ``Litestar(dependencies=...)`` (the same Provide objects a
    controller may also declare, e.g. to be mountable on its own). Installs the kernel's
    dependency resolution (:mod:`kernel.di`: plain-function providers without a task group)."""
    di.install()
    return dict(PROVIDERS)


__all__ = ["BotSettings", "Caller", "CurrentPrincipal", "Lang", "PROVIDERS", "QueueSettings", "Settings",
           "ThrottleDep", "WebSettings", "app_context", "dependencies", "provide_document_store", "request_lang",
           "set_request_lang"]
