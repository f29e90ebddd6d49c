"""Tables behind the key/value stores (server-side sessions, throttle counters), and the store itself."""

from __future__ import annotations

import datetime
from typing import Any

from advanced_alchemy.extensions.litestar.plugins.init.config import SQLAlchemyAsyncConfig
from advanced_alchemy.extensions.litestar.store import SQLAlchemyStore, StoreModelMixin
from litestar.types import Empty, EmptyType
from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable


class KeyValueItem(StoreModelMixin):
    __tablename__ = "kv_store"


class KVStore(SQLAlchemyStore[SQLAlchemyAsyncConfig]):
    """advanced-alchemy's store, with get, set and delete as one Core statement each on a pooled connection.

    The stock store opens an ORM session, builds its upsert anew (new column proxies, a new
    cache key) and commits, for every read and write: each page view with a session cookie
    reads the session and each chat message writes it, so that was most of the portal's
    database work per chat turn. Here the statements are built once per table and dialect and
    run with bound values; what is stored and read (key, namespace, value, expiry, the
    expired-is-absent rule) is the stock store's. Other dialects, and the rarely used
    operations, stay the stock store's.

    ``single``: an engine in autocommit on the same database (portal.app.single_statement_engine),
    for the single statements: a session read was BEGIN, SELECT, ROLLBACK (three round trips, on
    every request with a session cookie, every chat message among them), and a write BEGIN,
    upsert, COMMIT. One statement is atomic on its own; the read with a renewal (two
    statements) keeps its transaction on the config's engine.
    """

    def __init__(self, config: SQLAlchemyAsyncConfig, model: type[StoreModelMixin] = KeyValueItem,
                 namespace: str | None | EmptyType = Empty, single: AsyncEngine | None = None) -> None:
        super().__init__(config, model, namespace)
        self._engine = config.get_engine()
        self._single = single or self._engine
        self._statements: dict[str, Executable] | None = None

    def with_namespace(self, namespace: str) -> KVStore:
        """The stock store's, carrying ``single`` along."""
        return KVStore(self._config, self._model, f"{self.namespace}_{namespace}" if self.namespace else namespace,
                       single=self._single)

    def _prepared(self) -> dict[str, Executable] | None:
        if self._statements is None:
            dialect = self._engine.dialect.name
            t: Table = self._model.__table__  # type: ignore[assignment]
            ins: sqlite.Insert | postgresql.Insert
            if dialect == "sqlite":
                ins = sqlite.insert(t)
            elif dialect == "postgresql":
                ins = postgresql.insert(t)
            else:
                return None
            this = (t.c.key == bindparam("k")) & (t.c.namespace == bindparam("ns"))
            self._statements = {
                "get": select(t.c.value).where(this, t.c.expires_at.is_(None) | (t.c.expires_at > bindparam("now"))),
                "renew": update(t).where(this).values(expires_at=bindparam("until")),
                "set": ins.on_conflict_do_update(index_elements=[t.c.key, t.c.namespace],
                                                 set_={"value": ins.excluded.value,
                                                       "expires_at": ins.excluded.expires_at}),
                "delete": delete(t).where(this),
            }
        return self._statements

    async def get(self, key: str, renew_for: int | datetime.timedelta | None = None) -> bytes | None:
        statements = self._prepared()
        if statements is None:
            return await super().get(key, renew_for)
        now = datetime.datetime.now(datetime.UTC)
        params: dict[str, Any] = {"k": key, "ns": self.namespace, "now": now}
        if not renew_for:
            async with self._single.connect() as conn:
                value = (await conn.execute(statements["get"], params)).scalar_one_or_none()
            return value or None
        async with self._engine.begin() as conn:
            value = (await conn.execute(statements["get"], params)).scalar_one_or_none()
            if value:
                delta = renew_for if isinstance(renew_for, datetime.timedelta) else datetime.timedelta(seconds=renew_for)
                await conn.execute(statements["renew"], {**params, "until": now + delta})
        return value or None

    async def set(self, key: str, value: bytes | str, expires_in: int | datetime.timedelta | None = None) -> None:
        statements = self._prepared()
        if statements is None:
            await super().set(key, value, expires_in)
            return
        expires_at = None
        if expires_in is not None:
            delta = expires_in if isinstance(expires_in, datetime.timedelta) else datetime.timedelta(seconds=expires_in)
            expires_at = datetime.datetime.now(datetime.UTC) + delta
        row = {"key": key, "namespace": self.namespace, "expires_at": expires_at,
               "value": value if isinstance(value, bytes) else value.encode("utf-8")}
        async with self._single.begin() as conn:
            await conn.execute(statements["set"], row)

    async def delete(self, key: str) -> None:
        statements = self._prepared()
        if statements is None:
            await super().delete(key)
            return
        async with self._single.begin() as conn:
            await conn.execute(statements["delete"], {"k": key, "ns": self.namespace})
