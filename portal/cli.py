"""Command line: `python -m portal migrate | seed | serve | check | purge`."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from typing import TYPE_CHECKING

from portal.settings import ROOT, Settings, SettingsError

if TYPE_CHECKING:
    from alembic.config import Config


def migration_config() -> Config:
    """Alembic's configuration: alembic.ini and the migrations folder."""
    from alembic.config import Config

    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "portal" / "migrations"))
    return cfg


def migrate(settings: Settings) -> None:
    from alembic import command

    (ROOT / "var").mkdir(exist_ok=True)
    cfg = migration_config()
    cfg.attributes["url"] = settings.database.url
    command.upgrade(cfg, "head")


RUNTIME_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


async def grant_runtime_role(settings: Settings, role: str) -> None:
    """Let a role that owns nothing run the portal (PostgreSQL): read and write rows, never DDL.

    Run as the owner after the migrations (``DATABASE_RUNTIME_ROLE``, see compose.yaml). The
    runtime role cannot drop or alter tables or the audit trigger (only an owner can), and on
    the audit trail it may only add and read rows.
    """
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    if not RUNTIME_ROLE.match(role):
        raise SettingsError(f"DATABASE_RUNTIME_ROLE must be a plain lower-case role name, got {role!r}")
    if not settings.database.is_postgres:
        return
    engine = create_async_engine(settings.database.url)
    try:
        async with engine.begin() as conn:
            owner = await conn.scalar(text("SELECT current_user"))
            if owner == role:
                raise SettingsError("DATABASE_RUNTIME_ROLE must differ from the role that runs the migrations")
            for stmt in (
                f"GRANT USAGE ON SCHEMA public TO {role}",
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
                f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
                f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {role}",
                f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM {role}",
            ):
                await conn.execute(text(stmt))
    finally:
        await engine.dispose()


async def seed(settings: Settings) -> list[str]:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from portal.demo import load_demo_data

    engine = create_async_engine(settings.database.url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            from documents import build_document_store_from_settings

            store = build_document_store_from_settings(settings.documents)
            created = await load_demo_data(session, settings.secret_key, store)
            await session.commit()
        return created
    finally:
        await engine.dispose()


async def purge(settings: Settings) -> int:
    from sqlalchemy.ext.asyncio import create_async_engine

    from portal.housekeeping import purge_expired

    engine = create_async_engine(settings.database.url)
    try:
        return await purge_expired(engine)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m portal")
    parser.add_argument("command", choices=["migrate", "seed", "serve", "check", "purge"])
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check":
        print(f"configuration ok: env={settings.env} database={settings.database.url.split('://')[0]}")
        return 0
    if args.command == "migrate":
        print("· applying database migrations …", flush=True)
        migrate(settings)
        runtime_role = os.environ.get("DATABASE_RUNTIME_ROLE", "").strip()
        if runtime_role:
            try:
                asyncio.run(grant_runtime_role(settings, runtime_role))
            except SettingsError as exc:
                print(f"configuration error: {exc}", file=sys.stderr)
                return 2
            print(f"· runtime role {runtime_role}: rows only, no DDL, audit trail append-only", flush=True)
        return 0
    if args.command == "purge":
        removed = asyncio.run(purge(settings))
        print(f"· removed {removed} expired sessions and counters", flush=True)
        return 0
    if args.command == "seed":
        if settings.is_production:
            print("refusing to load demo data with PORTAL_ENV=production", file=sys.stderr)
            return 2
        created = asyncio.run(seed(settings))
        print("· demo data: " + (", ".join(created) if created else "already present, nothing changed"), flush=True)
        return 0
    import uvicorn

    print(f"· portal on http://{settings.host}:{settings.port}", flush=True)
    # Behind a TLS proxy, FORWARDED_ALLOW_IPS names it (its address, or * when only the proxy can reach
    # the portal): then the client's address comes from X-Forwarded-For and per-IP limits keep working.
    forwarded = os.environ.get("FORWARDED_ALLOW_IPS", "").strip()
    uvicorn.run("portal.asgi:app", host=settings.host, port=settings.port, proxy_headers=bool(forwarded),
                forwarded_allow_ips=forwarded or None, log_level="info", access_log=False)
    return 0
