"""Malformed and hostile input never gets a 5xx: what an outside fuzzer would send.

Two layers:
- hand-picked hostile values (very long, 2^63, negative, NUL, ``../``, broken UTF-8, …) in
  every path parameter of every GET route the app registers, anonymously and signed in;
- schemathesis, driven from ``/schema/openapi.json``, against a real uvicorn on 127.0.0.1
  with the check ``not_a_server_error``, anonymously, as the assistant (service token and a
  signed citizen identity) and as a signed-in citizen and staff member.

Both run on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (out-of-range integers fail
differently there). The fuzz is bounded (``FUZZ_EXAMPLES`` examples per operation, default
small) so ``make test`` stays quick; raise it for a deeper local run.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
import requests
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from litestar import Litestar
from litestar.testing import AsyncTestClient

from accounts.identity import make_citizen_token
from portal.app import create_app
from portal.settings import Settings
from tests.conftest import PASSWORD, TEST_TOKEN, Factory, login

pytestmark = pytest.mark.fuzz
Client = AsyncTestClient[Litestar]

BIG = 2**63
HOSTILE = [
    "A" * 5000,  # longer than any name the OS or a column takes
    str(BIG),  # one past BIGINT
    "9" * 40,
    str(-BIG - 1),
    "-1",
    "%00",  # NUL, alone and inside a name
    "a%00b",
    "..%2F..%2Fetc%2Fpasswd",
    "%FF%FE",  # not UTF-8
    "%E2%80%AE%F0%9F%98%80",  # right-to-left override and an emoji
    "%0d%0aX-Injected:%201",
    "1e309",
]
HOSTILE_QUERY = f"?subject_type=transfer&subject_id={BIG}&next=%00&lang=%FF&page={2**64}"


def _get_paths(app: Litestar) -> list[str]:
    paths = {route.path for route in app.routes if "GET" in getattr(route, "methods", ())}
    return sorted(paths)


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda _m: value, path)


async def _server_errors(client: Client, paths: list[str], headers: dict[str, str] | None = None) -> list[str]:
    found: list[str] = []
    for path in paths:
        urls = [_fill(path, v) for v in HOSTILE] if "{" in path else [path + HOSTILE_QUERY]
        for url in urls:
            resp = await client.get(url, headers=headers, follow_redirects=False)
            if resp.status_code >= 500:
                found.append(f"{resp.status_code} GET {url[:120]}")
    return found


async def test_hostile_path_values_on_every_get_route(client: Client, app: Litestar, factory: Factory,
                                                      settings: Settings) -> None:
    paths = _get_paths(app)
    assert "/documents/{document_id:int}" in paths and "/static/{file_path:path}" in paths
    errors = await _server_errors(client, paths)
    buyer = await factory.user("buyer")
    service = {"Authorization": f"Bearer {TEST_TOKEN}",
               "X-Citizen-Token": make_citizen_token(settings.secret_key, buyer.id), "X-Verification-Code": "0"}
    errors += await _server_errors(client, [p for p in paths if p.startswith("/api/")], headers=service)
    await login(client, buyer.email)
    errors += await _server_errors(client, paths)
    staff = await factory.user("staff", "court")
    await client.post("/logout", headers={"x-csrftoken": client.cookies.get("csrftoken") or ""})
    await login(client, staff.email)
    errors += await _server_errors(client, paths)
    assert errors == []


# --- the specific findings, one test each ----------------------------------------------------------


@pytest.mark.parametrize("name", ["%00", "a%00b", "x" * 5000, "portal.css/inner", f"{'d/' * 300}x"])
@pytest.mark.parametrize("prefix", ["/static", "/vendor/htmx"])
async def test_static_files_with_impossible_names_are_404(client: Client, prefix: str, name: str) -> None:
    resp = await client.get(f"{prefix}/{name}")
    assert resp.status_code == 404


@pytest.mark.parametrize("value", [str(BIG), str(2**64), "9" * 40, str(-BIG - 1), "-1", "0"])
async def test_document_ids_out_of_range_answer_400(client: Client, factory: Factory, value: str) -> None:
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    for url in (f"/documents/{value}", f"/documents/{value}/thumbnail",
                f"/documents?subject_type=transfer&subject_id={value}"):
        resp = await client.get(url, headers={"Accept": "application/json"})
        assert resp.status_code == 400, (url, resp.status_code, resp.text[:300])
        # a path id names its parameter; the subject number is refused by the documents' own check
        assert "document_id" in resp.text or '"code":"invalid_upload"' in resp.text
    deleted = await client.post(f"/documents/{value}/delete", headers={"x-csrftoken": client.cookies.get("csrftoken")})
    assert deleted.status_code == 400


async def test_the_largest_row_id_is_simply_not_found(client: Client, factory: Factory) -> None:
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    assert (await client.get(f"/documents/{BIG - 1}")).status_code == 404


async def test_out_of_range_numbers_in_a_form_reach_no_query(client: Client, factory: Factory) -> None:
    """The backstop: a number the database cannot hold that gets past the handler is a 400."""
    staff = await factory.user("staff", "court")
    await login(client, staff.email)
    for subject_id in (str(BIG), str(-BIG - 1)):
        resp = await client.post("/documents", headers={"x-csrftoken": client.cookies.get("csrftoken") or "",
                                                        "Accept": "application/json"},
                                 data={"kind": "other", "subject_type": "transfer", "subject_id": subject_id},
                                 files={"file": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")})
        assert 400 <= resp.status_code < 500, resp.text[:300]


UNDECODABLE = (
    b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n\x89PNG\xff\xfe\r\n"
    b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nx\r\n--b--\r\n"
)
UNKNOWN_CHARSET = (
    b"--b\r\nContent-Disposition: form-data; name=\"kind\"\r\nContent-Type: text/plain; charset=no-such-set\r\n"
    b"\r\nx\r\n--b--\r\n"
)


@pytest.mark.parametrize("body", [UNDECODABLE, UNKNOWN_CHARSET], ids=["not-utf8", "unknown-charset"])
@pytest.mark.parametrize("method", ["OPTIONS", "POST"])
@pytest.mark.parametrize("path", ["/documents", "/login", "/track", "/api/v1/submissions", "/chat/message"])
async def test_multipart_with_undecodable_fields_is_not_a_server_error(client: Client, method: str, path: str,
                                                                        body: bytes) -> None:
    await client.get("/login")
    headers = {"Content-Type": "multipart/form-data; boundary=b"}
    resp = await client.request(method, path, content=body, headers=headers)
    assert resp.status_code < 500, resp.text[:300]
    with_token = await client.request(method, path, content=body,
                                      headers={**headers, "x-csrftoken": client.cookies.get("csrftoken") or ""})
    assert with_token.status_code < 500, with_token.text[:300]


# --- schemathesis against a real server ------------------------------------------------------------


@contextmanager
def _serve(app: Litestar) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _signed_in(base: str, email: str) -> requests.Session:
    s = requests.Session()
    s.get(f"{base}/login", timeout=30)
    resp = s.post(f"{base}/login", data={"email": email, "password": PASSWORD,
                                         "_csrf_token": s.cookies.get("csrftoken")},
                  allow_redirects=False, timeout=30)
    assert resp.status_code == 303, resp.text[:300]
    s.headers["x-csrftoken"] = s.cookies.get("csrftoken") or ""
    return s


def _can_be_invalid(op: Any) -> bool:
    """Whether schemathesis can make this operation's input invalid (a typed parameter, a body).

    Operations whose inputs are all free strings give hypothesis nothing to negate: it tries
    hundreds of cases before giving up (seconds each), so they get valid-input fuzzing only.
    """
    raw = op.definition.raw
    typed = any(p.get("schema", {}).get("type") not in (None, "string") for p in raw.get("parameters", []))
    content = raw.get("requestBody", {}).get("content", {})
    return typed or any(ct.startswith("multipart/") or ct.endswith("json") for ct in content)


def _fuzz(base: str, identities: dict[str, tuple[requests.Session, dict[str, str]]], examples: int) -> list[str]:
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    failures: list[str] = []

    def run(op: Any, mode: Any, who: str, session: requests.Session, headers: dict[str, str]) -> None:
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=mode))
        def check(case: Any) -> None:
            response = case.call(base_url=base, session=session, headers=headers, timeout=60)
            try:
                case.validate_response(response, checks=[not_a_server_error])
            except BaseException:  # noqa: BLE001 - a FailureGroup; recorded, the fuzz goes on
                failures.append(f"[{who}] {response.status_code} {case.as_curl_command()[:600]}")

        try:
            check()
        except Unsatisfiable:
            pass  # nothing in this operation can be made invalid (no parameters, free strings)

    for who, (session, headers) in identities.items():
        for op in operations:
            if who != "anonymous" and op.path in ("/login", "/logout"):
                continue  # would end the identity under test; fuzzed anonymously
            if who == "service" and not op.path.startswith("/api/"):
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if _can_be_invalid(op) else (
                    GenerationMode.POSITIVE,):
                run(op, mode, who, session, headers)
    return failures


async def test_schemathesis_finds_no_server_error(settings: Settings, factory: Factory) -> None:
    examples = int(os.environ.get("FUZZ_EXAMPLES", "8"))
    buyer = await factory.user("buyer")
    staff = await factory.user("staff", "court")
    await factory.transfer(buyer=buyer)
    app = create_app(settings)

    def run() -> list[str]:
        with _serve(app) as base:
            identities = {
                "anonymous": (requests.Session(), {}),
                "service": (requests.Session(), {"Authorization": f"Bearer {TEST_TOKEN}",
                                                 "X-Citizen-Token": make_citizen_token(settings.secret_key,
                                                                                       buyer.id)}),
                "citizen": (_signed_in(base, buyer.email), {}),
                "staff": (_signed_in(base, staff.email), {}),
            }
            return _fuzz(base, identities, examples)

    failures = await anyio.to_thread.run_sync(run)
    assert failures == [], "\n\n".join(failures[:10])
