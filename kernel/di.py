"""Dependency resolution without a task group for plain functions.

Litestar resolves the dependencies of one level of a handler's graph concurrently: for two
or more it opens an anyio task group and spawns one task per dependency, even when every
provider is a plain function that returns at once (the kernel's ``lang``, ``principal``,
``caller``, ``settings``, ``engine``, … all are). Measured under callgrind on the
service-token transfer API (four such dependencies), the task group was 450,000 of the
3.77 million instructions a request cost.

:func:`install` keeps Litestar's behaviour where it buys something and drops it where it
cannot: in each batch, providers that are plain synchronous functions (``sync_to_thread``
off, not generators) run inline, one after the other; the rest (coroutines, generators such
as the request's database session, thread-offloaded functions) keep Litestar's path — one
awaited directly, two or more in a task group. Results, cleanup of generator dependencies and
the first exception raised are the same as Litestar's. A plain, uncached provider whose only
parameters are ``request`` and/or ``state`` (all of the kernel's) is called with them directly
(:func:`direct_parameters`): Litestar would run them through the provider's signature model
first (a msgspec conversion that has nothing to convert) inside two wrapper coroutines.

Written against Litestar 2.x's ``KwargsModel.resolve_dependencies``;
``tests/kernel/test_di.py`` checks the behaviour, so a Litestar upgrade that changes the
internals fails a test instead of silently changing resolution.
"""

from __future__ import annotations

from typing import Any

from anyio import create_task_group
from litestar._kwargs.cleanup import DependencyCleanupGroup
from litestar._kwargs.dependencies import DependencyContainer, resolve_dependency
from litestar._kwargs.kwargs_model import KwargsModel
from litestar.connection import ASGIConnection
from litestar.di import Provide
from litestar.utils.helpers import get_exception_group

_ExceptionGroup = get_exception_group()


def runs_inline(dependency: DependencyContainer) -> bool:
    """A plain function: nothing to overlap, so no task is worth spawning for it."""
    provide = dependency.provide
    return bool(provide.has_sync_callable and not provide.sync_to_thread
                and not provide.has_sync_generator_dependency and not provide.has_async_generator_dependency)


# Parameters Litestar fills in from the connection itself (the request, the app's state): there
# is nothing to validate or convert in them.
_FROM_CONNECTION = frozenset({"request", "state"})
_DIRECT: dict[int, tuple[Provide, tuple[str, ...] | None]] = {}


def direct_parameters(provide: Provide) -> tuple[str, ...] | None:
    """For a plain, uncached provider that takes only ``request`` and/or ``state``: its parameter
    names, so it can be called with them as they are. Litestar would first run them through the
    provider's signature model (a msgspec conversion per dependency per request) and await a
    wrapper coroutine, to the same result. None for any other provider."""
    entry = _DIRECT.get(id(provide))
    if entry is None or entry[0] is not provide:
        fields = provide.signature_model._fields  # noqa: SLF001 - the parameters Litestar parsed
        names = tuple(fields) if not provide.use_cache and set(fields) <= _FROM_CONNECTION else None
        entry = _DIRECT[id(provide)] = (provide, names)
    return entry[1]


async def resolve_dependencies(self: KwargsModel, connection: ASGIConnection[Any, Any, Any, Any],
                               kwargs: dict[str, Any]) -> DependencyCleanupGroup:
    cleanup_group = DependencyCleanupGroup()
    for batch in self.dependency_batches:
        waiting: list[DependencyContainer] = []
        for dependency in batch:
            if runs_inline(dependency):
                names = direct_parameters(dependency.provide)
                if names is not None and all(name in kwargs for name in names):
                    kwargs[dependency.key] = dependency.provide.dependency(**{name: kwargs[name] for name in names})
                    continue
                await resolve_dependency(dependency, connection, kwargs, cleanup_group)
            else:
                waiting.append(dependency)
        if len(waiting) == 1:
            await resolve_dependency(waiting[0], connection, kwargs, cleanup_group)
        elif waiting:
            try:
                async with create_task_group() as task_group:
                    for dependency in waiting:
                        task_group.start_soon(resolve_dependency, dependency, connection, kwargs, cleanup_group)
            except _ExceptionGroup as group:
                raise group.exceptions[0] from group  # type: ignore[attr-defined]  # as Litestar does: the first error
    return cleanup_group


def install() -> None:
    """Idempotent; called when the app's dependencies are built (``kernel.deps.dependencies``)."""
    KwargsModel.resolve_dependencies = resolve_dependencies  # type: ignore[method-assign]


__all__ = ["direct_parameters", "install", "resolve_dependencies", "runs_inline"]
