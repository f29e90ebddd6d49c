"""The back-office queue on PostgreSQL (issue 3): claim-and-complete throughput against a
bare asyncpg loop, and idempotent submissions under retries.

    python -m bench.queue                     # 100,000 items, 8 workers, 10,000 forms
    python -m bench.queue --items 20000 --forms 2000 --keep

1. A queue of ``items`` work items in one department. ``workers`` staff members claim the
   next item and complete it, as staff do: claim and completion are separate transactions,
   each through backoffice.service (the portal's own code), each writing its audit row and
   an outbox row. Afterwards: every item is done, each was claimed and completed exactly
   once (counted in the audit log), and no worker got an item another worker had.
2. The same number of rows in a table of the same shape (``LIKE work_item INCLUDING ALL``),
   worked by a bare asyncpg loop: ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)``
   then ``UPDATE … SET state = 'done'``, no audit, no outbox. The ratio says what the
   portal's bookkeeping costs.
3. ``forms`` submissions through the real HTTP API (in-process ASGI: routing, auth,
   validation, idempotency), about a third of them retried with the same Idempotency-Key,
   some of the retries racing the original; then a count shows exactly ``forms`` items.

Runs in a database it creates and drops (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import random
import statistics
import sys
import time
from typing import Any

import asyncpg

from bench import support

DEPARTMENT = "court"
LEASE = 900


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _seed(url: str, items: int, workers: int) -> tuple[list[int], int]:
    """Staff accounts and a citizen, then ``items`` new items (COPY), and the bare table with the same rows."""
    conn = await asyncpg.connect(url)
    try:
        now = dt.datetime.now(dt.UTC)
        staff_ids = []
        for i in range(workers):
            staff_ids.append(await conn.fetchval(
                "INSERT INTO user_account (email, display_name, password_hash, role, department, is_active, is_demo,"
                " created_at, updated_at) VALUES ($1, $2, 'x', 'staff', $3, true, false, $4, $4) RETURNING id",
                f"bench-staff-{i}@bench.local", f"bench clerk {i}", DEPARTMENT, now))
        citizen = await conn.fetchval(
            "INSERT INTO user_account (email, display_name, password_hash, role, is_active, is_demo, created_at,"
            " updated_at) VALUES ('bench-citizen@bench.local', 'bench citizen', 'x', 'creditor', true, false, $1, $1)"
            " RETURNING id", now)
        due = now + dt.timedelta(days=5)
        data = json.dumps({"case_number": "(2024)浙0681执1234号", "asset_type": "other", "description": "bench",
                           "contact_name": "bench", "contact_phone": "13800000000"})
        columns = ["kind", "department", "state", "priority", "subject", "data", "channel", "language", "citizen_id",
                   "due_at", "version", "created_at", "updated_at"]
        rows = [("asset_clue", DEPARTMENT, "new", 0, f"bench {i}", data, "web", "zh", citizen,
                 due + dt.timedelta(seconds=i), 1, now, now) for i in range(items)]
        await conn.copy_records_to_table("work_item", records=rows, columns=columns)
        await conn.execute("CREATE TABLE bare_item (LIKE work_item INCLUDING ALL)")
        await conn.execute("INSERT INTO bare_item SELECT * FROM work_item")
        await conn.execute("ANALYZE")
        return staff_ids, citizen
    finally:
        await conn.close()


async def _wait_until(start_at: float) -> None:
    await asyncio.sleep(max(0.0, start_at - time.time()))


async def _portal_workers(url: str, staff_ids: list[int], start_at: float) -> dict[str, Any]:
    """Staff claiming and completing through backoffice.service, each transaction its own session."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from accounts.principal import Principal
    from backoffice import service
    from storage.db import normalise_database_url

    engine = create_async_engine(normalise_database_url(url), pool_size=len(staff_ids) + 1, max_overflow=0)
    makers = async_sessionmaker(engine, expire_on_commit=False)
    latencies: list[float] = []

    async def worker(user_id: int) -> list[int]:
        who = Principal(user_id, "staff", f"bench clerk {user_id}", DEPARTMENT)
        done: list[int] = []
        while True:
            t0 = time.perf_counter()
            async with makers() as s:
                item = await service.claim_next(s, who, lease_seconds=LEASE)
                await s.commit()
            if item is None:
                return done
            latencies.append(time.perf_counter() - t0)
            async with makers() as s:
                await service.complete(s, item.id, who, None)
                await s.commit()
            done.append(item.id)

    async with engine.connect() as conn:  # open the pool before the clock starts
        await conn.exec_driver_sql("SELECT 1")
    await _wait_until(start_at)
    per_worker = await asyncio.gather(*(worker(u) for u in staff_ids))
    end = time.time()
    await engine.dispose()
    return {"per_worker": per_worker, "latencies": latencies, "end": end}


