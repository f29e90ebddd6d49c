"""The public-lots benchmark (issue 11): the lot search page and the lot page on PostgreSQL
with 100,000 generated lots, 32 connections, cold and with HTTP caching honoured, beside an
asyncpg and an in-memory reference.

Scenarios (each server its own uvicorn process, restarted per scenario; load from bench.loadgen):

- ``search_cold``: ``GET /lots?city=…&kind=real_estate&price_max=…&sort=price`` (three filters and
  sorting, 30 combinations), the portal's HTML page with its caches off (``LOT_VERSION_TTL_MS=0``):
  every search reads and renders (aim: p99 < 100 ms);
- ``search``: the same requests, the portal as deployed: a search's rendered results are kept
  for up to the version clock's second and dropped at once when a lot changes in the process;
- ``lot_uncached``: ``GET /lots/{no}`` over a 10,000-lot sample with the portal's caches off
  (``LOT_VERSION_TTL_MS=0``, ``LOT_CACHE_ENTRIES=0``): every request reads the version and
  the lot and renders it;
- ``lot_asyncpg``: the asyncpg reference (bench.lots_refs.asyncpg_app): the same reads, the same
  templates, bare Litestar (aim: the uncached portal ≥ 60% of it);
- ``lot_memory``: the in-memory reference, rendering each request;
- ``lot_cached``: the portal as deployed (version clock 1 s, cache large enough for the sample)
  on 100 popular lots (where many viewers go: the cache's case), and ``lot_cached_wide`` on the
  whole sample (at these rates each request is for another lot: mostly misses);
- ``lot_304``: the portal as deployed, every request with the lot's current ETag in
  ``If-None-Match``, 100 popular lots (aim: ≥ 70% of the in-memory reference);
- ``lot_memory_304``: the in-memory reference answering the same conditional requests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench import support
from bench.transfers import SECRET, SERVICE_TOKEN, _machine, _pg_version

SCENARIOS = [
    # key, server kind, request file, label
    ("search_cold", "portal-uncached", "search", "Lot search · portal, 3 filters + sort (HTML), result cache off"),
    ("search", "portal", "search", "Lot search · portal as deployed (results kept ≤ 1 s, dropped on a lot change)"),
    ("lot_uncached", "portal-uncached", "lot", "Lot page · portal, caches off (every request reads and renders)"),
    ("lot_asyncpg", "ref-asyncpg", "lot", "Lot page · reference: bare Litestar + asyncpg, same reads and templates"),
    ("lot_memory", "ref-memory", "lot_1k", "Lot page · reference: bare Litestar, 1,000 lots in memory, rendered per request"),
    ("lot_cached", "portal", "hot", "Lot page · portal as deployed (version clock 1 s, cached body), 100 popular lots"),
    ("lot_cached_wide", "portal", "lot", "Lot page · portal as deployed, the whole 10,000-lot sample (mostly misses)"),
    ("lot_304", "portal", "hot_304", "Lot page · portal, If-None-Match → 304, 100 popular lots"),
    ("lot_memory_304", "ref-memory", "hot_304", "Lot page · reference in memory, If-None-Match → 304, same lots"),
]
HOT = 100  # popular lots: where a million viewers go
MEMORY_LOTS = 1000  # what the in-memory reference loads at start (the first of the sample; HOT among them)


def _request_files(workdir: Path, sample: list[dict[str, Any]], searches: list[str]) -> dict[str, Path]:
    from bench.lots_refs import portal_etag

    specs: dict[str, list[dict[str, Any]]] = {"search": [], "lot": [], "lot_304": [], "hot": [], "hot_304": []}
    for q in searches:
        path = "/lots?" + "&".join(f"{k}={quote(v)}" for k, _, v in (p.partition("=") for p in q.split("&")))
        specs["search"].append({"path": path, "headers": {"Accept": "text/html"}, "expect": "results-count"})
    for item in sample:
        no = item["lot_no"]
        specs["lot"].append({"path": f"/lots/{no}", "headers": {"Accept": "text/html"}, "expect": no})
        specs["lot_304"].append({"path": f"/lots/{no}", "headers": {
            "Accept": "text/html", "If-None-Match": portal_etag(no, item["version"])}, "expect": None})
    specs["hot"], specs["hot_304"] = specs["lot"][:HOT], specs["lot_304"][:HOT]
    specs["lot_1k"] = specs["lot"][:MEMORY_LOTS]
    files = {}
    for name, items in specs.items():
        path = workdir / f"requests-lots-{name}.json"
        path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
        files[name] = path
    return files


def _server(kind: str, db_url: str, sample_file: Path, workdir: Path, sample_size: int) -> support.Server:
    if kind.startswith("portal"):
        env = {"DATABASE_URL": db_url, "PORTAL_ENV": "production", "PORTAL_SECRET": SECRET,
               "PORTAL_SERVICE_TOKEN": SERVICE_TOKEN, "LOAD_DEMO_DATA": "false", "DOCUMENT_BACKEND": "local",
               "DOCUMENT_DIR": str(workdir / "documents"), "LOT_CACHE_ENTRIES": str(sample_size + 1000)}
        if kind == "portal-uncached":
            env.update({"LOT_VERSION_TTL_MS": "0", "LOT_CACHE_ENTRIES": "0"})
        return support.Server(kind, "portal.asgi:app", env=env)
    app = {"ref-asyncpg": "bench.lots_refs:asyncpg_app", "ref-memory": "bench.lots_refs:memory_app"}[kind]
    return support.Server(kind, app, factory=True, env={"BENCH_DSN": db_url, "BENCH_SAMPLE_FILE": str(sample_file),
                                                        "BENCH_SAMPLE_LIMIT": str(MEMORY_LOTS)})


def _ok(report: dict[str, Any], key: str) -> int:
    """Answers that are not what the scenario expects (a 304 is the expected answer of the *_304 runs)."""
    want = "304" if key.endswith("_304") else "200"
    return sum(n for status, n in report["statuses"].items() if status != want) + report["unexpected_body"] \
        + report["disconnects"]


def run_lots_bench(pg_url: str, *, lots: int = 100_000, sample: int = 10_000, connections: int = 32,
                   duration: float = 20.0, warmup: float = 3.0, max_requests: int = 500_000, keep: bool = False,
                   only: list[str] | None = None, db_prefix: str = "bench_lots", log: Any = print) -> dict[str, Any]:
    from portal.cli import migrate
    from portal.settings import Settings

    problem = asyncio.run(support.check_server(pg_url))
    if problem:
        raise SystemExit(problem)
    db_url = asyncio.run(support.create_database(pg_url, db_prefix))
    log(f"· lots benchmark: database {db_url.rsplit('/', 1)[1]} ({'kept' if keep else 'dropped at the end; --keep keeps it'})")
    result: dict[str, Any] = {
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": _machine(),
        "load": {"connections": connections, "duration_s": duration, "warmup_s": warmup, "sample_lots": sample},
        "scenarios": {},
    }
    try:
        with tempfile.TemporaryDirectory(prefix="bench-lots-") as tmp:
            workdir = Path(tmp)
            t0 = time.perf_counter()
            migrate(Settings.from_env({"DATABASE_URL": db_url, "PORTAL_ENV": "production", "PORTAL_SECRET": SECRET,
                                       "PORTAL_SERVICE_TOKEN": SERVICE_TOKEN}))
            from bench.lots_data import generate

            data = asyncio.run(generate(db_url, lots=lots, sample_size=sample, log=log))
            log(f"  data ready in {time.perf_counter() - t0:.1f}s: {data.lots:,} lots ({data.public:,} public), "
                f"{data.findings:,} findings on the sample")
            result["data"] = {"lots": data.lots, "public": data.public, "findings": data.findings,
                              "migrate_and_generate_s": round(time.perf_counter() - t0, 1)}
            result["postgres"] = asyncio.run(_pg_version(db_url))
            sample_file = workdir / "sample.json"
            sample_file.write_text(json.dumps(data.sample), encoding="utf-8")
            files = _request_files(workdir, data.sample, data.searches)
            first = f"/lots/{data.sample[0]['lot_no']}"
            for index, (key, kind, reqs, label) in enumerate(SCENARIOS):
                if only and key not in only:
                    continue
                server = _server(kind, db_url, sample_file, workdir, len(data.sample))
                log(f"· {label}: {duration:.0f}s after {warmup:.0f}s warm-up, {connections} connections …")
                with support.running(server, first, {"Accept": "text/html"}):
                    report = support.measure(server, files[reqs], connections=connections, duration=duration,
                                             warmup=warmup, max_requests=max_requests, seed=300 + index)
                    report["peak_rss_kib"] = support.proc_status(server.pid).get("VmHWM")
                report["label"] = label
                report["problems"] = _ok(report, key)
                result["scenarios"][key] = report
                log(f"  {report['rps']:.0f} req/s, p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms, "
                    f"{report['requests']:,} requests, statuses {report['statuses']}, problems {report['problems']}; "
                    f"server CPU {report['server_cpu_ms_per_request']} ms/req; machine busy "
                    f"{report['machine_cpu_busy_pct']}% (idle-server background {report['background_busy_pct']}%)")
                if report["problems"]:
                    log(f"  server log {server.log_path}:\n{server.tail(10)}")
    finally:
        if keep:
            log(f"· kept database: {db_url}")
        else:
            asyncio.run(support.drop_database(db_url))
    result["ratios"] = ratios(result["scenarios"])
    return result


def ratios(s: dict[str, Any]) -> dict[str, float | None]:
    def r(a: str, b: str, by: str = "rps") -> float | None:
        if a not in s or b not in s:
            return None
        if by == "cpu":
            return round(s[b]["server_cpu_ms_per_request"] / s[a]["server_cpu_ms_per_request"], 3) \
                if s[a]["server_cpu_ms_per_request"] else None
        return round(s[a]["rps"] / s[b]["rps"], 3) if s[b]["rps"] else None

    return {"uncached_over_asyncpg": r("lot_uncached", "lot_asyncpg"),
            "uncached_over_asyncpg_by_cpu": r("lot_uncached", "lot_asyncpg", "cpu"),
            "p304_over_memory": r("lot_304", "lot_memory"),
            "p304_over_memory_304": r("lot_304", "lot_memory_304"),
            "cached_over_memory": r("lot_cached", "lot_memory"),
            "search_p99_ms": s["search"]["p99_ms"] if "search" in s else None,
            "search_cold_p99_ms": s["search_cold"]["p99_ms"] if "search_cold" in s else None}


def markdown(result: dict[str, Any]) -> str:
    lines = ["| Scenario | req/s | p50 ms | p99 ms | statuses | problems | peak RSS MiB | server CPU ms/req |",
             "|---|---:|---:|---:|---|---:|---:|---:|"]
    for key, _k, _r, label in SCENARIOS:
        s = result["scenarios"].get(key)
        if s:
            lines.append(f"| {label} | {s['rps']:,.0f} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} | {s['statuses']} | "
                         f"{s['problems']} | {(s.get('peak_rss_kib') or 0) / 1024:.0f} | "
                         f"{s['server_cpu_ms_per_request']:.2f} |")
    r = result.get("ratios", {})
    out = "\n".join(lines) + "\n\n"

    def pct(v: float | None) -> str:
        return f"{v:.0%}" if v is not None else "–"

    out += (f"- lot page, portal uncached / asyncpg reference: **{pct(r.get('uncached_over_asyncpg'))}** "
            f"(by server CPU per request {pct(r.get('uncached_over_asyncpg_by_cpu'))}; aim ≥ 60%)\n"
            f"- 304 from the portal / in-memory reference rendering the page: **{pct(r.get('p304_over_memory'))}** "
            f"(aim ≥ 70%); / the in-memory reference's own 304: {pct(r.get('p304_over_memory_304'))}\n"
            f"- lot page as deployed (cached body) / in-memory reference: {pct(r.get('cached_over_memory'))}\n"
            f"- search with three filters and sorting: p99 **{r.get('search_cold_p99_ms')} ms** with the result "
            f"cache off, {r.get('search_p99_ms')} ms as deployed (aim < 100 ms)\n")
    backgrounds = [s["background_busy_pct"] for s in result["scenarios"].values()]
    if backgrounds:
        out += (f"- other work on this shared box, server idle just before each run: "
                f"{min(backgrounds):.0f}–{max(backgrounds):.0f}% of both cores\n")
    m, d, load = result["machine"], result.get("data", {}), result["load"]
    out += (f"\n{m['cpus']}-core {m['cpu_model'] or 'machine'}, PostgreSQL {result.get('postgres', '?')} on the same "
            f"box; {d.get('lots', 0):,} lots ({d.get('public', 0):,} public), {d.get('findings', 0):,} findings on a "
            f"{load['sample_lots']:,}-lot sample; one uvicorn worker per server, "
            f"{os.environ.get('DATABASE_POOL_SIZE') or 10} database connections; {load['connections']} connections, "
            f"{load['warmup_s']:.0f} s warm-up then {load['duration_s']:.0f} s per scenario.\n")
    return out


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.lots")
    parser.add_argument("--lots", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--db-prefix", default="bench_lots", help="the database is <prefix>_<random>")
    args = parser.parse_args()
    res = run_lots_bench(support.server_url(), lots=args.lots, sample=args.sample, connections=args.connections,
                         duration=args.duration, warmup=args.warmup, keep=args.keep,
                         only=[s for s in args.only.split(",") if s] or None, db_prefix=args.db_prefix)
    support.RESULTS_DIR.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    (support.RESULTS_DIR / f"bench-lots-{stamp}.json").write_text(json.dumps(res, indent=2, default=str))
    print("\n" + markdown(res))
