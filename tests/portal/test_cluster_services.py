"""`make cluster` runs its own PostgreSQL and Redis (scripts/cluster.py), so that `make drill`
can restart and freeze them without touching the machine's servers: each starts on the
cluster's ports, a restart keeps the data, and stopping the cluster removes PostgreSQL's
data directory."""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import socket

import pytest

from scripts.cluster import PG_HOST, PG_USER, Cluster, Ports, listening, postgres_bin

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


def _free_base() -> int:
    for _ in range(50):
        base = random.randrange(20000, 29000, 100)
        if not any(listening(base + n) for n in (32, 79)):
            return base
    raise RuntimeError("no free ports")


async def _query(port: int, sql: str, database: str = "postgres") -> list[tuple[object, ...]]:
    import asyncpg

    conn = await asyncpg.connect(user=PG_USER, host=PG_HOST, port=port, database=database, timeout=5)
    try:
        return [tuple(r) for r in await conn.fetch(sql)]
    finally:
        await conn.close()


def _redis(port: int, *command: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(("".join(f"*{len(command)}\r\n" + "".join(f"${len(c)}\r\n{c}\r\n" for c in command)))
                  .encode())
        return s.recv(1024)


def test_the_cluster_runs_and_restarts_its_own_postgres_and_redis(tmp_path):
    postgres_bin()  # Debian's server binaries are there (CI's machine has them)
    cluster = Cluster(ports=Ports(_free_base()), bot=False, var=tmp_path)
    p = cluster.ports
    try:
        cluster.start("postgres")
        cluster.start("redis")
        cluster._databases()
        assert p.postgres != 5432 and p.redis != 6379
        names = {r[0] for r in asyncio.run(_query(p.postgres, "SELECT datname FROM pg_database"))}
        assert {"cluster_portal", "cluster_rasa_tracker", "portal"} <= names
        assert asyncio.run(_query(p.postgres, "SHOW port"))[0][0] == str(p.postgres)
        assert _redis(p.redis, "PING") == b"+PONG\r\n"
        pgdata = cluster.pgdata
        assert pgdata is not None and (pgdata / "PG_VERSION").exists()

        # The drill's restart: a fast shutdown, then the same data directory again.
        asyncio.run(_query(p.postgres, "CREATE TABLE kept AS SELECT 7 AS x", "cluster_portal"))
        cluster.stop("postgres")
        assert not listening(p.postgres)
        cluster.start("postgres")
        assert cluster.pgdata == pgdata
        assert asyncio.run(_query(p.postgres, "SELECT x FROM kept", "cluster_portal")) == [(7,)]

        # The drill's freeze: a stopped Redis does not answer; it answers again after SIGCONT.
        cluster.kill("redis", signal.SIGSTOP)
        with pytest.raises(TimeoutError):
            _redis(p.redis, "PING")
        cluster.kill("redis", signal.SIGCONT)
        assert _redis(p.redis, "PING") == b"+PONG\r\n"
    finally:
        cluster.stop_all()
    assert not listening(p.postgres) and not listening(p.redis)
    assert not pgdata.exists(), "the cluster's data directory outlived the cluster"
