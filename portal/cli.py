"""Command line: `python -m portal migrate | seed | serve | check | purge`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from portal.settings import ROOT, Settings, SettingsError


def migrate(settings: Settings) -> None:
    from alembic import command
    from alembic.config import Config

    (ROOT / "var").mkdir(exist_ok=True)
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "storage" / "migrations"))
    cfg.attributes["url"] = settings.database.url
    command.upgrade(cfg, "head")


async def seed(settings: Settings) -> list[str]:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from portal.demo import load_demo_data

    engine = create_async_engine(settings.database.url)
    try:
        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            created = await load_demo_data(session, settings.secret_key)
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
    uvicorn.run("portal.asgi:app", host=settings.host, port=settings.port, proxy_headers=False,
                log_level="info", access_log=False)
    return 0
