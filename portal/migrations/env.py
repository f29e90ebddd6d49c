"""Alembic environment: the URL comes from DATABASE_URL (or alembic's -x url=...), never from alembic.ini."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from portal.models import metadata  # imports every model

config = context.config
target_metadata = metadata


def _url() -> str:
    from portal.settings import Settings

    url = context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")
    if url:
        from storage.db import normalise_database_url

        return normalise_database_url(url)
    return Settings.from_env().database.url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


# advanced-alchemy's key/value model declares this index only for Spanner (ddl_if).
SKIP_OBJECTS = {"ix_kv_store_key_namespace_unique"}


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return name not in SKIP_OBJECTS


def do_run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=sqlite,
        compare_type=not sqlite,  # SQLite reflects GUID/DateTimeUTC as their storage types
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_async_engine(_url(), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
    await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())
