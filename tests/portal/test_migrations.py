"""The models and the Alembic head agree: a database migrated to head has exactly the schema
the models declare (autogenerate finds nothing to do), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from portal.cli import migration_config
from portal.models import metadata

ROOT = Path(__file__).resolve().parents[2]
# As in the migrations' env.py: advanced-alchemy's key/value model declares this index only for Spanner.
SKIP_OBJECTS = {"ix_kv_store_key_namespace_unique"}


# Indexes over an expression (e.g. "priority DESC"): SQLite's reflection reports them as plain
# columns, so on SQLite they are checked by name only.
EXPRESSION_INDEXES = {
    index.name for table in metadata.tables.values() for index in table.indexes
    if index.name and not all(isinstance(e, Column) for e in index.expressions)
}


def _differences(connection: Connection) -> tuple[set[str], list[Any], set[str]]:
    sqlite = connection.dialect.name == "sqlite"

    def include(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        if sqlite and type_ == "index" and name in EXPRESSION_INDEXES:
            return False
        return name not in SKIP_OBJECTS

    context = MigrationContext.configure(connection, opts={
        "target_metadata": metadata,
        "compare_type": not sqlite,  # SQLite reflects GUID/DateTimeUTC as their storage types (as env.py)
        "include_object": include,
    })
    inspector = inspect(connection)
    indexes = {i["name"] for t in inspector.get_table_names() for i in inspector.get_indexes(t) if i["name"]}
    return set(context.get_current_heads()), compare_metadata(context, metadata), indexes


async def test_a_database_migrated_to_head_matches_the_models(engine: AsyncEngine) -> None:
    config = migration_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    async with engine.connect() as connection:
        current, differences, indexes = await connection.run_sync(_differences)
    assert current == heads
    assert EXPRESSION_INDEXES and EXPRESSION_INDEXES <= indexes
    assert differences == [], "the models and the migrations differ; add a migration:\n" + "\n".join(
        map(repr, differences))
