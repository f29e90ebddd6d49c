"""The case progress page benchmark (issue 10): generated cases and nodes on PostgreSQL, the
portal's page beside an asyncpg reference serving the same page, and p99 at a constant rate.

1. Data: a throwaway database migrated by the portal's own migrations, then ``--cases`` cases
   (default 1,000,000) with ``--nodes`` nodes each (default 30: 30,000,000 nodes), two parties,
   two assets, an auction, a payment and a distribution plan with one line per case, all made
   by ``INSERT … SELECT … FROM generate_series`` inside PostgreSQL (the nodes' secondary indexes
   are dropped for the load and rebuilt after it), then the node medians
   (cases.stats.refresh_node_stats) and ``VACUUM ANALYZE``. The generation time is printed.
2. Servers, as in bench/transfers.py: uvicorn, one worker, restarted per scenario; the portal
   with PORTAL_ENV=production and its default pool of 10 connections; the reference
   (bench/cases_ref.py) with the same number of asyncpg connections.
3. Scenarios: closed loop, 32 connections (bench.loadgen): ``GET /cases/{id}`` with the
   creditor's grant cookie for a random case of a 10,000-case sample, on the portal and on the
   reference; then the portal at constant offered loads (``--rates``, default 200 requests/s;
   open loop, bench/openloop.py in its own process, latency measured from the moment each
   request was due: a slow answer delays the ones behind it, and that delay is measured).

    python -m bench.cases --cases 100000 --duration 10      # smaller than the issue's scale
    python -m bench.cases --generate-only --keep            # generate 1M/30M once, keep it …
    python -m bench.cases --db postgresql://…/cases_bench_… --rates 200,100   # … measure on it
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import support
from bench.transfers import SECRET, SERVICE_TOKEN

# The order of a case's nodes (cycled to --nodes): two failed auction rounds before a sale.
SEQUENCE = ["filed", "notice_served", "asset_report_order", "online_search", "search_result", "frozen", "seized",
            "consumption_restricted", "deducted", "appraisal", "appraisal_done", "auction_announced",
            "auction_unsold", "auction_announced", "auction_unsold", "auction_announced", "auction_sold",
            "proceeds_received", "distribution_plan", "payout", "search_result", "frozen", "deducted",
            "proceeds_received", "distribution_plan", "payout", "online_search", "search_result", "seized",
            "appraisal"]
NODE_INDEXES = ["ix_case_node_case_at", "ix_case_node_transition"]


async def generate(db_url: str, *, cases: int, nodes: int, parallel: int = 2, log: Any = print) -> dict[str, Any]:
    import asyncpg

    from cases.catalogue import catalogue

    cat = catalogue().nodes
    keys = [SEQUENCE[i % len(SEQUENCE)] for i in range(nodes)]
    stages = [cat[k].stage for k in keys]
    conn = await asyncpg.connect(db_url)
    t0 = time.perf_counter()
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("""
            INSERT INTO enforcement_case (id, case_number, year, court_code, case_type, serial, cause, filed_on,
                judge_name, judge_phone, amount_claimed, state, stage, latest_node_key, latest_node_at,
                query_code_version, source_system, source_id, version, created_at, updated_at)
            SELECT g, '(' || (2019 + g % 7) || ')' || (ARRAY['浙01','浙05','浙0105','浙0681'])[1 + g % 4] || '执' || g || '号',
                   2019 + g % 7, (ARRAY['浙01','浙05','浙0105','浙0681'])[1 + g % 4], '执', g, '民间借贷纠纷',
                   date '2019-01-01' + (g % 2000)::int, '陈立', '0575-87012345', 100000 + (g % 1000) * 1000,
                   'open', $2, $3, timestamptz '2019-01-01 02:00+00' + (g % 2000) * interval '1 day'
                       + ($4 - 1) * interval '9 days',
                   1, 'bench', g::text, 1, now(), now()
            FROM generate_series(1, $1::bigint) g""", cases, stages[-1], keys[-1], nodes)
        log(f"  cases: {time.perf_counter() - t0:.1f}s")
        await conn.execute("""
            INSERT INTO case_party (id, case_id, role, kind, name, id_hash, id_last4, amount_claimed, source_id,
                                    created_at, updated_at)
            SELECT 2 * g - 1 + r, g, CASE WHEN r = 0 THEN 'creditor' ELSE 'debtor' END, 'person',
                   CASE WHEN r = 0 THEN '李建华' ELSE '王国强' END, md5(g::text || r), lpad((g % 10000)::text, 4, '0'),
                   CASE WHEN r = 0 THEN 100000 + (g % 1000) * 1000 END, 'P' || r, now(), now()
            FROM generate_series(1, $1::bigint) g, generate_series(0, 1) r""", cases)
        log(f"  parties: {time.perf_counter() - t0:.1f}s")
        # The nodes load without their foreign key and secondary indexes (rebuilt after, in bulk),
        # in --parallel slices of the cases, one connection each.
        fks = [r[0] for r in await conn.fetch(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'case_node'::regclass AND contype = 'f'")]
        for fk in fks:
            await conn.execute(f'ALTER TABLE case_node DROP CONSTRAINT "{fk}"')
        for index in NODE_INDEXES:
            await conn.execute(f"DROP INDEX IF EXISTS {index}")
        await conn.execute("ALTER TABLE case_node DROP CONSTRAINT IF EXISTS uq_case_node_source")
        pk = await conn.fetchval("SELECT conname FROM pg_constraint WHERE conrelid = 'case_node'::regclass "
                                 "AND contype = 'p'")
        if pk:
            await conn.execute(f'ALTER TABLE case_node DROP CONSTRAINT "{pk}"')

        async def load_slice(first: int, last: int) -> None:
            c = await asyncpg.connect(db_url)
            try:
                await c.execute("SET synchronous_commit = off")
                await c.execute("""
                    INSERT INTO case_node (case_id, node_key, stage, occurred_at, description, prev_key,
                                           since_prev_seconds, source_id, created_at, updated_at)
                    SELECT g, ($3::text[])[k + 1], ($4::text[])[k + 1],
                           timestamptz '2019-01-01 02:00+00' + (g % 2000) * interval '1 day' + k * interval '9 days'
                               + ((g * 7 + k * 13) % 5) * interval '1 day',
                           '节点说明 ' || k,
                           CASE WHEN k > 0 THEN ($3::text[])[k] END,
                           CASE WHEN k > 0 THEN (9 + ((g * 7 + k * 13) % 5) - ((g * 7 + (k - 1) * 13) % 5)) * 86400
                           END,
                           'N' || k, now(), now()
                    FROM generate_series($1::bigint, $2::bigint) g, generate_series(0, $5 - 1) k""",
                                first, last, keys, stages, nodes)
            finally:
                await c.close()

        step = -(-cases // parallel)
        await asyncio.gather(*(load_slice(i + 1, min(cases, i + step)) for i in range(0, cases, step)))
        loaded = time.perf_counter() - t0
        log(f"  nodes: {loaded:.1f}s; rebuilding the node keys and indexes …")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        await conn.execute("SET max_parallel_maintenance_workers = 2")
        await conn.execute(f'ALTER TABLE case_node ADD CONSTRAINT "{pk or "pk_case_node"}" PRIMARY KEY (id)')
        log(f"  primary key: {time.perf_counter() - t0:.1f}s")
        await conn.execute("ALTER TABLE case_node ADD CONSTRAINT uq_case_node_source UNIQUE (case_id, source_id)")
        await conn.execute("CREATE INDEX ix_case_node_case_at ON case_node (case_id, occurred_at)")
        await conn.execute("CREATE INDEX ix_case_node_transition ON case_node (prev_key, node_key)")
        for fk in fks:  # validated in one pass over the table, not row by row
            await conn.execute(f'ALTER TABLE case_node ADD CONSTRAINT "{fk}" FOREIGN KEY (case_id) '
                               "REFERENCES enforcement_case (id) ON DELETE CASCADE")
        log(f"  indexes: {time.perf_counter() - t0:.1f}s")
        await conn.execute("""
            INSERT INTO case_asset (case_id, kind, description, state, state_on, value, source_id, created_at,
                                    updated_at)
            SELECT g, (ARRAY['real_estate','bank_deposit'])[a], '财产 ' || a, (ARRAY['auctioned','frozen'])[a],
                   date '2020-01-01' + (g % 1500)::int, 50000 * a, 'A' || a, now(), now()
            FROM generate_series(1, $1::bigint) g, generate_series(1, 2) a""", cases)
        await conn.execute("""
            INSERT INTO case_auction (case_id, round, title, platform, starting_price, starts_on, ends_on, result,
                                      price, source_id, created_at, updated_at)
            SELECT g, 2, '某小区某幢某室', '淘宝司法拍卖', 1456000, date '2020-02-01' + (g % 1500)::int,
                   date '2020-02-02' + (g % 1500)::int, 'sold', 2350000, 'R1', now(), now()
            FROM generate_series(1, $1::bigint) g""", cases)
        await conn.execute("""
            INSERT INTO case_money (case_id, direction, amount, booked_on, description, source_id, created_at,
                                    updated_at)
            SELECT g, 'in', 2350000, date '2020-02-10' + (g % 1500)::int, '拍卖成交价款', 'M1', now(), now()
            FROM generate_series(1, $1::bigint) g""", cases)
        await conn.execute("""
            INSERT INTO distribution_plan (id, case_id, state, served_on, total, source_id, created_at, updated_at)
            SELECT g, g, 'served', date '2020-03-01' + (g % 1500)::int, 100000 + (g % 1000) * 1000, 'D1', now(), now()
            FROM generate_series(1, $1::bigint) g""", cases)
        await conn.execute("""
            INSERT INTO distribution_line (plan_id, party_id, payee_name, amount, state, source_id, created_at,
                                           updated_at)
            SELECT g, 2 * g - 1, '李建华', 100000 + (g % 1000) * 1000, 'pending', 'L1', now(), now()
            FROM generate_series(1, $1::bigint) g""", cases)
        for table in ("enforcement_case", "case_party", "distribution_plan"):
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
            await conn.execute(sql)  # fixed table names
        log(f"  the rest: {time.perf_counter() - t0:.1f}s; node medians …")
    finally:
        await conn.close()
    from sqlalchemy.ext.asyncio import create_async_engine

    from cases.bulk import refresh_stats

    engine = create_async_engine(db_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        transitions = await refresh_stats(engine)
    finally:
        await engine.dispose()
    stats_done = time.perf_counter() - t0
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    total = time.perf_counter() - t0
    log(f"  medians ({transitions} transitions) by {stats_done:.1f}s; VACUUM ANALYZE done: {total:.1f}s in all")
    return {"cases": cases, "nodes": cases * nodes, "nodes_loaded_s": round(loaded, 1),
            "generate_s": round(total, 1), "transitions": transitions}


async def _existing(db_url: str) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        n_cases = await conn.fetchval("SELECT max(id) FROM enforcement_case")
        n_nodes = await conn.fetchval("SELECT reltuples::bigint FROM pg_class WHERE relname = 'case_node'")
    finally:
        await conn.close()
    return {"cases": n_cases, "nodes": n_nodes, "nodes_loaded_s": None, "generate_s": None, "transitions": None}


def _requests(workdir: Path, cases: int, sample: int) -> Path:
    from litestar.middleware.csrf import generate_csrf_token

    from cases.access import CASE_GRANT, grant_subject

    rng = random.Random(20261130)
    csrf = generate_csrf_token(SECRET)
    specs = []
    for case_id in rng.sample(range(1, cases + 1), min(sample, cases)):
        party = 2 * case_id - 1
        subject = grant_subject(case_id, party)
        specs.append({"path": f"/cases/{case_id}", "expect": "通常的下一步", "headers": {
            "Accept": "text/html",
            "Cookie": f"{CASE_GRANT.cookie_name(subject)}={CASE_GRANT.issue(SECRET, subject, 1)}; csrftoken={csrf}"}})
    path = workdir / "requests-cases.json"
    path.write_text(json.dumps(specs), encoding="utf-8")
    return path


def constant_rate(server: Any, requests: Path, *, rate: float, duration: float) -> dict[str, Any]:
    """Open loop (bench.openloop, its own process): request i is due at start + i/rate whatever
    happened before; its latency counts from then. With the server's CPU per request."""
    cmd = [sys.executable, "-m", "bench.openloop", "--port", str(server.port), "--requests", str(requests),
           "--rate", str(rate), "--duration", str(duration)]
    busy0, total0 = support.machine_cpu()
    time.sleep(1.0)
    busy1, total1 = support.machine_cpu()
    cpu0, (busy2, total2) = support.cpu_seconds(server.pid), support.machine_cpu()
    out = subprocess.run(cmd, cwd=support.ROOT, capture_output=True, timeout=duration + 120, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"open-loop generator failed:\n{out.stderr.decode(errors='replace')}")
    report: dict[str, Any] = json.loads(out.stdout)
    cpu1, (busy3, total3) = support.cpu_seconds(server.pid), support.machine_cpu()
    report["server_cpu_ms_per_request"] = round(1000 * (cpu1 - cpu0) / max(report["answered"], 1), 3)
    report["machine_cpu_busy_pct"] = round(100 * (busy3 - busy2) / max(total3 - total2, 1), 1)
    report["background_busy_pct"] = round(100 * (busy1 - busy0) / max(total1 - total0, 1), 1)
    return report


