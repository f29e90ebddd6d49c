"""The documents sweeper: objects without a row are removed, rows without an object reported.

An upload writes the object first and the row second; a process killed between the two (or
between deleting a row and removing its object after the commit) leaves an object no row
points at. The sweeper lists the store, looks the keys up in the ``document`` table (as a
document's object or its thumbnail) and removes the objects that no row references and
that were last written more than ``grace`` ago: an upload still in progress has a fresh
object and its row not yet committed, and the grace period keeps its hands off it.

The other way round, a row whose object is missing is never "fixed" (the bytes are gone;
deleting the row would hide it): it is reported (log, the command's output, ``/healthz``
is not involved) for a person to look at.

Order matters: the store is listed before the rows are read, and a row counts as missing
its object only if it was written before the listing began, so an upload that finishes
during the sweep is neither removed nor reported. Removing is idempotent, so two replicas
sweeping at once only repeat a delete. Each removal run writes one audit entry.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from documents.models import Document
from storage.audit import record_audit
from storage.db import utcnow
from storage.objects.store import ListableStore, ListedObject
from storage.periodic import Periodic

log = logging.getLogger("documents.sweeper")

DEFAULT_GRACE = dt.timedelta(hours=1)
LOOKUP_BATCH = 500
REPORTED = 50  # keys named in a report; the counts are complete


@dataclass
class SweepReport:
    objects: int = 0  # objects listed
    removed: list[str] = field(default_factory=list)  # orphans removed (or, dry run, that would be)
    young_orphans: int = 0  # without a row but within the grace period: left alone this time
    missing: list[tuple[int, str]] = field(default_factory=list)  # (document id, key) rows whose object is gone
    temporaries: int = 0  # local store: stale .tmp-* files of interrupted writes removed

    def summary(self) -> str:
        return (f"{self.objects} objects; {len(self.removed)} without a row removed; "
                f"{self.young_orphans} without a row kept (younger than the grace period); "
                f"{len(self.missing)} rows whose object is missing; {self.temporaries} stale temporary files removed")


async def _referenced(engine: AsyncEngine, keys: Sequence[str]) -> set[str]:
    d = Document.__table__.c
    found: set[str] = set()
    async with engine.connect() as conn:
        for start in range(0, len(keys), LOOKUP_BATCH):
            chunk = list(keys[start:start + LOOKUP_BATCH])
            rows = await conn.execute(select(d.storage_key, d.thumbnail_key).where(
                or_(d.storage_key.in_(chunk), d.thumbnail_key.in_(chunk))))
            for storage_key, thumb in rows:
                found.add(storage_key)
                if thumb:
                    found.add(thumb)
    return found


async def _missing(engine: AsyncEngine, listed: set[str], before: dt.datetime) -> list[tuple[int, str]]:
    d = Document.__table__.c
    missing: list[tuple[int, str]] = []
    async with engine.connect() as conn:
        result = await conn.stream(select(d.id, d.storage_key, d.thumbnail_key).where(d.created_at < before)
                                   .order_by(d.id))
        async for doc_id, key, thumb in result:
            for wanted in (key, thumb):
                if wanted and wanted not in listed:
                    missing.append((int(doc_id), str(wanted)))
    return missing


async def sweep(engine: AsyncEngine, store: ListableStore, *, grace: dt.timedelta = DEFAULT_GRACE,
                now: dt.datetime | None = None, dry_run: bool = False) -> SweepReport:
    """One pass over the store and the ``document`` table (see the module's docstring)."""
    started = utcnow()
    now = now or started
    cutoff = now - grace
    listing: list[ListedObject] = await store.list_objects()
    report = SweepReport(objects=len(listing))
    referenced = await _referenced(engine, [o.key for o in listing])
    for obj in listing:
        if obj.key in referenced:
            continue
        if obj.modified >= cutoff:
            report.young_orphans += 1
            continue
        if not dry_run:
            await store.delete(obj.key)
        report.removed.append(obj.key)
    report.missing = await _missing(engine, {o.key for o in listing}, started)
    remove_temporaries = getattr(store, "remove_stale_temporaries", None)
    if remove_temporaries is not None and not dry_run:
        report.temporaries = int(await remove_temporaries(cutoff))
    if report.removed and not dry_run:
        async with async_sessionmaker(engine)() as session:
            record_audit(session, actor_id=None, actor_label="documents sweeper", subject_type="document_store",
                         subject_id=0, action="documents.sweep",
                         after={"removed": len(report.removed), "keys": report.removed[:REPORTED],
                                "backend": store.backend_name})
            await session.commit()
    for doc_id, key in report.missing[:REPORTED]:
        log.error("document %s: its object %s is missing from the %s store", doc_id, key, store.backend_name)
    if report.removed or report.missing:
        log.warning("documents sweep: %s", report.summary())
    return report


class DocumentSweeper(Periodic):
    """Sweeps every ``interval`` seconds in the background of a process."""

    def __init__(self, engine: AsyncEngine, store: ListableStore, interval: float,
                 grace: dt.timedelta = DEFAULT_GRACE) -> None:
        super().__init__("documents-sweeper", interval, self._round)
        self.engine = engine
        self.store = store
        self.grace = grace
        self.last: SweepReport | None = None

    async def _round(self) -> None:
        self.last = await sweep(self.engine, self.store, grace=self.grace)
