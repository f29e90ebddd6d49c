"""The load balancer `make cluster` and `make drill` run (HAProxy, config by scripts/cluster.py):
with no portal ready — every one failing /readyz, as during a database restart — a request is
answered 503 with Retry-After, uploads included.

Issue 14's drill saw two uploads in flight during a PostgreSQL restart get their connection
closed without an answer: HAProxy answered its 503 as soon as it had the headers and closed the
connection while the multipart body was still arriving, and the reset lost the answer. HAProxy
now reads the request (up to its 16 kB buffer) before answering.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from scripts.cluster import Cluster, Ports, listening
from tests.support.processes import Process, free_port

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed (make cluster-deps)")

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _ports() -> Ports:
    for _ in range(50):
        lb = free_port()
        ports = Ports(base=lb - 80)
        if ports.base > 1024 and not any(listening(ports.portal(i)) for i in (1, 2)):
            return ports
    raise RuntimeError("no free ports")


async def _uploads(client: httpx.AsyncClient, *, padding: int, csrf: str) -> dict[str, int]:
    """Ten document uploads of a PDF padded by ``padding`` bytes: how each was answered (status and
    Retry-After, every answer the JSON 503) or which transport error cut it off."""
    answers: dict[str, int] = {}
    for i in range(10):
        try:
            resp = await client.post(
                "/documents", headers={"Accept": "application/json"},
                data={"subject_type": "transfer", "subject_id": "1", "kind": "evidence", "_csrf_token": csrf},
                files={"file": (f"a{i}.pdf", PDF + b"%" * padding, "application/pdf")})
        except httpx.HTTPError as exc:
            key = type(exc).__name__
        else:
            key = f"{resp.status_code} Retry-After {resp.headers.get('retry-after')}"
            assert resp.json()["code"] == "service_unavailable", resp.text[:300]
        answers[key] = answers.get(key, 0) + 1
    return answers


async def test_no_portal_ready_is_a_503_with_retry_after_even_for_an_upload(tmp_path: Path) -> None:
    cluster = Cluster(ports=_ports(), var=tmp_path)  # nothing listens on the portals' ports
    config = cluster.write_haproxy_config()
    check = await asyncio.to_thread(subprocess.run, ["haproxy", "-c", "-f", str(config)], capture_output=True, text=True, check=False)  # noqa: S603,S607
    assert check.returncode == 0, check.stdout + check.stderr
    with Process("lb", ["haproxy", "-db", "-f", str(config)], log_path=tmp_path / "lb.log", new_session=True) as lb:
        lb.wait_port(cluster.ports.lb, timeout=15)
        async with httpx.AsyncClient(base_url=cluster.url, timeout=10) as client:
            # Both portals down: the health checks (every second, two failures) have marked them.
            for _ in range(50):
                if (await client.get("/readyz")).status_code == 503:
                    break
                await asyncio.sleep(0.2)
            answers = await _uploads(client, padding=8000, csrf="x")
    assert answers == {"503 Retry-After 5": 10}


async def test_portals_alive_but_not_ready_answer_a_large_upload_themselves(tmp_path: Path) -> None:
    """Both portals up but not ready (their database refuses connections): a signed-in visitor's
    200 kB upload — more than HAProxy's 16 kB buffer — still gets a clear 503 with Retry-After,
    every time. HAProxy cannot hold such a body to answer it itself (before: its 503 went out while
    the body was still arriving, and the connection was reset); while no portal is ready it now
    passes requests to any portal that is alive (GET /livez), which reads the upload and answers."""
    cluster = Cluster(ports=_ports(), var=tmp_path)  # nothing listens on PostgreSQL's, Redis's or S3's port
    cluster.secret, cluster.token = "balancer-test-secret-" + "b" * 40, "balancer-test-token-0123456789"
    (tmp_path / "logs").mkdir()
    config = cluster.write_haproxy_config()
    answers: dict[str, int] = {}  # (stays empty if the portals never come up)
    portals = [cluster.make(f"portal{i}") for i in (1, 2)]
    try:
        for portal in portals:
            portal.start()
        for i, portal in enumerate(portals, start=1):
            portal.wait_port(cluster.ports.portal(i), timeout=60)
        with Process("lb", ["haproxy", "-db", "-f", str(config)], log_path=tmp_path / "lb.log", new_session=True) as lb:
            lb.wait_port(cluster.ports.lb, timeout=15)
            for _ in range(100):  # the health checks (every second, two failures) mark both not ready
                log = (tmp_path / "lb.log").read_text(errors="replace")
                if "portals/portal1 is DOWN" in log and "portals/portal2 is DOWN" in log:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("HAProxy did not mark the portals down")
            async with httpx.AsyncClient(base_url=cluster.url, timeout=10) as client:
                await client.get("/login")  # a page that needs no database: the CSRF cookie (from a portal)
                client.cookies.set("portal_session", "ab" * 16)  # a visitor signed in before the outage
                answers = await _uploads(client, padding=200_000, csrf=client.cookies.get("csrftoken") or "none")
    finally:
        for portal in portals:
            portal.stop()
    assert answers == {"503 Retry-After 5": 10}