def run_cases_bench(pg_url: str, *, cases: int = 1_000_000, nodes: int = 30, sample: int = 10_000,
                    connections: int = 32, duration: float = 20.0, warmup: float = 3.0,
                    rates: tuple[float, ...] = (200.0,),
                    keep: bool = False, db: str | None = None, generate_only: bool = False, parallel: int = 2,
                    log: Any = print) -> dict[str, Any]:
    from portal.cli import migrate
    from portal.settings import Settings

    problem = asyncio.run(support.check_server(pg_url))
    if problem:
        raise SystemExit(problem)
    result: dict[str, Any] = {"scenarios": {}}
    if db:  # data generated by an earlier run (--generate-only --keep): measured again, kept
        db_url, keep = db, True
        result["data"] = asyncio.run(_existing(db_url))
        cases = result["data"]["cases"]
        log(f"· cases benchmark: existing database {db_url.rsplit('/', 1)[1]}; {cases:,} cases")
    else:
        db_url = asyncio.run(support.create_database(pg_url, "cases_bench"))
        log(f"· cases benchmark: database {db_url.rsplit('/', 1)[1]}; {cases:,} cases × {nodes} nodes")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-cases-") as tmp:
            workdir = Path(tmp)
            if not db:
                migrate(Settings.from_env({"DATABASE_URL": db_url, "PORTAL_ENV": "production",
                                           "PORTAL_SECRET": SECRET, "PORTAL_SERVICE_TOKEN": SERVICE_TOKEN}))
                result["data"] = asyncio.run(generate(db_url, cases=cases, nodes=nodes, parallel=parallel, log=log))
                if generate_only:
                    return result
            requests = _requests(workdir, cases, sample)
            first = json.loads(requests.read_text())[0]
            servers = {
                "page_portal": support.Server("portal", "portal.asgi:app", env={
                    "DATABASE_URL": db_url, "PORTAL_ENV": "production", "PORTAL_SECRET": SECRET,
                    "PORTAL_SERVICE_TOKEN": SERVICE_TOKEN, "LOAD_DEMO_DATA": "false", "DOCUMENT_BACKEND": "local",
                    "DOCUMENT_DIR": str(workdir / "documents"), "CASE_STATS_INTERVAL_SECONDS": "0"}),
                "page_asyncpg": support.Server("ref-asyncpg", "bench.cases_ref:asyncpg_app", factory=True,
                                               env={"BENCH_DSN": db_url}),
            }
            for key, server in servers.items():
                log(f"· {key}: {duration:.0f}s after {warmup:.0f}s warm-up, {connections} connections …")
                with support.running(server, first["path"], first["headers"]):
                    report = support.measure(server, requests, connections=connections, duration=duration,
                                             warmup=warmup, max_requests=500_000, seed=11)
                    report["peak_rss_kib"] = support.proc_status(server.pid).get("VmHWM")
                    if key == "page_portal":
                        for rate in rates:
                            log(f"  constant {rate:.0f} req/s offered …")
                            c = result["scenarios"][f"page_portal_constant_{rate:.0f}"] = constant_rate(
                                server, requests, rate=rate, duration=duration)
                            log(f"  constant: {c}")
                result["scenarios"][key] = report
                log(f"  {report['rps']:.0f} req/s, p50 {report['p50_ms']} ms, p99 {report['p99_ms']} ms, "
                    f"non-2xx {report['non_2xx']}, unexpected bodies {report['unexpected_body']}")
    finally:
        if keep:
            log(f"· kept database: {db_url}")
        else:
            asyncio.run(support.drop_database(db_url))
    portal, ref = result["scenarios"].get("page_portal"), result["scenarios"].get("page_asyncpg")
    result["portal_vs_asyncpg"] = round(portal["rps"] / ref["rps"], 3) if portal and ref and ref["rps"] else None
    result["portal_vs_asyncpg_by_cpu"] = (round(ref["server_cpu_ms_per_request"] / portal["server_cpu_ms_per_request"], 3)
                                          if portal and ref and portal["server_cpu_ms_per_request"] else None)
    return result


