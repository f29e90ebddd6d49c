"""The kernel's dependency resolution (kernel/di.py): plain functions inline, the rest as Litestar does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from litestar import Litestar, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException
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


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    dependencies()  # installs kernel.di, as the portal's app factory does
    events.clear()
    async with AsyncTestClient(Litestar([plain, overlap, refused])) as c:
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
