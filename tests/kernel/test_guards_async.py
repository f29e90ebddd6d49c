"""Every guard on every route is a coroutine function.

Litestar runs a plain ``def`` guard through ``sync_to_thread``: a worker-thread hand-off on
every request. Measured on the service-token transfer API (bench, 20,000 transfers, 32
connections), the two sync guards on that route cost about 0.4 ms of CPU per request and a
third of its throughput. A domain that writes its own guard must write it ``async``.
"""

from __future__ import annotations

import inspect

from litestar import Litestar

from kernel.guards import (
    checks_credentials,
    requires_admin,
    requires_caller,
    requires_service,
    requires_signed_in,
    requires_staff,
)


def _sync_guards(app: Litestar) -> list[str]:
    found: list[str] = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for layer in handler.ownership_layers:
                for guard in getattr(layer, "guards", None) or []:
                    if not inspect.iscoroutinefunction(guard):
                        found.append(f"{route.path} {getattr(guard, '__name__', guard)!r}")
    return found


def test_no_route_has_a_guard_that_would_run_in_a_worker_thread(app: Litestar) -> None:
    checked = [h for r in app.routes for h in getattr(r, "route_handlers", []) if h.resolve_guards()]
    assert len(checked) > 20  # the walk really reaches the guarded routes
    assert _sync_guards(app) == []


def test_the_kernels_guards_are_coroutines() -> None:
    for guard in (checks_credentials, requires_admin, requires_caller, requires_service, requires_signed_in,
                  requires_staff(), requires_staff("court")):
        assert inspect.iscoroutinefunction(guard), guard