def markdown(result: dict[str, Any]) -> str:
    d = result["data"]
    s = result["scenarios"]
    lines = [f"{d['cases']:,} cases, {d['nodes']:,} nodes generated in {d['generate_s']} s "
             f"(nodes loaded by {d['nodes_loaded_s']} s).", "",
             "| scenario | req/s | p50 ms | p99 ms | non-2xx | server CPU ms/req | machine busy % (before) |",
             "|---|---|---|---|---|---|---|"]
    for key in ("page_portal", "page_asyncpg"):
        if key in s:
            r = s[key]
            lines.append(f"| {key} (32 connections) | {r['rps']:.0f} | {r['p50_ms']} | {r['p99_ms']} | {r['non_2xx']} "
                         f"| {r['server_cpu_ms_per_request']} | {r['machine_cpu_busy_pct']} "
                         f"({r['background_busy_pct']}) |")
    for key, c in s.items():
        if key.startswith("page_portal_constant"):
            lines.append(f"| page_portal at {c['offered_rps']:.0f} req/s offered (open loop) | {c['achieved_rps']} | "
                         f"{c['p50_ms']} | {c['p99_ms']} | {c['non_2xx'] + c['missing']} | "
                         f"{c['server_cpu_ms_per_request']} | {c['machine_cpu_busy_pct']} ({c['background_busy_pct']}) |")
    lines.append(f"\nportal / asyncpg reference: {result['portal_vs_asyncpg']} by throughput, "
                 f"{result['portal_vs_asyncpg_by_cpu']} by server CPU per request")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cases", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--nodes", type=int, default=30, help="nodes per case (default 30)")
    parser.add_argument("--sample", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--rates", default="200", help="constant offered loads for the p99, req/s (e.g. 200,100)")
    parser.add_argument("--keep", action="store_true", help="keep the database (its URL is printed)")
    parser.add_argument("--generate-only", action="store_true", help="generate the data and stop (with --keep)")
    parser.add_argument("--parallel", type=int, default=2, help="connections loading the nodes (default 2)")
    parser.add_argument("--db", help="measure on a database generated earlier (--generate-only --keep); kept")
    args = parser.parse_args(argv)
    result = run_cases_bench(support.server_url(), cases=args.cases, nodes=args.nodes, sample=args.sample,
                             connections=args.connections, duration=args.duration, warmup=args.warmup,
                             rates=tuple(float(r) for r in args.rates.split(",")), keep=args.keep, db=args.db, generate_only=args.generate_only,
                             parallel=args.parallel)
    if args.generate_only:
        print(json.dumps(result["data"]))
        return 0
    print("\n" + markdown(result))
    support.RESULTS_DIR.mkdir(exist_ok=True)
    (support.RESULTS_DIR / "cases-latest.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    bad = sum(r.get("non_2xx", 0) + r.get("unexpected_body", 0) for r in result["scenarios"].values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
