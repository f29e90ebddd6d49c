"""The production shape (compose.yaml) as local processes on 127.0.0.1: `make cluster`.

    .venv/bin/python -m scripts.cluster [--no-bot] [--base-port 18000]

| part | here | port (base 18000) |
|---|---|---|
| load balancer | HAProxy (Debian's package), health check GET /readyz every second; no portal ready: a live one (GET /livez) | 18080 |
| portal ×2 | `python -m portal serve`, stateless, NOTIFY/DIGEST off | 18001, 18002 |
| PostgreSQL | the cluster's own server (Debian's binaries, `initdb` in a fresh directory): databases `cluster_portal`, `cluster_rasa_tracker` | 18032 |
| Redis | the cluster's own `redis-server`: portal database 2, Rasa's locks database 1 | 18079 |
| S3 | moto's server (`python -m moto.server`), bucket `portal-documents` | 18010 |
| outbox sender | `python -m portal send` (NOTIFY_SENDER=email) | – |
| fake recipients | an SMTP server (tests/support/smtp_server.py) writing var/cluster/mailbox.jsonl | 18025 |
| Rasa ×2 | `rasa run --endpoints endpoints.production.yml` (unchanged: SQL tracker store, Redis lock store) | 18005, 18006 |
| action server ×2 | `rasa run actions`, one per Rasa, calling the portal through the balancer | 18055, 18056 |

Logs in var/cluster/logs/. Ctrl-C stops everything (each part is a process group of its own).
The drill (scripts/drill.py) starts the same cluster through :class:`Cluster` and breaks it.

PostgreSQL and Redis are the cluster's own processes, as in compose.yaml, not the servers the
machine already runs: the drill restarts and freezes them without touching anything else, and
every start begins with empty databases (like moto's S3, whose objects do not survive either).
PostgreSQL's data directory is made with ``initdb`` in a new temporary directory (as the
``postgres`` user when run as root: PostgreSQL refuses to run as root) and removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import Process

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "cluster"
PY = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable
BOT = ROOT / "bot"
RASA = BOT / ".venv" / "bin" / "rasa"
MODEL = BOT / "models" / "bot.tar.gz"
PG_HOST, PG_USER = "127.0.0.1", "postgres"
PORTAL_DB, TRACKER_DB = "cluster_portal", "cluster_rasa_tracker"
# bot/endpoints.production.yml connects to this database first (login_db), unchanged: it must exist.
LOGIN_DB = "portal"
SMTP_FROM = "portal@cluster.local"


def listening(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Ports:
    base: int = 18000

    @property
    def lb(self) -> int:
        return self.base + 80

    def portal(self, i: int) -> int:
        return self.base + i

    @property
    def s3(self) -> int:
        return self.base + 10

    @property
    def smtp(self) -> int:
        return self.base + 25

    def rasa(self, i: int) -> int:
        return self.base + 4 + i

    def actions(self, i: int) -> int:
        return self.base + 54 + i

    @property
    def postgres(self) -> int:
        return self.base + 32

    @property
    def redis(self) -> int:
        return self.base + 79


def postgres_bin() -> Path:
    """Debian's PostgreSQL binaries (the newest installed major version)."""
    root = Path("/usr/lib/postgresql")
    versions = sorted((d for d in root.iterdir() if (d / "bin" / "initdb").exists()),
                      key=lambda d: int(d.name) if d.name.isdigit() else 0) if root.is_dir() else []
    if not versions:
        raise SystemExit("PostgreSQL's server binaries are not installed: run `make cluster-deps`")
    return versions[-1] / "bin"