async def _bare_workers(url: str, staff_ids: list[int], start_at: float) -> dict[str, Any]:
    """The same work as bare asyncpg: two UPDATEs per item, nothing else."""
    claim = (
        "UPDATE bare_item SET state = 'claimed', claimed_by = $1, lease_expires_at = now() + interval '15 minutes',"
        " first_claimed_at = coalesce(first_claimed_at, now()), version = version + 1, updated_at = now()"
        " WHERE id = (SELECT id FROM bare_item WHERE department = $2 AND state IN ('new', 'reopened', 'claimed')"
        " AND (state <> 'claimed' OR lease_expires_at < now())"
        " ORDER BY priority DESC, due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id"
    )
    complete = ("UPDATE bare_item SET state = 'done', closed_at = now(), lease_expires_at = NULL,"
                " version = version + 1, updated_at = now() WHERE id = $1 AND claimed_by = $2 AND state = 'claimed'")
    pool = await asyncpg.create_pool(url, min_size=len(staff_ids), max_size=len(staff_ids))
    latencies: list[float] = []

    async def worker(user_id: int) -> list[int]:
        done: list[int] = []
        async with pool.acquire() as conn:
            while True:
                t0 = time.perf_counter()
                async with conn.transaction():
                    item_id = await conn.fetchval(claim, user_id, DEPARTMENT)
                if item_id is None:
                    return done
                latencies.append(time.perf_counter() - t0)
                async with conn.transaction():
                    status = await conn.execute(complete, item_id, user_id)
                assert status == "UPDATE 1", status
                done.append(item_id)

    await _wait_until(start_at)
    per_worker = await asyncio.gather(*(worker(u) for u in staff_ids))
    end = time.time()
    await pool.close()
    return {"per_worker": per_worker, "latencies": latencies, "end": end}


def _child(kind: str, url: str, staff_ids: list[int], start_at: float) -> dict[str, Any]:
    runner = _portal_workers if kind == "portal" else _bare_workers
    return asyncio.run(runner(url, staff_ids, start_at))


def _run_workers(kind: str, url: str, staff_ids: list[int], procs: int) -> dict[str, Any]:
    """Workers spread over ``procs`` processes (as staff are spread over portal replicas), all
    starting at the same moment once every process is ready."""
    import multiprocessing

    shares = [staff_ids[i::procs] for i in range(procs)]
    start_at = time.time() + 8.0  # room to start the processes and open their pools
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        parts = pool.starmap(_child, [(kind, url, share, start_at) for share in shares])
    claimed = [i for part in parts for w in part["per_worker"] for i in w]
    return {"elapsed_s": max(p["end"] for p in parts) - start_at, "completed": len(claimed),
            "distinct": len(set(claimed)), "per_worker": [len(w) for p in parts for w in p["per_worker"]],
            "claim_latencies": [x for p in parts for x in p["latencies"]]}


async def _check(url: str, items: int) -> dict[str, Any]:
    """Every item done, each claimed and completed exactly once according to the audit log."""
    conn = await asyncpg.connect(url)
    try:
        not_done = await conn.fetchval("SELECT count(*) FROM work_item WHERE kind = 'asset_clue' AND state <> 'done'")
        done = await conn.fetchval("SELECT count(*) FROM work_item WHERE kind = 'asset_clue' AND state = 'done'")
        counts = await conn.fetch(
            "SELECT action, count(*) AS rows, count(DISTINCT subject_id) AS items FROM audit_log"
            " WHERE subject_type = 'work_item' AND action IN ('claim', 'complete') GROUP BY action")
        by_action = {r["action"]: (r["rows"], r["items"]) for r in counts}
        outbox = await conn.fetchval("SELECT count(*) FROM notification_outbox")
        bare_done = await conn.fetchval("SELECT count(*) FROM bare_item WHERE state = 'done'")
    finally:
        await conn.close()
    claims, claimed_items = by_action.get("claim", (0, 0))
    completes, completed_items = by_action.get("complete", (0, 0))
    return {
        "items_done": done, "items_not_done": not_done, "lost": items - done,
        "audit_claim_rows": claims, "audit_completed_items": completed_items, "audit_complete_rows": completes,
        "double_claims": claims - claimed_items, "double_completions": completes - completed_items,
        "outbox_rows": outbox, "bare_done": bare_done,
    }


