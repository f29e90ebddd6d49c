"""The documents sweeper, on the local folder and on S3 (moto), SQLite and PostgreSQL.

A crash between writing an object and its row is made the way it happens: the object is in
the store (written through the store, as upload does) and no row was ever committed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from documents import Document, DocumentStore, Subject, SubjectType, upload
from documents.sweeper import sweep
from storage.audit import AuditEntry
from storage.objects.local import LocalDocumentStore
from storage.objects.store import new_storage_key
from tests.storage.conftest import PDF, People, S3Server, image_bytes, stored_keys

TRANSFER = Subject(SubjectType.transfer, 100)
LOT = Subject(SubjectType.lot, 42)
HOUR = dt.timedelta(hours=1)


def _later(hours: float = 2) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)


async def _kept_upload(sessionmaker: async_sessionmaker[AsyncSession], store: DocumentStore, people: People,
                       name: str = "kept.pdf", data: bytes = PDF + b"kept") -> Document:
    async with sessionmaker() as session:
        if name.endswith(".png"):  # a lot photo: it gets a thumbnail
            doc = await upload(session, store, people.court, LOT, "lot_photo", name, data, "public")
        else:
            doc = await upload(session, store, people.buyer, TRANSFER, "evidence", name, data)
        await session.commit()
    return doc


async def _crashed_upload(store: DocumentStore) -> str:
    """An object written as upload writes it, whose row never committed (the process died)."""
    key = new_storage_key()
    await store.put(key, PDF + b"orphan", content_type="application/pdf")
    return key


async def test_objects_left_without_a_row_are_removed_after_the_grace_period_only(
        sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People) -> None:
    db = sessionmaker.kw["bind"]
    kept = await _kept_upload(sessionmaker, service_store, people)
    orphan = await _crashed_upload(service_store)

    fresh = await sweep(db, service_store, grace=HOUR)  # the orphan is too young: maybe an upload in progress
    assert fresh.removed == [] and fresh.young_orphans == 1 and fresh.objects == 2
    assert orphan in await stored_keys(service_store)

    dry = await sweep(db, service_store, grace=HOUR, now=_later(), dry_run=True)
    assert dry.removed == [orphan] and orphan in await stored_keys(service_store)

    report = await sweep(db, service_store, grace=HOUR, now=_later())
    assert report.removed == [orphan] and report.missing == []
    assert await stored_keys(service_store) == {kept.storage_key}
    async with sessionmaker() as session:
        entry = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "documents.sweep"))).one()
    assert entry.after is not None and entry.after["keys"] == [orphan] and entry.actor_label == "documents sweeper"
    again = await sweep(db, service_store, grace=HOUR, now=_later())
    assert again.removed == [] and again.objects == 1


async def test_a_thumbnail_counts_as_referenced_and_a_row_without_its_object_is_reported_not_removed(
        sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People) -> None:
    db = sessionmaker.kw["bind"]
    photo = await _kept_upload(sessionmaker, service_store, people, "photo.png", image_bytes("PNG", (1600, 800)))
    assert photo.thumbnail_key is not None
    broken = await _kept_upload(sessionmaker, service_store, people, "lost.pdf", PDF + b"lost")
    await service_store.delete(broken.storage_key)  # the bytes are gone (a restore from an old backup)
    await asyncio.sleep(0.01)

    report = await sweep(db, service_store, grace=HOUR, now=_later())
    assert report.removed == []
    assert report.missing == [(broken.id, broken.storage_key)]
    assert await stored_keys(service_store) == {photo.storage_key, photo.thumbnail_key}
    async with sessionmaker() as session:
        assert await session.get(Document, broken.id) is not None  # reported, never deleted


async def test_stale_temporary_files_of_interrupted_local_writes_go_too(
        sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path, people: People) -> None:
    store = LocalDocumentStore(tmp_path / "documents")
    kept = await _kept_upload(sessionmaker, store, people)
    folder = (store.root / kept.storage_key).parent
    stale, fresh = folder / ".tmp-abandoned", folder / ".tmp-writing"
    stale.write_bytes(b"half")
    fresh.write_bytes(b"half")
    two_hours_ago = (dt.datetime.now(dt.UTC) - 2 * HOUR).timestamp()
    os.utime(stale, (two_hours_ago, two_hours_ago))
    report = await sweep(sessionmaker.kw["bind"], store, grace=HOUR)
    assert report.temporaries == 1 and not stale.exists() and fresh.exists()
    assert report.objects == 1 and report.removed == []


async def test_the_sweep_command_on_s3(moto_server: S3Server, people: People,
                                       sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    db = sessionmaker.kw["bind"]
    store = moto_server.store()
    await _kept_upload(sessionmaker, store, people)
    orphan = await _crashed_upload(store)
    url = db.url.render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "PORTAL_ENV": "test", "PORTAL_SECRET_FILE": str(tmp_path / "secret"),
           "DOCUMENT_BACKEND": "s3", "S3_ENDPOINT": moto_server.endpoint, "S3_ACCESS_KEY": moto_server.access_key,
           "S3_SECRET_KEY": moto_server.secret_key, "S3_BUCKET": store.bucket, "SWEEP_GRACE_SECONDS": "60"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "portal", "sweep", *args], env=env, capture_output=True,
                              text=True, timeout=120, check=False)

    young = await asyncio.to_thread(run)
    assert young.returncode == 0 and "removed 0 without a row; kept 1 younger" in young.stdout
    assert orphan in await stored_keys(store)
    # What an operator sees when the grace period is over: moto cannot age an object, so the check
    # of the command's output uses the library call with a later clock, and the command's exit status.
    report = await sweep(db, store, grace=dt.timedelta(seconds=60), now=_later())
    assert report.removed == [orphan]
    lost = await _kept_upload(sessionmaker, store, people, "lost.pdf", PDF + b"lost")
    await store.delete(lost.storage_key)
    reported = await asyncio.to_thread(run, "--dry-run")
    assert reported.returncode == 1 and f"document {lost.id}: {lost.storage_key}" in reported.stderr
