"""The kernel's dependency resolution (kernel/di.py): plain functions inline, the rest as Litestar does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar import Litestar, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
from litestar.params import FromQuery
from litestar.testing import AsyncTestClient

from kernel import di
from kernel.deps import dependencies

events: list[str] = []


def plain_a() -> str:
    events.append(f"a:{id(asyncio.current_task())}")
    return "a"


def plain_b() -> str:
    events.append(f"b:{id(asyncio.current_task())}")
    return "b"


def refuses() -> str:
    raise HTTPException(status_code=418, detail="refused by a dependency")


async def slow() -> float:
    await asyncio.sleep(0.2)
    return 0.2


async def slow_too() -> float:
    await asyncio.sleep(0.2)
    return 0.2


async def generator() -> AsyncIterator[str]:
    events.append("opened")
    yield "g"
    events.append("closed")


@get("/plain", dependencies={"a": Provide(plain_a, sync_to_thread=False), "b": Provide(plain_b, sync_to_thread=False)})
async def plain(a: NamedDependency[str], b: NamedDependency[str]) -> dict[str, str]:
    events.append(f"handler:{id(asyncio.current_task())}")
    return {"a": a, "b": b}


@get("/overlap", dependencies={"x": Provide(slow), "y": Provide(slow_too), "g": Provide(generator)})
async def overlap(x: NamedDependency[float], y: NamedDependency[float], g: NamedDependency[str]) -> dict[str, object]:
    return {"x": x, "y": y, "g": g}


@get("/refused", dependencies={"a": Provide(plain_a, sync_to_thread=False), "r": Provide(refuses, sync_to_thread=False)})
async def refused(a: NamedDependency[str], r: NamedDependency[str]) -> str:
    return a + r


def from_connection(request: Request[Any, Any, Any], state: State) -> str:
    events.append("from_connection")
    return f"{request.url.path} {state.get('label')}"


def validated(limit: FromQuery[int]) -> int:
    return limit * 2


def cached() -> int:
    events.append("cached")
    return events.count("cached") * 100


FROM_CONNECTION = Provide(from_connection, sync_to_thread=False)
VALIDATED = Provide(validated, sync_to_thread=False)
CACHED = Provide(cached, sync_to_thread=False, use_cache=True)


@get("/connection", dependencies={"c": FROM_CONNECTION, "v": VALIDATED, "k": CACHED})
async def connection(c: NamedDependency[str], v: NamedDependency[int], k: NamedDependency[int]) -> dict[str, object]:
    return {"c": c, "v": v, "k": k}


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    dependencies()  # installs kernel.di, as the portal's app factory does
    events.clear()
    async with AsyncTestClient(Litestar([plain, overlap, refused, connection], state=State({"label": "app"}))) as c:
        yield c


def test_install_is_what_litestar_runs() -> None:
    from litestar._kwargs.kwargs_model import KwargsModel

    dependencies()
    assert KwargsModel.resolve_dependencies is di.resolve_dependencies


async def test_plain_functions_run_in_the_requests_own_task(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/plain")
    assert response.json() == {"a": "a", "b": "b"}
    tasks = {e.split(":")[1] for e in events}
    assert len(tasks) == 1, events  # Litestar alone spawns a task per dependency: three task ids


async def test_coroutine_dependencies_still_overlap_and_generators_are_cleaned_up(
        client: AsyncTestClient[Litestar]) -> None:
    started = asyncio.get_running_loop().time()
    response = await client.get("/overlap")
    took = asyncio.get_running_loop().time() - started
    assert response.json() == {"x": 0.2, "y": 0.2, "g": "g"}
    assert took < 0.38  # two 0.2 s waits side by side, not one after the other
    assert events == ["opened", "closed"]


async def test_a_refusing_dependency_answers_with_its_own_error(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/refused")
    assert response.status_code == 418
    assert "refused by a dependency" in response.text


async def test_providers_of_the_connection_are_called_with_it_and_others_still_validated(
        client: AsyncTestClient[Litestar]) -> None:
    first = await client.get("/connection", params={"limit": "21"})
    assert di.direct_parameters(FROM_CONNECTION) == ("request", "state")  # called with them as they are
    assert di.direct_parameters(VALIDATED) is None  # a query parameter: Litestar's conversion and validation
    assert di.direct_parameters(CACHED) is None
    assert first.json() == {"c": "/connection app", "v": 42, "k": 100}
    again = await client.get("/connection", params={"limit": "4"})
    assert again.json() == {"c": "/connection app", "v": 8, "k": 100}  # the cached value, not a new one
    assert sorted(events) == ["cached", "from_connection", "from_connection"]
    refused = await client.get("/connection", params={"limit": "many"})
    assert refused.status_code == 400 and "limit" in refused.text