async def _forms_run(url: str, forms: int, concurrency: int, seed: int) -> dict[str, Any]:
    """``forms`` distinct submissions through the HTTP API, with retries; count what was filed."""
    import httpx

    from accounts.identity import make_citizen_token
    from portal.app import create_app
    from portal.settings import Settings

    env = {"DATABASE_URL": url, "PORTAL_ENV": "test", "PORTAL_SECRET": "bench-secret-" + "x" * 40,
           "PORTAL_SERVICE_TOKEN": "bench-service-token-0123456789", "NOTIFY_INTERVAL_SECONDS": "0",
           "DATABASE_POOL_SIZE": str(concurrency)}
    settings = Settings.from_env(env)
    app = create_app(settings)
    conn = await asyncpg.connect(url)
    citizen = await conn.fetchval("SELECT id FROM user_account WHERE email = 'bench-citizen@bench.local'")
    await conn.close()
    token = make_citizen_token(settings.secret_key, citizen)
    rng = random.Random(seed)
    plan: list[tuple[int, str]] = []  # (form number, "first" | "retry" | "race")
    for i in range(forms):
        roll = rng.random()
        plan.append((i, "first"))
        if roll < 0.15:
            plan.append((i, "race"))  # sent again at once: both in flight together
        elif roll < 0.35:
            plan.append((i, "retry"))  # sent again later (a timeout on the assistant's side)
    later = [p for p in plan if p[1] == "retry"]
    now_ = [p for p in plan if p[1] != "retry"]
    rng.shuffle(later)
    statuses: dict[int, int] = {}
    latencies: list[float] = []

    def request(i: int) -> tuple[dict[str, str], bytes]:
        body = {"kind": "talk_to_person", "channel": "chat", "language": "zh",
                "data": {"topic": f"bench form {i}", "contact_name": "张*", "contact_phone": "13812345678"},
                "transcript": [{"who": "user", "text": f"form {i}"}]}
        headers = {"Authorization": f"Bearer {settings.service_token}", "Idempotency-Key": f"bench-form-{i:08d}",
                   "X-Citizen-Token": token, "X-Chat-Sender": f"bench-{i % 97}", "Content-Type": "application/json"}
        return headers, json.dumps(body).encode()

    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for p in now_ + later:
        queue.put_nowait(p)

    async with app.lifespan():  # start-up hooks (the SQLAlchemy plugin, the queue wiring)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench.local") as client:

            async def sender() -> None:
                while not queue.empty():
                    i, _what = queue.get_nowait()
                    headers, content = request(i)
                    t0 = time.perf_counter()
                    resp = await client.post("/api/v1/submissions", headers=headers, content=content)
                    latencies.append(time.perf_counter() - t0)
                    statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
                    if resp.status_code not in (200, 201):
                        raise RuntimeError(f"form {i}: {resp.status_code} {resp.text[:200]}")

            start = time.perf_counter()
            await asyncio.gather(*(sender() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
    await app.state.ctx.engine.dispose()
    conn = await asyncpg.connect(url)
    try:
        filed = await conn.fetchval("SELECT count(*) FROM work_item WHERE kind = 'talk_to_person'")
        distinct_topics = await conn.fetchval(
            "SELECT count(DISTINCT data->>'topic') FROM work_item WHERE kind = 'talk_to_person'")
        keys = await conn.fetchval("SELECT count(*) FROM submission_key WHERE key LIKE 'bench-form-%'")
    finally:
        await conn.close()
    return {"forms": forms, "requests": len(plan), "retries": len(plan) - forms,
            "racing_retries": sum(1 for p in plan if p[1] == "race"), "status_201": statuses.get(201, 0),
            "status_200": statuses.get(200, 0), "items_filed": filed, "distinct_forms_filed": distinct_topics,
            "keys": keys, "elapsed_s": round(elapsed, 2), "requests_per_s": round(len(plan) / elapsed, 1),
            "p99_ms": round(_pct(latencies, 0.99) * 1000, 1)}


def _summary(portal: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    ours = portal["completed"] / portal["elapsed_s"]
    theirs = bare["completed"] / bare["elapsed_s"]
    return {
        "portal_items_per_s": round(ours, 1),
        "portal_claim_p50_ms": round(statistics.median(portal["claim_latencies"]) * 1000, 2),
        "portal_claim_p99_ms": round(_pct(portal["claim_latencies"], 0.99) * 1000, 2),
        "portal_elapsed_s": round(portal["elapsed_s"], 1),
        "portal_per_worker": portal["per_worker"],
        "bare_items_per_s": round(theirs, 1),
        "bare_claim_p99_ms": round(_pct(bare["claim_latencies"], 0.99) * 1000, 2),
        "bare_elapsed_s": round(bare["elapsed_s"], 1),
        "ratio_pct": round(100 * ours / theirs, 1),
        "portal_distinct_ok": portal["distinct"] == portal["completed"],
        "bare_distinct_ok": bare["distinct"] == bare["completed"],
    }


def run_queue_bench(pg_url: str, *, items: int = 100_000, workers: int = 8, forms: int = 10_000,
                    form_concurrency: int = 16, procs: int = 2, keep: bool = False, seed: int = 7) -> dict[str, Any]:
    """Run the queue benchmark on the PostgreSQL server at ``pg_url``; returns the figures."""
    from portal.cli import migrate
    from portal.settings import Settings

    logging.getLogger("httpx").setLevel(logging.WARNING)
    url = asyncio.run(support.create_database(pg_url, "bench_queue"))
    print(f"  · database {support._redact(url)}", flush=True)
    try:
        migrate(Settings.from_env({"DATABASE_URL": url, "PORTAL_ENV": "test"}))
        t0 = time.perf_counter()
        staff_ids, _citizen = asyncio.run(_seed(url, items, workers))
        print(f"  · seeded {items:,} items and the bare table in {time.perf_counter() - t0:.1f}s", flush=True)
        portal = _run_workers("portal", url, staff_ids, procs)
        print(f"  · portal: {portal['completed']:,} items in {portal['elapsed_s']:.1f}s", flush=True)
        bare = _run_workers("bare", url, staff_ids, procs)
        print(f"  · bare asyncpg: {bare['completed']:,} items in {bare['elapsed_s']:.1f}s", flush=True)
        checks = asyncio.run(_check(url, items))
        form_result = asyncio.run(_forms_run(url, forms, form_concurrency, seed)) if forms else None
    finally:
        if not keep:
            asyncio.run(support.drop_database(url))
    result: dict[str, Any] = {"items": items, "workers": workers, "processes": procs, **_summary(portal, bare),
                              "checks": checks,
                              "forms": form_result}
    result["ok"] = bool(
        checks["lost"] == 0 and checks["items_not_done"] == 0 and checks["double_claims"] == 0
        and checks["double_completions"] == 0 and checks["audit_completed_items"] == items
        and checks["bare_done"] == items and result["portal_distinct_ok"] and result["bare_distinct_ok"]
        and (form_result is None or (form_result["items_filed"] == forms == form_result["distinct_forms_filed"]))
    )
    if keep:
        result["database"] = support._redact(url)
    return result


def markdown(r: dict[str, Any]) -> str:
    c = r["checks"]
    lines = [
        f"{r['items']:,} items, {r['workers']} workers in {r['processes']} processes; claim and completion are "
        "separate transactions, each with its audit row and outbox row.",
        "",
        "| | items/s | claim p99 | elapsed |",
        "|---|---:|---:|---:|",
        f"| portal (backoffice.service) | {r['portal_items_per_s']:,} | {r['portal_claim_p99_ms']} ms "
        f"| {r['portal_elapsed_s']} s |",
        f"| bare asyncpg SKIP LOCKED loop | {r['bare_items_per_s']:,} | {r['bare_claim_p99_ms']} ms "
        f"| {r['bare_elapsed_s']} s |",
        "",
        f"Portal / bare: **{r['ratio_pct']}%**. Checks: {c['items_done']:,} done, {c['lost']} lost, "
        f"{c['double_claims']} double claims, {c['double_completions']} double completions "
        f"(audit log), {c['outbox_rows']:,} outbox rows.",
    ]
    f = r.get("forms")
    if f:
        lines += ["", f"Forms: {f['forms']:,} distinct submissions sent as {f['requests']:,} requests "
                      f"({f['retries']:,} retries, {f['racing_retries']:,} of them racing the original): "
                      f"{f['status_201']:,} × 201, {f['status_200']:,} × 200 → **{f['items_filed']:,} items filed** "
                      f"({f['requests_per_s']} requests/s, p99 {f['p99_ms']} ms)."]
    lines += ["", "All checks passed." if r["ok"] else "**A check failed** (see the JSON)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queue", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--forms", type=int, default=10_000)
    parser.add_argument("--procs", type=int, default=2, help="processes the workers are spread over (default 2)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    pg_url = support.server_url()
    problem = asyncio.run(support.check_server(pg_url))
    if problem:
        print(problem, file=sys.stderr)
        return 2
    result = run_queue_bench(pg_url, items=args.items, workers=args.workers, forms=args.forms, procs=args.procs,
                             keep=args.keep)
    print(json.dumps(result, indent=2, default=str))
    print()
    print(markdown(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
