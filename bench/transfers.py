"""The tracking-page benchmark (issue 2): the portal against two references.

1. A throwaway PostgreSQL database, migrated by the portal's own Alembic migrations, filled
   with generated transfers (bench.transfers_data; binary COPY).
2. Each server runs as its own uvicorn process on 127.0.0.1 (one worker, uvloop, httptools,
   log level warning, no access log) and is measured from a separate load-generator process
   (bench.loadgen): a warm-up, then a run bounded in time and in requests, 32 keep-alive
   connections, each request for a random transfer of a sample drawn from the generated set.
   The server is restarted for each scenario, so its peak RSS (VmHWM) belongs to that one.
3. Scenarios:
   - portal, tracking page: PORTAL_ENV=production, the transfer's grant cookie (tt_<no>) and a
     CSRF cookie, as a browser that came through the verification form sends them;
   - reference "asyncpg": bare Litestar, same template/context, one asyncpg query per request;
   - reference "in-memory": bare Litestar, same template/context, views prebuilt in a dict;
   - portal, transfer API as a code holder (X-Verification-Code; goes through the throttle);
   - portal, transfer API as the bot's action server (service token + citizen token; no
     throttle), to show what the throttle's store reads cost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import support

SECRET = "bench-secret-9fK2qLx7Vw1Rz8Tn4Hc6Jm0Yp5Bd2GsE3uA"  # a fixed bench-only secret, varied enough for production mode
SERVICE_TOKEN = "bench-service-token-" + "t" * 20

SCENARIOS = [
    # key, server, request file, label
    ("page_portal", "portal", "page", "Tracking page · portal"),
    ("page_asyncpg", "ref-asyncpg", "page", "Tracking page · reference: bare Litestar + asyncpg, one query"),
    ("page_memory", "ref-memory", "page", "Tracking page · reference: bare Litestar, views in memory"),
    ("api_code", "portal", "api_code", "Transfer API · portal, X-Verification-Code (throttle check)"),
    ("api_service", "portal", "api_service", "Transfer API · portal, service token + citizen token (no throttle)"),
]


def request_specs(sample: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The load generator's requests per kind (page, api_code, api_service) for sampled transfers
    (``tracking_no`` and ``buyer_id``; ``code`` for the code holder's requests, which are left out
    for transfers without one, e.g. read back from the database by bench.instructions)."""
    from litestar.middleware.csrf import generate_csrf_token

    from title_transfer.access import TRACKING_GRANT, make_citizen_token

    csrf = generate_csrf_token(SECRET)
    specs: dict[str, list[dict[str, Any]]] = {"page": [], "api_code": [], "api_service": []}
    for item in sample:
        no = item["tracking_no"]
        specs["page"].append({
            "path": f"/track/{no}",
            "headers": {"Accept": "text/html", "Cookie": f"{TRACKING_GRANT.cookie_name(no)}={TRACKING_GRANT.issue(SECRET, no)}; csrftoken={csrf}"},
            "expect": no,
        })
        if item.get("code"):
            specs["api_code"].append({
                "path": f"/api/v1/transfers/{no}",
                "headers": {"Accept": "application/json", "X-Verification-Code": item["code"]},
                "expect": no,
            })
        specs["api_service"].append({
            "path": f"/api/v1/transfers/{no}",
            "headers": {"Accept": "application/json", "Authorization": f"Bearer {SERVICE_TOKEN}",
                        "X-Citizen-Token": make_citizen_token(SECRET, item["buyer_id"])},
            "expect": no,
        })
    return specs


def _request_files(workdir: Path, sample: list[dict[str, Any]]) -> dict[str, Path]:
    files = {}
    for name, items in request_specs(sample).items():
        path = workdir / f"requests-{name}.json"
        path.write_text(json.dumps(items), encoding="utf-8")
        files[name] = path
    return files


def portal_env(db_url: str, workdir: Path) -> dict[str, str]:
    """The portal's environment in these benchmarks (production mode, the bench's secret and service token)."""
    return {
        "DATABASE_URL": db_url, "PORTAL_ENV": "production", "PORTAL_SECRET": SECRET,
        "PORTAL_SERVICE_TOKEN": SERVICE_TOKEN, "LOAD_DEMO_DATA": "false",
        "DOCUMENT_BACKEND": "local", "DOCUMENT_DIR": str(workdir / "documents"),
    }


def _server(kind: str, db_url: str, sample_file: Path, workdir: Path) -> support.Server:
    if kind == "portal":
        return support.Server("portal", "portal.asgi:app", env=portal_env(db_url, workdir))
    app = {"ref-asyncpg": "bench.refs:asyncpg_app", "ref-memory": "bench.refs:memory_app"}[kind]
    return support.Server(kind, app, factory=True, env={"BENCH_DSN": db_url, "BENCH_SAMPLE_FILE": str(sample_file)})


