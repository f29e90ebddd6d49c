"""Database foundation shared by every domain package.

All models derive from :class:`Base` (advanced-alchemy's BigInt audit base, which
brings ``id``, ``created_at`` and ``updated_at``), so one metadata object holds the
whole schema and Alembic sees every table.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from advanced_alchemy.base import BigIntAuditBase, BigIntBase, orm_registry
from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import InterfaceError
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["Base", "PlainBase", "DriverStatement", "JSONType", "asyncpg_of", "driver_errors", "metadata", "normalise_database_url", "utcnow",
           "is_postgres"]

Base = BigIntAuditBase
PlainBase = BigIntBase
metadata = orm_registry.metadata

# JSONB on PostgreSQL (indexable, compact), JSON text elsewhere.
JSONType: Any = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DatabaseURLError(ValueError):
    pass


def normalise_database_url(url: str) -> str:
    """Map the URLs people write to the async drivers the portal uses.

    ``postgresql://``/``postgres://`` → asyncpg, ``sqlite:///`` → aiosqlite.
    """
    url = url.strip()
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("postgresql+asyncpg://"):
        return url
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    if url.startswith("sqlite+aiosqlite:///"):
        return url
    raise DatabaseURLError(
        f"DATABASE_URL must start with postgresql:// or sqlite:/// (got {url.split('://', 1)[0]!r}://…)"
    )


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


# --- the hottest reads on PostgreSQL: asyncpg's own connection, without SQLAlchemy's execution ----


# The connection is gone or unusable. A statement sent just after the server ended the connection
# can also meet asyncpg's protocol mid-way through that news: InternalClientError ("cannot
# switch to state …; another operation is in progress").
_LOST = (OSError, asyncpg.exceptions.InterfaceError, asyncpg.exceptions.PostgresConnectionError,
         asyncpg.exceptions.OperatorInterventionError, asyncpg.exceptions.InternalClientError)


@contextlib.asynccontextmanager
async def driver_errors(conn: AsyncConnection) -> AsyncIterator[None]:
    """Around a statement run on :func:`asyncpg_of`'s connection, what SQLAlchemy does around its
    own statements. A lost connection (closed, reset, the server shutting down) is invalidated,
    with every other connection the pool had opened by then (replaced at their next checkout),
    and raised as SQLAlchemy's InterfaceError with ``connection_invalidated``: the caller gets
    the 503 a lost database gives elsewhere (kernel.errors.unavailable). Any other failure, and
    a cancellation (the client went away mid-statement), also invalidates the connection, which
    may still be busy with the statement, and is re-raised as it is. Either way the pool never
    hands that connection out again."""
    try:
        yield
    except _LOST as exc:
        with contextlib.suppress(Exception):
            # As SQLAlchemy does on a disconnect it sees itself: every connection the pool opened
            # up to now is replaced at its next checkout (after a restart they are all as dead as
            # this one, and each would otherwise cost a request its 503), then this one goes.
            conn.sync_engine.pool._invalidate(conn.sync_connection.connection, exc, _checkin=False)  # type: ignore[union-attr]  # noqa: SLF001
        with contextlib.suppress(Exception):
            await conn.invalidate()
        raise InterfaceError("(asyncpg)", None, exc, connection_invalidated=True) from exc
    except BaseException:
        # Cancelled mid-statement (the client went away), or asyncpg's own state broken: the
        # connection may still be busy with the statement, so it must not go back to the pool.
        with contextlib.suppress(Exception):
            await asyncio.shield(conn.invalidate())
        raise


async def asyncpg_of(conn: Any) -> Any | None:
    """asyncpg's connection under ``conn`` when it is an AsyncConnection on PostgreSQL (None otherwise:
    an AsyncSession, SQLite). A statement run on it is prepared once per connection by asyncpg."""
    if isinstance(conn, AsyncConnection) and conn.dialect.driver == "asyncpg":
        return (await conn.get_raw_connection()).driver_connection
    return None


class DriverStatement:
    """A Core statement compiled once for asyncpg: its SQL text and, per position, the parameter's
    name and the constant it holds (the statement's literals), so it runs on :func:`asyncpg_of`'s
    connection with the same meaning as through SQLAlchemy."""

    def __init__(self, stmt: Any) -> None:
        compiled = stmt.compile(dialect=asyncpg_dialect())
        if compiled.literal_execute_params:
            # Literals rendered at execution (``literal(..., literal_execute=True)``, e.g. a fixed set
            # of statuses that lets the planner match a partial index): rendered into the text once,
            # here, as SQLAlchemy renders them per execution; the other parameters stay positional.
            literals = {b.key for b in compiled.literal_execute_params}
            state = compiled.construct_expanded_state(
                {n: None for n in compiled.positiontup or [] if n not in literals and compiled.params.get(n) is None})
            self.sql = state.statement
            self.positions = [(name, state.parameters.get(name)) for name in state.positiontup or []]
        else:
            self.sql = str(compiled)
            self.positions = [(name, compiled.params.get(name)) for name in compiled.positiontup or []]

    def args(self, values: dict[str, Any]) -> list[Any]:
        return [values.get(name, constant) for name, constant in self.positions]