def as_postgres_user(cmd: list[str]) -> list[str]:
    """``cmd`` as the ``postgres`` user when this runs as root (initdb and postgres refuse root)."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--", *cmd]


@dataclass
class Cluster:
    ports: Ports = field(default_factory=Ports)
    bot: bool = True
    var: Path = VAR
    processes: dict[str, Process] = field(default_factory=dict)
    secret: str = ""
    token: str = ""
    portal_db: str = PORTAL_DB
    tracker_db: str = TRACKER_DB
    fresh: bool = False  # drop and create the databases first (the drill: moto's objects do not survive either)
    smtp_delay: float = 0.0  # the fake relay's pause per message (the drill: to kill the sender mid-batch)
    notify_lease: int = 120
    pgdata: Path | None = None  # the cluster's PostgreSQL data directory (made at the first start)

    # --- set-up ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.ports.lb}"

    @property
    def database_url(self) -> str:
        return f"postgresql://{PG_USER}@{PG_HOST}:{self.ports.postgres}/{self.portal_db}"

    @property
    def mailbox(self) -> Path:
        return self.var / "mailbox.jsonl"

    def log(self, name: str) -> Path:
        return self.var / "logs" / f"{name}.log"

    def portal_env(self, **extra: str) -> dict[str, str]:
        env = {
            "PORTAL_ENV": "development", "DATABASE_URL": self.database_url, "DATABASE_POOL_SIZE": "10",
            "PORTAL_SECRET": self.secret, "PORTAL_SERVICE_TOKEN": self.token,
            "DOCUMENT_BACKEND": "s3", "S3_ENDPOINT": f"127.0.0.1:{self.ports.s3}", "S3_ACCESS_KEY": "cluster",
            "S3_SECRET_KEY": "cluster-secret", "S3_BUCKET": "portal-documents", "S3_SECURE": "false",
            "REDIS_URL": f"redis://127.0.0.1:{self.ports.redis}/2",
            "RASA_URLS": ",".join(f"http://127.0.0.1:{self.ports.rasa(i)}" for i in (1, 2)),
            "NOTIFY_INTERVAL_SECONDS": "0", "DIGEST_INTERVAL_SECONDS": "0",
            "FORWARDED_ALLOW_IPS": "127.0.0.1", "HOST": "127.0.0.1",
        }
        env.update(extra)
        return env

    def prepare(self) -> None:
        (self.var / "logs").mkdir(parents=True, exist_ok=True)
        secret_file = self.var / "secrets"
        if not secret_file.exists():
            secret_file.write_text(f"{secrets.token_urlsafe(48)}\n{secrets.token_urlsafe(32)}\n")
            secret_file.chmod(0o600)
        self.secret, self.token = secret_file.read_text().split()
        for name in ("postgres", "redis"):
            if name not in self.processes:
                self.start(name)
        self._databases()
        say(f"PostgreSQL: {self.database_url} (and {self.tracker_db} for Rasa); Redis: 127.0.0.1:{self.ports.redis}")
        # The demo data includes documents: the S3 server is up before the seed writes them.
        if "s3" not in self.processes:
            self.start("s3")
        env = {**os.environ, **self.portal_env()}
        for command in (["migrate"], ["seed"]):
            subprocess.run([PY, "-m", "portal", *command], env=env, cwd=ROOT, check=True,  # noqa: S603
                           stdout=subprocess.DEVNULL)
        self.write_haproxy_config()

    def _initdb(self) -> Path:
        """A new, empty data directory for the cluster's PostgreSQL (trust on 127.0.0.1 only)."""
        import tempfile

        pgdata = Path(tempfile.mkdtemp(prefix=f"cluster-postgres-{self.ports.postgres}-"))
        if os.geteuid() == 0:
            shutil.chown(pgdata, "postgres", "postgres")
        subprocess.run(as_postgres_user([str(postgres_bin() / "initdb"), "-D", str(pgdata), "-U", PG_USER,  # noqa: S603
                                         "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return pgdata

    def _accepting(self, timeout: float) -> None:
        async def ask() -> None:
            import asyncpg

            deadline = time.monotonic() + timeout
            while True:
                try:
                    conn = await asyncpg.connect(user=PG_USER, host=PG_HOST, port=self.ports.postgres,
                                                 database="postgres", timeout=2)
                    await conn.close()
                    return
                except (OSError, asyncpg.PostgresError):  # TimeoutError is an OSError
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)

        asyncio.run(ask())

    def _databases(self) -> None:
        async def create() -> None:
            import asyncpg

            conn = await asyncpg.connect(user=PG_USER, host=PG_HOST, port=self.ports.postgres, database="postgres")
            try:
                if self.fresh:
                    for name in (self.portal_db, self.tracker_db):
                        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                have = {r[0] for r in await conn.fetch("SELECT datname FROM pg_database")}
                for name in (self.portal_db, self.tracker_db, LOGIN_DB):
                    if name not in have:
                        await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        asyncio.run(create())

    def write_haproxy_config(self) -> Path:
        servers = "\n".join(f"    server portal{i} 127.0.0.1:{self.ports.portal(i)} check" for i in (1, 2))
        cfg = f"""# written by scripts/cluster.py
global
    maxconn 4096
    # Every request with its timings and termination state (logs/lb.log): what a drill failure was.
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    # A connection that never reached a portal is safe to try on the other one; a request a
    # portal may have started is never repeated by the balancer.
    retries 2
    option redispatch
    retry-on conn-failure
    # The whole request (up to a buffer, 16 kB) is read before a portal is chosen: when none is
    # ready, the 503 below goes to a client that has finished sending, instead of a reset
    # connection that loses the answer (an upload's body still on its way when HAProxy closed).
    option http-buffer-request

frontend web
    bind 127.0.0.1:{self.ports.lb}
    # No portal ready (all failing /readyz: a database restart, say) but some alive (/livez): the
    # request goes to one of those, which reads it whole (an upload larger than this buffer too)
    # and answers its own 503 with Retry-After, as a page in the visitor's language or as JSON.
    use_backend portals_alive if {{ nbsrv(portals) lt 1 }} {{ nbsrv(portals_alive) ge 1 }}
    # None alive either: answered here, after the request has been read (up to the buffer), so
    # that the client gets the 503 even while still sending a body.
    http-request return status 503 content-type application/json file {self.var / "503.json"} hdr Retry-After 5 hdr Cache-Control no-store if {{ nbsrv(portals) lt 1 }} {{ nbsrv(portals_alive) lt 1 }}
    default_backend portals

backend portals
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
    # No portal ready: a clear 503 that says when to try again (not a hang, not a 500).
    errorfile 503 {self.var / "503.http"}
{servers}

backend portals_alive
    # The last resort above: the same portals, checked only for answering at all.
    balance roundrobin
    option httpchk GET /livez
    http-check expect status 200
    default-server inter 1s fall 2 rise 1
    errorfile 503 {self.var / "503.http"}
{servers}
"""
        body = (b'{"status_code": 503, "code": "service_unavailable", "detail": "no portal can serve right now; '
                b'try again in a few seconds"}\n')
        (self.var / "503.json").write_bytes(body)
        (self.var / "503.http").write_bytes(
            b"HTTP/1.0 503 Service Unavailable\r\nCache-Control: no-store\r\nRetry-After: 5\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n\r\n" + body)
        path = self.var / "haproxy.cfg"
        path.write_text(cfg)
        return path

    # --- processes ------------------------------------------------------------------------------

    def _start(self, proc: Process, *, port: int | None = None, url: str | None = None,
               timeout: float = 60) -> Process:
        self.processes[proc.name] = proc
        proc.start()
        if url is not None:
            proc.wait_http(url, timeout=timeout)
        elif port is not None:
            proc.wait_port(port, timeout=timeout)
        return proc

    def make(self, name: str) -> Process:
        """The process called ``name`` (not started)."""
        p = self.ports
        if name == "postgres":
            if self.pgdata is None:
                self.pgdata = self._initdb()
            # SIGINT: PostgreSQL's fast shutdown (what `pg_ctl restart -m fast` does).
            return Process(name, as_postgres_user([
                str(postgres_bin() / "postgres"), "-D", str(self.pgdata), "-p", str(p.postgres), "-h", PG_HOST,
                "-k", str(self.pgdata), "-c", "max_connections=200", "-c", "shared_buffers=128MB"]),
                log_path=self.log(name), new_session=True, stop_signal=signal.SIGINT)
        if name == "redis":
            return Process(name, ["redis-server", "--port", str(p.redis), "--bind", "127.0.0.1", "--save", "",
                                  "--appendonly", "no"], log_path=self.log(name), new_session=True,
                           stop_signal=signal.SIGTERM)
        if name.startswith("portal"):
            i = int(name[-1])
            return Process(name, [PY, "-m", "portal", "serve"], env=self.portal_env(PORT=str(p.portal(i))),
                           log_path=self.log(name), new_session=True)
        if name == "s3":
            return Process(name, [PY, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(p.s3)],
                           log_path=self.log(name), new_session=True, stop_signal=signal.SIGTERM)
        if name == "smtp":
            return Process(name, [PY, "-m", "tests.support.smtp_server", "--port", str(p.smtp), "--mailbox",
                                  str(self.mailbox), "--delay", str(self.smtp_delay)],
                           log_path=self.log(name), new_session=True)
        if name == "sender":
            return Process(name, [PY, "-m", "portal", "send"], env=self.portal_env(
                NOTIFY_SENDER="email", SMTP_HOST="127.0.0.1", SMTP_PORT=str(p.smtp), SMTP_FROM=SMTP_FROM,
                SMTP_TIMEOUT_SECONDS="5", NOTIFY_INTERVAL_SECONDS="2", DIGEST_INTERVAL_SECONDS="600",
                NOTIFY_BATCH="20", NOTIFY_LEASE_SECONDS=str(self.notify_lease)),
                log_path=self.log(name), new_session=True)
        if name == "lb":
            return Process(name, ["haproxy", "-db", "-f", str(self.var / "haproxy.cfg")], log_path=self.log(name),
                           new_session=True, stop_signal=signal.SIGUSR1)
        if name.startswith("rasa"):
            i = int(name[-1])
            # Rasa's SQL tracker store takes a port written into the host (host:port).
            env = {"DB_HOST": f"{PG_HOST}:{p.postgres}", "DB_USER": PG_USER, "DB_PASSWORD": "",
                   "DB_NAME": self.tracker_db, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(p.redis),
                   "ACTION_ENDPOINT": f"http://127.0.0.1:{p.actions(i)}/webhook",
                   "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
                   "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "PYTHONWARNINGS": "ignore"}
            return Process(name, [str(RASA), "run", "--model", str(MODEL), "--interface", "127.0.0.1",
                                  "--port", str(p.rasa(i)), "--credentials", "credentials.yml",
                                  "--endpoints", "endpoints.production.yml"],
                           env=env, cwd=BOT, log_path=self.log(name), new_session=True)
        if name.startswith("actions"):
            i = int(name[-1])
            env = {"SANIC_HOST": "127.0.0.1", "PORTAL_URL": self.url, "PORTAL_SERVICE_TOKEN": self.token,
                   "RASA_TELEMETRY_ENABLED": "false", "PYTHONWARNINGS": "ignore"}
            return Process(name, [str(RASA), "run", "actions", "--actions", "actions", "--port", str(p.actions(i))],
                           env=env, cwd=BOT, log_path=self.log(name), new_session=True)
        raise KeyError(name)

    def start(self, name: str, timeout: float = 90) -> Process:
        p = self.ports
        proc = self.make(name)
        if name.startswith("portal"):
            return self._start(proc, url=f"http://127.0.0.1:{p.portal(int(name[-1]))}/readyz", timeout=timeout)
        if name.startswith("rasa"):
            return self._start(proc, url=f"http://127.0.0.1:{p.rasa(int(name[-1]))}/", timeout=max(timeout, 300))
        ports = {"s3": p.s3, "smtp": p.smtp, "lb": p.lb, "postgres": p.postgres, "redis": p.redis}
        if name.startswith("actions"):
            ports[name] = p.actions(int(name[-1]))
        if name == "sender":
            return self._start(proc)
        if name == "postgres":
            self._start(proc, port=p.postgres, timeout=timeout)
            self._accepting(timeout)  # listening is not yet accepting ("the database system is starting up")
            return proc
        return self._start(proc, port=ports[name], timeout=timeout)

    @property
    def names(self) -> list[str]:
        bot = ["actions1", "actions2", "rasa1", "rasa2"] if self.bot else []
        return ["postgres", "redis", "s3", "smtp", "portal1", "portal2", "lb", "sender", *bot]

    def start_all(self) -> None:
        rasa = [n for n in self.names if n.startswith("rasa")]
        for name in self.names:
            if name in rasa or (name in self.processes and self.processes[name].running):
                continue
            started = time.monotonic()
            self.start(name)
            say(f"{name}: up in {time.monotonic() - started:.1f}s (log {self.log(name).relative_to(ROOT)})")
        # The Rasa replicas load their model at the same time (about a minute each on a busy machine).
        started = time.monotonic()
        for name in rasa:
            self.processes[name] = self.make(name).start()
        for name in rasa:
            self.processes[name].wait_http(f"http://127.0.0.1:{self.ports.rasa(int(name[-1]))}/", timeout=600)
            say(f"{name}: up in {time.monotonic() - started:.1f}s (log {self.log(name).relative_to(ROOT)})")

    def stop(self, name: str) -> None:
        proc = self.processes.get(name)
        if proc is not None:
            proc.stop(timeout=10)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.processes[name]
        if proc.running:
            os.killpg(proc.pid, sig)
            if sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
                assert proc.proc is not None
                proc.proc.wait(timeout=15)

    def stop_all(self) -> None:
        # Every part is told at once (a Rasa still loading its model may ignore it for its whole
        # 10 s limit: the others do not wait behind it), then each is waited for, and killed.
        for name in reversed(list(self.processes)):
            proc = self.processes[name]
            if proc.running:
                try:
                    os.killpg(proc.pid, signal.SIGCONT)  # a part the drill froze
                    os.killpg(proc.pid, proc.stop_signal)  # the whole group: moto's server runs in a child
                except ProcessLookupError:
                    pass
        for name in reversed(list(self.processes)):
            proc = self.processes[name]
            proc.stop(timeout=10)
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # anything of the group still there
            except (ProcessLookupError, AssertionError):
                pass
        if self.pgdata is not None and not (self.processes.get("postgres") and self.processes["postgres"].running):
            shutil.rmtree(self.pgdata, ignore_errors=True)
            self.pgdata = None


def say(text: str) -> None:
    print(f"· {text}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="make cluster")
    parser.add_argument("--no-bot", action="store_true", help="without Rasa and the action servers")
    parser.add_argument("--base-port", type=int, default=int(os.environ.get("CLUSTER_BASE_PORT", "18000")))
    args = parser.parse_args()
    if shutil.which("haproxy") is None:
        print("haproxy is not installed: run `make cluster-deps`", file=sys.stderr)
        return 2
    bot = not args.no_bot and RASA.exists() and MODEL.exists()
    if not args.no_bot and not bot:
        say("the assistant is not prepared (bot/.venv, bot/models/bot.tar.gz: `make train`): running without it")
    cluster = Cluster(Ports(args.base_port), bot=bot)
    stop = started = False

    def interrupt(_sig: int, _frame: object) -> None:
        nonlocal stop
        if not stop and not started:  # Ctrl-C while starting: stop starting (Rasa may take minutes)
            stop = True
            raise KeyboardInterrupt
        stop = True

    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        if stop:
            return 130
        cluster.prepare()
        cluster.start_all()
        started = True
        say(f"the portal: {cluster.url}  (HAProxy over portal1 :{cluster.ports.portal(1)} and portal2 "
            f":{cluster.ports.portal(2)}); e-mails land in {cluster.mailbox.relative_to(ROOT)}; Ctrl-C stops all")
        reported: set[str] = set()
        while not stop:
            # A part that exits is reported, and the rest carries on (that is the point of the shape).
            for name, proc in cluster.processes.items():
                if not proc.running and name not in reported:
                    reported.add(name)
                    say(f"{name} exited ({proc.proc.returncode if proc.proc else '?'}); see {proc.log_path}")
            time.sleep(0.5)
    except KeyboardInterrupt:
        say("interrupted while starting")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C does not cut the clean-up short
        say("stopping …")
        cluster.stop_all()
        say("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