def _machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "python": platform.python_version(),
            "kernel": platform.release()}


def run_transfers_bench(pg_url: str, *, transfers: int = 100_000, sample: int = 10_000, connections: int = 32,
                        duration: float = 20.0, warmup: float = 3.0, max_requests: int = 500_000,
                        rounds: int = 1, keep: bool = False, only: list[str] | None = None,
                        log: Any = print) -> dict[str, Any]:
    from portal.cli import migrate
    from portal.settings import Settings

    problem = asyncio.run(support.check_server(pg_url))
    if problem:
        raise SystemExit(problem)
    db_url = asyncio.run(support.create_database(pg_url, "bench_transfers"))
    log(f"· transfers benchmark: database {db_url.rsplit('/', 1)[1]} (dropped at the end{'; --keep keeps it' if not keep else ''})")
    result: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "load": {"client": "bench.loadgen (pure-Python asyncio Protocol on uvloop, own process, closed loop)",
                 "connections": connections, "duration_s": duration, "warmup_s": warmup,
                 "max_requests": max_requests, "sample_transfers": sample, "rounds": rounds},
        "server": ("uvicorn, 1 worker, uvloop + httptools, log level warning, no access log; "
                   f"{os.environ.get('DATABASE_POOL_SIZE') or 10} database connections per server"),
        "scenarios": {},
    }
    try:
        with tempfile.TemporaryDirectory(prefix="bench-transfers-") as tmp:
            workdir = Path(tmp)
            t0 = time.perf_counter()
            settings = Settings.from_env({"DATABASE_URL": db_url, "PORTAL_ENV": "production", "PORTAL_SECRET": SECRET,
                                          "PORTAL_SERVICE_TOKEN": SERVICE_TOKEN})
            migrate(settings)
            log(f"  migrated in {time.perf_counter() - t0:.1f}s; generating {transfers:,} transfers …")
            from bench.transfers_data import generate

            data = asyncio.run(generate(db_url, transfers=transfers, secret=SECRET, sample_size=sample,
                                        log=lambda m: log(m)))
            log(f"  data ready in {data.seconds:.1f}s: {data.transfers:,} transfers "
                f"({data.real_estate:,} real estate, {data.vehicles:,} vehicles), {data.steps:,} steps, "
                f"states {data.states}")
            result["data"] = {k: v for k, v in data.__dict__.items() if k != "sample"}
            result["data"]["migrate_and_generate_s"] = round(time.perf_counter() - t0, 1)
            result["postgres"] = asyncio.run(_pg_version(db_url))

            sample_file = workdir / "sample.json"
            sample_file.write_text(json.dumps(data.sample), encoding="utf-8")
            files = _request_files(workdir, data.sample)
            first = json.loads(files["page"].read_text())[0]

            runs: dict[str, list[dict[str, Any]]] = {}
            for round_no in range(1, rounds + 1):
                for index, (key, kind, reqs, label) in enumerate(SCENARIOS):
                    if only and key not in only and kind not in only:
                        continue
                    server = _server(kind, db_url, sample_file, workdir)
                    tag = f" (round {round_no}/{rounds})" if rounds > 1 else ""
                    log(f"· {label}{tag}: {duration:.0f}s after {warmup:.0f}s warm-up, {connections} connections …")
                    with support.running(server, first["path"], first["headers"]):
                        rss_ready = support.proc_status(server.pid).get("VmRSS")
                        report = support.measure(server, files[reqs], connections=connections, duration=duration,
                                                 warmup=warmup, max_requests=max_requests,
                                                 seed=100 * round_no + index)
                        report["peak_rss_kib"] = support.proc_status(server.pid).get("VmHWM")
                        report["rss_after_start_kib"] = rss_ready
                    report["label"] = label
                    runs.setdefault(key, []).append(report)
                    bad = report["non_2xx"] + report["unexpected_body"] + report["disconnects"]
                    log(f"  {report['rps']:.0f} req/s, p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms, "
                        f"{report['requests']:,} requests, non-2xx {report['non_2xx']}"
                        f"{f', PROBLEMS {bad}' if bad else ''}; peak RSS {report['peak_rss_kib'] / 1024:.0f} MiB; "
                        f"server CPU {report['server_cpu_ms_per_request']} ms/req, client CPU "
                        f"{report['client_cpu_s']}s, machine busy {report['machine_cpu_busy_pct']}% "
                        f"(idle-server background {report['background_busy_pct']}%)")
                    if report["non_2xx"]:
                        log(f"  statuses {report['statuses']}; server log {server.log_path}:\n{server.tail(10)}")
            for key, reports in runs.items():
                result["scenarios"][key] = _median_run(reports)
    finally:
        if keep:
            log(f"· kept database: {db_url}")
        else:
            asyncio.run(support.drop_database(db_url))
    result["ratios"] = ratios(result["scenarios"])
    return result


