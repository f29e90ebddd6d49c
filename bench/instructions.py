"""Instructions per request for one route of the portal, counted by callgrind.

Timed CPU per request moves with whatever else the machine runs; an instruction count does not.
This starts the portal as the benchmarks do (uvicorn, one worker, uvloop + httptools, the
benchmarks' production-mode environment) under ``valgrind --tool=callgrind --instr-atstart=no``,
sends a warm-up, switches instrumentation on (``callgrind_control -i on``), sends the measured
requests one after another on one keep-alive connection, switches it off, stops the server and
prints the instructions counted divided by the requests. Only the server process is counted
(every thread of it, user space; not the kernel's time in ``send``/``recv``/``epoll``).

Requests: one path with headers (``--path``, ``-H``, repeated to cycle), a load generator file
(``--requests``: a JSON list of ``{"path", "headers"}``, cycled; a request may add ``"method"``
(default GET) and ``"body"``, sent as JSON unless it is a string — e.g. ``POST
/api/v1/submissions`` with a distinct Idempotency-Key per request, enough for the warm-up and the
count), or transfers read from the database (X
``--sample`` transfers by tracking number). Every answer must be 2xx (``--status`` otherwise).

    python -m bench.instructions --database-url postgresql://postgres@127.0.0.1:5432/bench_transfers_… \\
        --transfers api_service --warmup 60 --requests-count 300

``--source DIR`` runs the server from another checkout (e.g. ``git worktree add /tmp/prekernel
528b0bc``) with this venv: its directory comes first on the server's PYTHONPATH, and the tool
prints which ``portal`` package the server's interpreter imports. ``--keep-out DIR`` keeps the
callgrind files for ``callgrind_annotate --inclusive=yes``. ``--timed SECONDS`` runs the same
server and requests without valgrind under the benchmarks' load (bench.loadgen, 32 connections,
3 s warm-up) and prints the server's CPU time per request instead: alternate two builds
(``--source``) in one session to compare them on a shared machine.

``--chat`` counts a chat message instead: ``POST /chat`` as the page's htmx sends it, each
browser with its own cookies (session, CSRF) after an uncounted ``GET /chat``, conversations
of ``--chat-turns`` messages, against a stand-in for Rasa in this process (two replies, one
with buttons: the portal's side of the turn only). Without ``--database-url`` a throwaway
SQLite database is migrated for it.

    python -m bench.instructions --chat --requests-count 200
    python -m bench.instructions --chat --source /work/main --requests-count 200   # the other build
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import support
from tests.support.fake_rasa import FakeRasa
from tests.support.processes import Process, free_port

_TOTAL = re.compile(rb"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


async def _sample(db_url: str, count: int) -> list[dict[str, Any]]:
    import asyncpg

    conn = await asyncpg.connect(db_url, timeout=10)
    try:
        rows = await conn.fetch("SELECT tracking_no, buyer_id FROM transfer ORDER BY md5(tracking_no) LIMIT $1", count)
    finally:
        await conn.close()
    return [{"tracking_no": r["tracking_no"], "buyer_id": r["buyer_id"]} for r in rows]


def _requests(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.requests:
        return list(json.loads(Path(args.requests).read_text(encoding="utf-8")))
    if args.transfers:
        from bench.transfers import request_specs

        specs = request_specs(asyncio.run(_sample(args.database_url, args.sample)))[args.transfers]
        if not specs:
            raise SystemExit(f"no {args.transfers} requests for this database")
        return specs
    if not args.path:
        raise SystemExit("name the requests: --path (with -H), --requests FILE or --transfers KIND")
    headers = dict(h.split(":", 1) for h in args.header)
    return [{"path": p, "headers": {k.strip(): v.strip() for k, v in headers.items()}} for p in args.path]


def _expected(args: argparse.Namespace, status: int) -> bool:
    return status == args.status if args.status else 200 <= status < 300


def _get(conn: http.client.HTTPConnection, spec: dict[str, Any]) -> tuple[int, bytes]:
    """One request of a ``--requests`` file: GET unless it names a ``method``; a ``body`` that is not
    a string goes as JSON."""
    headers = dict(spec.get("headers") or {})
    body = spec.get("body")
    if body is not None and not isinstance(body, str):
        body = json.dumps(body, ensure_ascii=False)
        headers.setdefault("Content-Type", "application/json")
    conn.request(spec.get("method", "GET"), spec["path"], body=body.encode() if body is not None else None,
                 headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def _server_env(args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    from bench.transfers import portal_env

    env = {**portal_env(args.database_url, workdir), "PYTHONUNBUFFERED": "1"}
    for item in args.env:
        key, _, value = item.partition("=")
        env[key] = value
    if args.source:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(Path(args.source).resolve()), os.environ.get("PYTHONPATH")) if p)
    return env


def _imported_from(env: dict[str, str], cwd: Path) -> str:
    out = subprocess.run([sys.executable, "-c", "import portal; print(portal.__file__)"], cwd=cwd,  # noqa: S603
                         env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return out.stdout.strip()


# Rasa's REST webhook for the chat count: the same two replies to every message.
_REPLIES: list[dict[str, Any]] = [
    {"recipient_id": "x", "text": "您好！我可以帮您查询过户进度、估算税费、办理水电气过户，详见 /guide 。"},
    {"recipient_id": "x", "text": "还需要什么？", "buttons": [
        {"title": "查询进度", "payload": "/ask_transfer_status"}, {"title": "税费", "payload": "/ask_tax"}]},
]


class _Browser:
    """One person's cookies on one keep-alive connection: GET /chat, then htmx POSTs."""

    def __init__(self, port: int, n: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies: dict[str, str] = {}
        self.n = n

    def _send(self, method: str, path: str, body: str | None = None, **headers: str) -> tuple[int, bytes]:
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.request(method, path, body=body, headers=headers)
        resp = self.conn.getresponse()
        data = resp.read()
        for header in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in header.lower() or not value:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value
        return resp.status, data

    def open(self) -> tuple[int, bytes]:
        return self._send("GET", "/chat", **{"Accept-Language": "zh-CN"})

    def say(self) -> tuple[int, bytes]:
        from urllib.parse import urlencode

        self.n += 1
        body = urlencode({"message": f"你好，第{self.n}条消息", "_csrf_token": self.cookies.get("csrftoken", "")})
        return self._send("POST", "/chat", body, **{"Content-Type": "application/x-www-form-urlencoded",
                                                      "HX-Request": "true", "Accept-Language": "zh-CN"})

    def close(self) -> None:
        self.conn.close()


def _migrated_sqlite(workdir: Path, cwd: Path, env: dict[str, str]) -> str:
    url = f"sqlite:///{workdir / 'chat.db'}"
    subprocess.run([sys.executable, "-m", "portal", "migrate"], cwd=cwd,  # noqa: S603
                   env={**os.environ, **env, "DATABASE_URL": url}, capture_output=True, check=True, timeout=300)
    return url


def count_chat(args: argparse.Namespace) -> dict[str, Any]:
    """Instructions per POST /chat (see the module's docstring)."""
    cwd = Path(args.source).resolve() if args.source else support.ROOT
    rasa = FakeRasa(lambda _body: _REPLIES)
    with tempfile.TemporaryDirectory(prefix="bench-instructions-chat-") as tmp:
        workdir = Path(tmp)
        out_dir = Path(args.keep_out).resolve() if args.keep_out else workdir / "callgrind"
        out_dir.mkdir(parents=True, exist_ok=True)
        if not args.database_url:
            args.database_url = _migrated_sqlite(workdir, cwd, _server_env(args, workdir))
        env = {**_server_env(args, workdir), "RASA_URL": rasa.url}
        imported = _imported_from(env, cwd)
        port = free_port()
        server = _callgrind_server(args, port, env, cwd, workdir, out_dir)
        statuses: dict[int, int] = {}
        counted = 0
        with server:
            server.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=args.start_timeout)
            browser_no = 0

            def conversation(measured: int) -> int:
                nonlocal browser_no
                browser_no += 1
                browser = _Browser(port, 0)
                status, _ = browser.open()
                if status != 200:
                    raise SystemExit(f"GET /chat: HTTP {status}")
                if measured:
                    _control(server.pid, "--instr=on")
                for _ in range(measured or args.chat_turns):
                    status, _body = browser.say()
                    statuses[status] = statuses.get(status, 0) + 1
                if measured:
                    _control(server.pid, "--instr=off")
                browser.close()
                return measured

            for _ in range(max(1, args.warmup // args.chat_turns)):
                conversation(0)
            statuses.clear()
            started = time.perf_counter()
            while counted < args.requests_count:
                counted += conversation(min(args.chat_turns, args.requests_count - counted))
            seconds = time.perf_counter() - started
            _control(server.pid, "--dump")
            log_tail = server.tail(15)
        rasa.close()
        total = sum(int(m.group(1)) for f in out_dir.glob("callgrind.out.*") for m in _TOTAL.finditer(f.read_bytes()))
    if set(statuses) != {200}:
        raise SystemExit(f"unexpected statuses {statuses}; server log:\n{log_tail}")
    return {"instructions_per_request": total / counted, "instructions": total, "requests": counted,
            "warmup": max(1, args.warmup // args.chat_turns) * args.chat_turns,
            "chat_turns": args.chat_turns, "statuses": statuses, "portal": imported,
            "first_path": "POST /chat", "seconds_under_valgrind": round(seconds, 1),
            "callgrind_out": str(out_dir) if args.keep_out else None}


def _callgrind_server(args: argparse.Namespace, port: int, env: dict[str, str], cwd: Path, workdir: Path,
                      out_dir: Path) -> Process:
    """The portal as the benchmarks run it (uvicorn, one worker, uvloop + httptools) under callgrind,
    instrumentation off until :func:`_control` switches it on."""
    cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_dir}/callgrind.out.%p",
           sys.executable, "-m", "uvicorn", args.app, "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
           "--no-access-log", "--no-proxy-headers", "--timeout-keep-alive", "300"]
    return Process("callgrind-portal", cmd, env=env, cwd=cwd, log_path=workdir / "server.log")


def _control(pid: int, flag: str) -> None:
    subprocess.run(["callgrind_control", flag, str(pid)], check=True, capture_output=True)  # noqa: S603, S607


def count(args: argparse.Namespace) -> dict[str, Any]:
    specs = _requests(args)
    cwd = Path(args.source).resolve() if args.source else support.ROOT
    with tempfile.TemporaryDirectory(prefix="bench-instructions-") as tmp:
        workdir = Path(tmp)
        out_dir = Path(args.keep_out).resolve() if args.keep_out else workdir / "callgrind"
        out_dir.mkdir(parents=True, exist_ok=True)
        env = _server_env(args, workdir)
        imported = _imported_from(env, cwd)
        port = free_port()
        server = _callgrind_server(args, port, env, cwd, workdir, out_dir)
        with server:
            if specs[0].get("method", "GET") == "GET":
                server.wait_http(f"http://127.0.0.1:{port}{specs[0]['path']}", timeout=args.start_timeout,
                                 headers=specs[0].get("headers"), accept=lambda status, _body: _expected(args, status))
            else:  # not sent twice: a POST may change the database
                server.wait_http(f"http://127.0.0.1:{port}/healthz", timeout=args.start_timeout)
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            cycle = itertools.cycle(specs)
            statuses: dict[int, int] = {}
            for _ in range(args.warmup):
                _get(conn, next(cycle))
            _control(server.pid, "--instr=on")
            started = time.perf_counter()
            for _ in range(args.requests_count):
                status, _body = _get(conn, next(cycle))
                statuses[status] = statuses.get(status, 0) + 1
            seconds = time.perf_counter() - started
            _control(server.pid, "--instr=off")
            _control(server.pid, "--dump")  # written now, whatever happens at shutdown
            conn.close()
            log_tail = server.tail(15)
        total = sum(int(m.group(1)) for f in out_dir.glob("callgrind.out.*") for m in _TOTAL.finditer(f.read_bytes()))
    wrong = {s: n for s, n in statuses.items() if not _expected(args, s)}
    if wrong:
        raise SystemExit(f"unexpected statuses {wrong} (all: {statuses}); server log:\n{log_tail}")
    return {"instructions_per_request": total / args.requests_count, "instructions": total,
            "requests": args.requests_count, "warmup": args.warmup, "statuses": statuses, "portal": imported,
            "first_path": specs[0]["path"], "distinct_paths": len({s["path"] for s in specs}),
            "seconds_under_valgrind": round(seconds, 1), "callgrind_out": str(out_dir) if args.keep_out else None}


def timed(args: argparse.Namespace) -> dict[str, Any]:
    """The same server without valgrind, under the benchmarks' closed-loop load for ``--timed``
    seconds (bench.support.measure): server CPU per request from /proc, requests/s, latencies."""
    specs = _requests(args)
    cwd = Path(args.source).resolve() if args.source else support.ROOT
    with tempfile.TemporaryDirectory(prefix="bench-timed-") as tmp:
        workdir = Path(tmp)
        env = _server_env(args, workdir)
        requests_file = workdir / "requests.json"
        requests_file.write_text(json.dumps(specs), encoding="utf-8")
        server = support.Server("timed-portal", args.app, env=env, cwd=cwd)
        with support.running(server, specs[0]["path"], specs[0].get("headers") or {}):
            report = support.measure(server, requests_file, connections=args.connections, duration=args.timed,
                                     warmup=3.0, max_requests=500_000, seed=7)
    report["portal"] = _imported_from(env, cwd)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="the portal's database (e.g. one kept by python -m bench --keep; "
                                               "--chat: a migrated SQLite file by default)")
    parser.add_argument("--chat", action="store_true", help="count POST /chat messages (see the docstring)")
    parser.add_argument("--chat-turns", type=int, default=10, help="messages per conversation for --chat (default 10)")
    parser.add_argument("--path", action="append", default=[], help="a path to request (repeat to cycle through several)")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value', sent with every --path")
    parser.add_argument("--requests", help="a JSON list of {path, headers} (the load generator's format), cycled")
    parser.add_argument("--transfers", choices=("page", "api_service"),
                        help="the bench's tracking page or service-token API requests for transfers read from the database")
    parser.add_argument("--sample", type=int, default=1000, help="transfers for --transfers (default 1000)")
    parser.add_argument("--warmup", type=int, default=60, help="requests before counting (default 60)")
    parser.add_argument("--requests-count", type=int, default=300, help="requests counted (default 300)")
    parser.add_argument("--status", type=int, default=None, help="the status every answer must have (default: any 2xx)")
    parser.add_argument("--app", default="portal.asgi:app", help="the ASGI app (default portal.asgi:app)")
    parser.add_argument("--source", help="run the server from this checkout (first on its PYTHONPATH, and its cwd)")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server, over the bench's")
    parser.add_argument("--keep-out", help="keep the callgrind output files in this directory")
    parser.add_argument("--start-timeout", type=float, default=600.0, help="seconds to wait for the server under valgrind")
    parser.add_argument("--timed", type=float, default=0.0,
                        help="instead of counting: this many seconds of the benchmarks' load (3 s warm-up), server CPU per request")
    parser.add_argument("--connections", type=int, default=32, help="connections for --timed (default 32)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not args.database_url and not args.chat:
        parser.error("--database-url is needed (except with --chat)")
    if args.timed:
        report = timed(args)
        print(json.dumps(report, indent=2) if args.json else
              f"{report['server_cpu_ms_per_request']} ms server CPU per request, {report['rps']:.0f} req/s, "
              f"p50 {report['p50_ms']} ms, statuses {report['statuses']}, machine busy {report['machine_cpu_busy_pct']}% "
              f"(background {report['background_busy_pct']}%); server imported {report['portal']}")
        return 0
    result = count_chat(args) if args.chat else count(args)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['instructions_per_request']:,.0f} instructions per request "
              f"({result['requests']} requests after {result['warmup']} warm-up; server imported {result['portal']})")
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
