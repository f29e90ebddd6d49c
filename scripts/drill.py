"""The fault drill: `make drill`. Starts the cluster (scripts/cluster.py), runs a bounded load
through the load balancer on 127.0.0.1, breaks one part at a time, and checks afterwards that
nothing was lost or doubled.

    .venv/bin/python -m scripts.drill [--no-bot] [--base-port 18100]

Load (a few clients each, every request with a 15 s limit, all to 127.0.0.1):
  submissions  POST /api/v1/submissions as the assistant would (service token, a citizen's signed
               token, an Idempotency-Key), retried with the same key until accepted
  uploads      a signed-in buyer uploads small PDFs to their transfer (POST /documents)
  tracking     GET /api/v1/transfers/ZT2026000001 with its verification code
  chat         conversations through the portal's /chat (when the assistant is prepared)

Faults, in turn: SIGKILL a portal (restarted after 5 s); SIGKILL a Rasa replica (restarted in
the background); freeze the S3 server for 20 s (SIGSTOP/SIGCONT: a store that stops
answering); SIGKILL the outbox sender (restarted after 3 s); restart PostgreSQL (fast shutdown,
then the same data directory started again); freeze Redis for 20 s. PostgreSQL and Redis are
the cluster's own processes (scripts/cluster.py), so breaking them touches nothing else.

Checks: every submission the client saw accepted exists exactly once, with its audit entry;
every accepted upload has its object and no object lacks its row (the sweeper's view, grace
0); every outbox row was sent, and the fake recipients hold each exactly once after
de-duplication by Message-ID; each conversation's history is in the tracker store; per
fault, how many requests failed and how (503 with Retry-After, or something worse), and how
many seconds until the system was healthy again. Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import os
import signal
import sys
import time
import uuid
from collections import Counter, defaultdict
from typing import Any

import httpx

from scripts.cluster import PG_HOST, PG_USER, Cluster, Ports, say

TIMEOUT = 15.0
TRACKING = ("ZT2026000001", "YJSZ2468")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CLUE = {"case_number": "(2024)浙0681执1234号", "asset_type": "bank_account", "description": "演练:被执行人账户线索。",
        "contact_name": "李*华", "contact_phone": "13812345678"}


@dataclasses.dataclass
class Outcome:
    kind: str
    fault: str
    status: int | None  # None: no HTTP answer (connection error or timeout)
    error: str
    retry_after: bool
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 400

    @property
    def clear(self) -> bool:
        """A failure the client can act on: 503 with Retry-After (or a throttle's 429)."""
        return self.status in (503, 429) and self.retry_after


@dataclasses.dataclass
class Drill:
    cluster: Cluster
    fault: str = "baseline"
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    accepted: dict[str, str] = dataclasses.field(default_factory=dict)  # idempotency key → reference
    uploads: list[int] = dataclasses.field(default_factory=list)  # accepted document ids
    chats: dict[str, int] = dataclasses.field(default_factory=dict)  # conversation → answered turns
    stop: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    recovery: dict[str, float] = dataclasses.field(default_factory=dict)
    oks: dict[str, list[float]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    killed_mid_batch: bool = False
    held_at_kill: int = 0

    async def call(self, kind: str, client: httpx.AsyncClient, method: str, url: str, **kw: Any) -> httpx.Response | None:
        started = time.monotonic()
        fault = self.fault
        try:
            resp = await client.request(method, url, timeout=TIMEOUT, **kw)
        except httpx.HTTPError as exc:
            self.outcomes.append(Outcome(kind, fault, None, type(exc).__name__, False, time.monotonic() - started))
            return None
        outcome = Outcome(kind, fault, resp.status_code, "", "retry-after" in resp.headers,
                          time.monotonic() - started)
        self.outcomes.append(outcome)
        if outcome.ok:
            self.oks[kind].append(time.monotonic())
        return resp

    # --- load ----------------------------------------------------------------------------------

    async def submitter(self, citizen_token: str) -> None:
        headers = {"Authorization": f"Bearer {self.cluster.token}", "X-Citizen-Token": citizen_token}
        async with httpx.AsyncClient(base_url=self.cluster.url) as client:
            while not self.stop.is_set():
                key = f"drill-{uuid.uuid4()}"
                body = {"kind": "asset_clue", "data": CLUE, "channel": "chat", "language": "zh"}
                for _attempt in range(40):  # the same key until accepted: a retry is never a second item
                    resp = await self.call("submission", client, "POST", "/api/v1/submissions", json=body,
                                           headers={**headers, "Idempotency-Key": key,
                                                    "X-Chat-Sender": f"drill-{key[-12:]}"})
                    if resp is not None and resp.status_code in (200, 201):
                        self.accepted[key] = resp.json()["reference"]
                        break
                    await asyncio.sleep(1.0)
                await asyncio.sleep(0.3)

    async def uploader(self, email: str, password: str, transfer_id: int) -> None:
        async with httpx.AsyncClient(base_url=self.cluster.url) as client:
            signed_in = False
            n = 0
            while not self.stop.is_set():
                if not signed_in:
                    await client.get("/login", timeout=TIMEOUT)
                    resp = await self.call("sign-in", client, "POST", "/login", data={
                        "email": email, "password": password, "_csrf_token": client.cookies.get("csrftoken", "")},
                        follow_redirects=False)
                    signed_in = resp is not None and resp.status_code == 303
                    if not signed_in:
                        await asyncio.sleep(1.0)
                        continue
                n += 1
                resp = await self.call("upload", client, "POST", "/documents", headers={"Accept": "application/json"},
                                       data={"subject_type": "transfer", "subject_id": str(transfer_id),
                                             "kind": "evidence", "_csrf_token": client.cookies.get("csrftoken", "")},
                                       files={"file": (f"drill-{n}.pdf", PDF + f"{uuid.uuid4()}".encode(),
                                                       "application/pdf")})
                if resp is not None and resp.status_code == 201:
                    self.uploads.append(int(resp.json()["id"]))
                elif resp is not None and resp.status_code in (401, 403):
                    signed_in = False
                await asyncio.sleep(0.5)

    async def tracker(self) -> None:
        number, code = TRACKING
        async with httpx.AsyncClient(base_url=self.cluster.url) as client:
            while not self.stop.is_set():
                await self.call("tracking", client, "GET", f"/api/v1/transfers/{number}",
                                headers={"X-Verification-Code": code})
                await asyncio.sleep(0.2)

    async def chatter(self, n: int) -> None:
        lines = ["你好", "契税怎么算", "需要哪些材料", "谢谢"]
        while not self.stop.is_set():
            conversation = f"c{n}-{uuid.uuid4().hex[:6]}"
            self.chats[conversation] = 0
            async with httpx.AsyncClient(base_url=self.cluster.url) as client:
                await client.get("/chat", timeout=TIMEOUT)
                for line in lines:
                    if self.stop.is_set():
                        break
                    resp = await self.call("chat", client, "POST", "/chat", headers={"HX-Request": "true"}, data={
                        "message": line, "_csrf_token": client.cookies.get("csrftoken", "")})
                    if resp is not None and resp.status_code == 200 and "暂时无法使用" not in resp.text:
                        self.chats[conversation] += 1
                    elif resp is not None and resp.status_code == 200:  # the page said so: count as a 503
                        self.outcomes[-1] = dataclasses.replace(self.outcomes[-1], status=503, retry_after=True,
                                                                error="assistant unavailable (said on the page)")
                    await asyncio.sleep(1.0)

    # --- faults --------------------------------------------------------------------------------

    async def wait_until(self, check: Any, limit: float = 120) -> float:
        started = time.monotonic()
        while time.monotonic() - started < limit:
            try:
                if await check():
                    return time.monotonic() - started
            except Exception:  # noqa: BLE001, S110 - not yet
                pass
            await asyncio.sleep(0.25)
        return float("inf")

    async def ok_after(self, kind: str, since: float, limit: float = 120) -> float:
        """Seconds from ``since`` to the first success of ``kind`` after it."""
        def first() -> float | None:
            return next((t for t in self.oks[kind] if t > since), None)

        async def seen() -> bool:
            return first() is not None

        await self.wait_until(seen, limit)
        found = first()
        return float("inf") if found is None else found - since

    async def ready(self, port: int) -> bool:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port}/readyz", timeout=2)).status_code == 200

    async def run_fault(self, name: str, fn: Any) -> None:
        self.fault = name
        say(f"fault: {name}")
        started = time.monotonic()
        await fn()
        say(f"fault: {name}: healthy again {self.recovery.get(name, float('nan')):.1f}s after the part came back "
            f"(whole window {time.monotonic() - started:.0f}s)")
        self.fault = f"after {name}"
        await asyncio.sleep(5)

    async def kill_portal(self) -> None:
        c = self.cluster
        c.kill("portal1")
        await asyncio.sleep(5)
        c.processes["portal1"] = c.make("portal1").start()
        self.recovery["portal SIGKILL"] = await self.wait_until(lambda: self.ready(c.ports.portal(1)))

    async def kill_rasa(self) -> None:
        c = self.cluster
        c.kill("rasa1")
        since = time.monotonic()
        # The other replica carries the conversations: healthy again = a chat answered after the kill.
        self.recovery["Rasa replica SIGKILL"] = await self.ok_after("chat", since)
        await asyncio.sleep(10)
        c.processes["rasa1"] = c.make("rasa1").start()  # loads in the background (a minute or more)

    async def freeze_s3(self) -> None:
        c = self.cluster
        c.kill("s3", signal.SIGSTOP)
        await asyncio.sleep(20)
        back = time.monotonic()
        c.kill("s3", signal.SIGCONT)
        self.recovery["S3 stopped 20 s"] = await self.ok_after("upload", back)

    async def kill_sender(self) -> None:
        c = self.cluster
        # Mid-batch: while it holds claimed rows (the fake relay pauses per message; leases are 20 s).
        self.killed_mid_batch = await self.wait_until(self.outbox_sending, 30) < 30
        c.kill("sender")
        held = [r[0] for r in await self.db("SELECT id FROM notification_outbox WHERE state = 'sending'")]
        self.held_at_kill = len(held)
        await asyncio.sleep(3)
        back = time.monotonic()
        c.processes["sender"] = c.make("sender").start()

        async def delivered() -> bool:
            rows = await self.db("SELECT count(*) FROM notification_outbox WHERE id = ANY($1::bigint[]) "
                                 "AND state <> 'sent'", held)
            return rows[0][0] == 0 and c.mailbox.stat().st_mtime > time.time() - 2

        # Healthy again: the rows the killed sender held are sent (after their lease) and mail flows.
        await self.wait_until(delivered, 120)
        self.recovery["outbox sender SIGKILL"] = time.monotonic() - back

    async def restart_postgres(self) -> None:
        c = self.cluster
        # What `pg_ctl restart -m fast` does: a fast shutdown (open transactions rolled back, every
        # connection closed), then the same data directory started again.
        await asyncio.to_thread(c.stop, "postgres")
        try:
            await asyncio.sleep(1)
        finally:
            await asyncio.to_thread(c.start, "postgres")
        back = time.monotonic()
        self.recovery["PostgreSQL restart"] = await self.ok_after("submission", back)

    async def freeze_redis(self) -> None:
        c = self.cluster
        c.kill("redis", signal.SIGSTOP)
        try:
            await asyncio.sleep(20)
        finally:
            back = time.monotonic()
            c.kill("redis", signal.SIGCONT)
        self.recovery["Redis stopped 20 s"] = await self.ok_after("submission", back)

    # --- the database's view ------------------------------------------------------------------

    async def db(self, sql: str, *args: Any, database: str | None = None) -> list[Any]:
        import asyncpg

        conn = await asyncpg.connect(user=PG_USER, host=PG_HOST, port=self.cluster.ports.postgres,
                                     database=database or self.cluster.portal_db, timeout=5)
        try:
            return list(await conn.fetch(sql, *args))
        finally:
            await conn.close()

    async def outbox_has_pending(self) -> bool:
        return bool((await self.db("SELECT count(*) FROM notification_outbox WHERE state <> 'sent'"))[0][0])

    async def outbox_sending(self) -> bool:
        return bool((await self.db("SELECT count(*) FROM notification_outbox WHERE state = 'sending'"))[0][0])

    async def outbox_empty(self) -> bool:
        return not await self.outbox_has_pending()


async def run(args: argparse.Namespace) -> int:
    from scripts.cluster import MODEL, RASA, ROOT

    cluster = Cluster(Ports(args.base_port), bot=not args.no_bot and RASA.exists() and MODEL.exists(),
                      var=ROOT / "var" / "drill", portal_db="drill_portal", tracker_db="drill_rasa_tracker", fresh=True,
                      smtp_delay=0.03, notify_lease=20)
    drill_started = dt.datetime.now(dt.UTC)
    try:
        await asyncio.to_thread(cluster.prepare)
        if cluster.mailbox.exists():
            cluster.mailbox.unlink()
        await asyncio.to_thread(cluster.start_all)
        return await drive(cluster, args, drill_started)
    finally:
        await asyncio.to_thread(cluster.stop_all)


async def drive(cluster: Cluster, args: argparse.Namespace, drill_started: dt.datetime) -> int:
    drill = Drill(cluster)
    creditor = (await drill.db("SELECT id FROM user_account WHERE email = 'creditor@demo.local'"))[0][0]
    transfer = (await drill.db("SELECT id FROM transfer WHERE tracking_no = $1", TRACKING[0]))[0][0]
    from accounts.identity import make_citizen_token
    from portal.demo import DEMO_PASSWORD

    token = make_citizen_token(cluster.secret, creditor)
    load = [asyncio.create_task(drill.submitter(token)) for _ in range(3)]
    load += [asyncio.create_task(drill.uploader("buyer@demo.local", DEMO_PASSWORD, transfer))]
    load += [asyncio.create_task(drill.tracker()) for _ in range(2)]
    if cluster.bot:
        load += [asyncio.create_task(drill.chatter(i)) for i in range(2)]
    say(f"load running against {cluster.url}: 3 submitters, 1 uploader, 2 tracking readers"
        + (", 2 chat conversations at a time" if cluster.bot else ""))
    await asyncio.sleep(args.baseline)
    faults: list[tuple[str, Any]] = [("portal SIGKILL", drill.kill_portal)]
    if cluster.bot:
        faults.append(("Rasa replica SIGKILL", drill.kill_rasa))
    faults += [("S3 stopped 20 s", drill.freeze_s3), ("outbox sender SIGKILL", drill.kill_sender)]
    faults += [("PostgreSQL restart", drill.restart_postgres), ("Redis stopped 20 s", drill.freeze_redis)]
    try:
        for name, fn in faults:
            await asyncio.wait_for(drill.run_fault(name, fn), 240)
        drill.fault = "settling"
        await asyncio.sleep(5)
    finally:
        drill.stop.set()
        await asyncio.wait_for(asyncio.gather(*load, return_exceptions=True), 60)
    say("load stopped; waiting for the outbox to drain …")
    drained = await drill.wait_until(drill.outbox_empty, 120)
    ok = await report(drill, drill_started, drained)
    return 0 if ok else 1


async def report(drill: Drill, since: dt.datetime, drained: float) -> bool:
    failures: list[str] = []
    out = drill.outcomes
    # Submissions: each accepted key once, as one item, with its audit entry.
    rows = await drill.db("SELECT k.key, k.item_id, (SELECT count(*) FROM audit_log a WHERE a.subject_type = "
                          "'work_item' AND a.subject_id = k.item_id) FROM submission_key k WHERE k.key LIKE 'drill-%'")
    by_key = Counter(r[0] for r in rows)
    lost = [k for k in drill.accepted if k not in by_key]
    doubled = [k for k, n in by_key.items() if n > 1]
    items = await drill.db("SELECT count(*) FROM work_item WHERE created_at >= $1 AND kind = 'asset_clue'", since)
    no_audit = [r[0] for r in rows if r[2] == 0]
    say(f"submissions: {len(drill.accepted)} accepted by the client, {len(by_key)} keys in the database, "
        f"{items[0][0]} items created; lost {len(lost)}, doubled {len(doubled)}, without an audit entry {len(no_audit)}")
    if lost or doubled or no_audit or items[0][0] != len(by_key):
        failures.append("submissions")
    # Uploads: the sweeper's view with no grace period.
    from sqlalchemy.ext.asyncio import create_async_engine

    from documents.sweeper import sweep
    from portal.settings import Settings
    from storage.objects.store import build_document_store_from_settings

    settings = Settings.from_env({**os.environ, **drill.cluster.portal_env()})
    store = build_document_store_from_settings(settings.documents)
    engine = create_async_engine(settings.database.url)
    try:
        swept = await sweep(engine, store, grace=dt.timedelta(0), dry_run=True)  # type: ignore[arg-type]
        doc_rows = {r[0] for r in await drill.db("SELECT id FROM document")}
    finally:
        await engine.dispose()
    missing_rows = [d for d in drill.uploads if d not in doc_rows]
    say(f"uploads: {len(drill.uploads)} accepted; {len(missing_rows)} without a row, {len(swept.missing)} rows "
        f"without an object, {len(swept.removed)} objects without a row")
    if missing_rows or swept.missing or swept.removed:
        failures.append("uploads")
    # Notifications: all sent; each delivered (after de-duplication by Message-ID) exactly once.
    states = dict((r[0], r[1]) for r in await drill.db(
        "SELECT state, count(*) FROM notification_outbox WHERE created_at >= $1 GROUP BY 1", since))
    sent_ids = {r[0] for r in await drill.db("SELECT id FROM notification_outbox WHERE state = 'sent' "
                                             "AND created_at >= $1", since)}
    mail = [json.loads(line) for line in drill.cluster.mailbox.read_text().splitlines()] \
        if drill.cluster.mailbox.exists() else []
    delivered = Counter(m["outbox_id"] for m in mail)
    emailed = {r[0] for r in await drill.db(
        "SELECT o.id FROM notification_outbox o JOIN user_account u ON u.id = o.recipient_id "
        "WHERE o.state = 'sent' AND u.email IS NOT NULL AND o.created_at >= $1", since)}
    never = sorted(i for i in emailed if str(i) not in delivered)
    extra = sorted(int(i) for i in delivered if int(i) not in sent_ids)
    resent = sum(n - 1 for n in delivered.values())
    say(f"notifications: outbox {dict(states)} (drained {drained:.0f}s after the load); {len(delivered)} distinct "
        f"e-mails at the fake recipients for {len(emailed)} sent rows with an address; never delivered {len(never)}, "
        f"delivered but not sent {len(extra)}; {resent} repeated deliveries, de-duplicated by Message-ID")
    say("  (the sender was killed " + (f"holding {drill.held_at_kill} claimed rows, sent again after their lease)"
                                        if drill.held_at_kill else "between batches)"))
    if set(states) - {"sent"} or never or extra:
        failures.append("notifications")
    # Conversations: their history in the tracker store.
    if drill.chats:
        answered = sum(drill.chats.values())
        tracked = (await drill.db("SELECT count(*) FROM events WHERE type_name = 'user' AND timestamp >= $1",
                                  since.timestamp(), database=drill.cluster.tracker_db))[0][0]
        say(f"chat: {len(drill.chats)} conversations, {answered} answered turns; {tracked} user turns in the "
            f"tracker store")
        if tracked < answered:
            failures.append("chat history")
    # Failures per fault.
    say("requests per fault window (ok / clear 503 or 429 with Retry-After / other failures):")
    windows: dict[str, list[Outcome]] = defaultdict(list)
    for o in out:
        windows[o.fault].append(o)
    for fault, outcomes in windows.items():
        bad = [o for o in outcomes if not o.ok and not o.clear and o.status not in (401, 403, 409, 422)]
        clear = [o for o in outcomes if o.clear]
        slowest = max((o.seconds for o in outcomes), default=0)
        kinds = Counter(f"{o.kind}:{o.status or o.error}" for o in bad)
        say(f"  {fault:<24} {sum(o.ok for o in outcomes):>5} ok  {len(clear):>4} clear  {len(bad):>4} other"
            f"  slowest {slowest:.1f}s  " + (", ".join(f"{k}×{n}" for k, n in kinds.most_common(6)) or ""))
    hangs = [o for o in out if o.error == "ReadTimeout" or o.seconds >= TIMEOUT]
    five_hundreds = [o for o in out if o.status is not None and o.status >= 500 and o.status != 503]
    say(f"500s: {len(five_hundreds)}; answers that took the whole {TIMEOUT:.0f}s limit: {len(hangs)}")
    if five_hundreds:
        failures.append("500 answers")
    for fault, seconds in drill.recovery.items():
        say(f"recovery: {fault}: {seconds:.1f}s")
    say("RESULT: " + ("passed" if not failures else "FAILED: " + ", ".join(failures)))
    return not failures


def main() -> int:
    parser = argparse.ArgumentParser(prog="make drill")
    parser.add_argument("--no-bot", action="store_true")
    parser.add_argument("--base-port", type=int, default=int(os.environ.get("CLUSTER_BASE_PORT", "18100")))
    parser.add_argument("--baseline", type=float, default=10.0, help="seconds of load before the first fault")
    args = parser.parse_args()
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