async def _pg_version(db_url: str) -> str:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def _median_run(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median throughput (all runs kept under "runs"); problems and peaks summed up."""
    ordered = sorted(reports, key=lambda r: r["rps"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    if len(reports) > 1:
        chosen["runs"] = reports
        chosen["non_2xx"] = sum(r["non_2xx"] for r in reports)
        chosen["unexpected_body"] = sum(r["unexpected_body"] for r in reports)
        chosen["disconnects"] = sum(r["disconnects"] for r in reports)
        chosen["peak_rss_kib"] = max(r["peak_rss_kib"] or 0 for r in reports)
        chosen["server_cpu_ms_per_request"] = sorted(r["server_cpu_ms_per_request"] for r in reports)[
            (len(reports) - 1) // 2]
    return chosen


def ratios(scenarios: dict[str, Any]) -> dict[str, float | None]:
    def rps(key: str) -> float | None:
        s = scenarios.get(key)
        return s["rps"] if s else None

    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b, 3) if a and b else None

    def cpu(key: str) -> float | None:
        s = scenarios.get(key)
        return s["server_cpu_ms_per_request"] if s else None

    return {
        "portal_over_asyncpg": ratio(rps("page_portal"), rps("page_asyncpg")),
        # The same comparison by server CPU per request (less sensitive to other work on the box).
        "portal_over_asyncpg_by_cpu": ratio(cpu("page_asyncpg"), cpu("page_portal")),
        "asyncpg_over_memory_by_cpu": ratio(cpu("page_memory"), cpu("page_asyncpg")),
        "asyncpg_over_memory": ratio(rps("page_asyncpg"), rps("page_memory")),
        "portal_over_memory": ratio(rps("page_portal"), rps("page_memory")),
        "api_code_over_api_service": ratio(rps("api_code"), rps("api_service")),
    }


def markdown(result: dict[str, Any]) -> str:
    data = result.get("data", {})
    load = result["load"]
    m = result["machine"]
    lines = [
        "| Scenario | req/s | p50 ms | p99 ms | non-2xx | peak RSS MiB | server CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, _kind, _reqs, label in SCENARIOS:
        s = result["scenarios"].get(key)
        if not s:
            continue
        lines.append(f"| {label} | {s['rps']:,.0f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['non_2xx']} | "
                     f"{s['peak_rss_kib'] / 1024:.0f} | {s['server_cpu_ms_per_request']:.2f} |")
    r = result.get("ratios", {})
    out = "\n".join(lines) + "\n\n"
    if r.get("portal_over_asyncpg") is not None:
        met = "met" if r["portal_over_asyncpg"] >= 0.5 else "NOT met"
        by_cpu = r.get("portal_over_asyncpg_by_cpu")
        out += (f"- portal / asyncpg reference: **{r['portal_over_asyncpg']:.0%}** of its throughput (aim ≥ 50%: {met})"
                + (f"; by server CPU per request {by_cpu:.0%}" if by_cpu else "") + "\n")
    if r.get("asyncpg_over_memory") is not None:
        by_cpu = r.get("asyncpg_over_memory_by_cpu")
        out += (f"- asyncpg reference / in-memory reference: **{r['asyncpg_over_memory']:.0%}**"
                + (f"; by server CPU per request {by_cpu:.0%}" if by_cpu else "") + "\n")
    if r.get("api_code_over_api_service") is not None:
        out += (f"- API with the verification code / API with the service token: "
                f"{r['api_code_over_api_service']:.0%} (the difference is the throttle's store reads)\n")
    backgrounds = [s["background_busy_pct"] for s in result["scenarios"].values() if "background_busy_pct" in s]
    if backgrounds:
        out += (f"- other work on this shared box, measured with the server idle just before each run: "
                f"{min(backgrounds):.0f}–{max(backgrounds):.0f}% of both cores\n")
    out += (
        f"\n{m['cpus']}-core {m['cpu_model'] or 'machine'}, PostgreSQL {result.get('postgres', '?')} on the same box; "
        f"{data.get('transfers', 0):,} transfers / {data.get('steps', 0):,} steps (generated and loaded in "
        f"{data.get('migrate_and_generate_s', '?')} s); each server one uvicorn worker (uvloop, httptools); "
        f"load from a separate pure-Python process (bench.loadgen), {load['connections']} keep-alive connections, "
        f"{load['warmup_s']:.0f} s warm-up then {load['duration_s']:.0f} s per run"
        + (f", median of {load['rounds']} interleaved rounds" if load.get("rounds", 1) > 1 else "")
        + f", random transfers from a sample of {load['sample_transfers']:,}. `make bench` reproduces it.\n"
    )
    return out
