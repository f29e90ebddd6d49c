"""The documents sweeper, wired: in the background of a process and as `python -m portal sweep`.

See documents/sweeper.py for what it does. Every portal process runs it every
``SWEEP_INTERVAL_SECONDS`` (default an hour; 0 turns it off, e.g. when cron runs the command
or only the sender process should); objects younger than ``SWEEP_GRACE_SECONDS`` are left.
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from documents.sweeper import DocumentSweeper, sweep
from portal.settings import Settings
from storage.objects.store import ListableStore, build_document_store_from_settings


def build_sweeper(engine: AsyncEngine, store: Any, settings: Settings) -> DocumentSweeper:
    interval = settings.documents.sweep_interval_seconds if isinstance(store, ListableStore) else 0
    return DocumentSweeper(engine, store, interval, dt.timedelta(seconds=settings.documents.sweep_grace_seconds))


async def run_sweep(settings: Settings, *, dry_run: bool = False) -> int:
    """One sweep now; exit status 1 when rows miss their object (someone should look)."""
    store = build_document_store_from_settings(settings.documents)
    assert isinstance(store, ListableStore)
    engine = create_async_engine(settings.database.url)
    try:
        report = await sweep(engine, store, grace=dt.timedelta(seconds=settings.documents.sweep_grace_seconds),
                             dry_run=dry_run)
    finally:
        await engine.dispose()
    verb = "would remove" if dry_run else "removed"
    print(f"· {store.backend_name} store: {report.objects} objects; {verb} {len(report.removed)} without a row; "
          f"kept {report.young_orphans} younger than the grace period; "
          f"{report.temporaries} stale temporary files removed", flush=True)
    for key in report.removed[:50]:
        print(f"  {verb}: {key}", flush=True)
    if report.missing:
        print(f"! {len(report.missing)} documents whose object is missing:", file=sys.stderr, flush=True)
        for doc_id, key in report.missing[:50]:
            print(f"  document {doc_id}: {key}", file=sys.stderr, flush=True)
        return 1
    return 0
