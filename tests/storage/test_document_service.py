"""Uploads, access rules, listing and deletion: SQLite and PostgreSQL × local folder and MinIO (moto)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import re
import struct
import zlib

import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from accounts.principal import Principal
from documents import (
    AccessDenied,
    Document,
    DocumentStore,
    EmptyFile,
    ExtensionMismatch,
    FileTooLarge,
    ImageTooLarge,
    InvalidUpload,
    QuotaExceeded,
    StorageUnavailable,
    Subject,
    SubjectNotFound,
    SubjectType,
    TypeNotAllowedForKind,
    UnreadableImage,
    UnsupportedFileType,
    can_delete,
    can_view,
    delete_document,
    get_limits,
    list_documents,
    upload,
    wait_for_cleanups,
)
from storage.audit import AuditEntry
from storage.objects.local import LocalDocumentStore
from storage.objects.store import ObjectData, ObjectInfo
from tests.storage.conftest import (
    ELF,
    MZ,
    PDF,
    People,
    S3Server,
    closed_port_store,
    image_bytes,
    start_moto,
    stored_keys,
)

TRANSFER = Subject(SubjectType.transfer, 100)
OTHER_TRANSFER = Subject(SubjectType.transfer, 200)
STEP = Subject(SubjectType.transfer_step, 7)
LOT = Subject(SubjectType.lot, 42)
MIB = 1024 * 1024


async def count_rows(sessionmaker: async_sessionmaker[AsyncSession], model: type = Document) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- happy paths ----------------------------------------------------------------------------------


async def test_citizen_uploads_evidence(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    async with sessionmaker() as session:
        doc = await upload(
            session, service_store, people.buyer, TRANSFER, "evidence", "房屋现状照片说明.pdf", PDF, "owner", "court"
        )
        await session.commit()

    assert re.fullmatch(r"\d{4}/\d{2}/[0-9a-f]{32}", doc.storage_key)
    assert doc.original_name == "房屋现状照片说明.pdf"
    assert (doc.content_type, doc.size, doc.sha256) == ("application/pdf", len(PDF), hashlib.sha256(PDF).hexdigest())
    assert (doc.owner_id, doc.uploaded_by, doc.visibility, doc.department) == (1, 1, "owner", "court")
    assert doc.thumbnail_key is None
    assert await service_store.get(doc.storage_key) == PDF
    async with sessionmaker() as session:
        audit = (await session.scalars(select(AuditEntry).where(AuditEntry.subject_id == doc.id))).one()
    assert (audit.action, audit.actor_id, audit.subject_type) == ("document.upload", 1, "document")
    assert audit.after is not None and audit.after["sha256"] == doc.sha256


async def test_staff_attach_a_sale_ruling_for_the_buyer(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    async with sessionmaker() as session:
        doc = await upload(
            session,
            service_store,
            people.court,
            STEP,
            "sale_ruling",
            "成交裁定书.pdf",
            PDF,
            "owner",
            None,
        )
        await session.commit()
        assert (doc.department, doc.owner_id, doc.uploaded_by) == ("court", 1, 4)  # the step's buyer owns it
        assert can_view(doc, people.buyer)
        assert can_view(doc, people.court)
        assert not can_view(doc, people.other_buyer)
        assert not can_view(doc, people.tax)
        assert not can_view(doc, None)


async def test_lot_photo_gets_a_small_jpeg_thumbnail(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    photo = image_bytes("PNG", (1600, 800))
    async with sessionmaker() as session:
        doc = await upload(session, service_store, people.court, LOT, "lot_photo", "客厅.png", photo, "public")
        await session.commit()
    assert doc.thumbnail_key == f"{doc.storage_key}.thumb.jpg"
    thumb = await service_store.get(doc.thumbnail_key)
    assert thumb.startswith(b"\xff\xd8\xff")
    with Image.open(io.BytesIO(thumb)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == get_limits().thumbnail_max_px
        assert image.size == (320, 160)  # aspect ratio kept
    assert await stored_keys(service_store) == {doc.storage_key, doc.thumbnail_key}


async def test_upload_from_a_spooled_file(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People, jpeg: bytes
) -> None:
    import tempfile

    spooled = tempfile.SpooledTemporaryFile(max_size=1024)  # rolls over to disk, like Litestar's UploadFile
    spooled.write(jpeg)
    spooled.seek(0)
    async with sessionmaker() as session:
        doc = await upload(session, service_store, people.buyer, TRANSFER, "id_copy", "身份证.JPG", spooled)
        await session.commit()
    assert doc.original_name == "身份证.jpg"
    assert doc.content_type == "image/jpeg"
    assert await service_store.get(doc.storage_key) == jpeg


# --- bad input ------------------------------------------------------------------------------------


async def _refused(
    sessionmaker: async_sessionmaker[AsyncSession],
    store: DocumentStore,
    principal: Principal,
    error: type[Exception],
    *,
    subject: Subject = TRANSFER,
    kind: str = "evidence",
    filename: str = "file.pdf",
    data: ObjectData = PDF,
    visibility: str = "owner",
    department: str | None = "court",
    **kwargs: object,
) -> Exception:
    async with sessionmaker() as session:
        with pytest.raises(error) as caught:
            await upload(session, store, principal, subject, kind, filename, data, visibility, department, **kwargs)  # type: ignore[arg-type]
        await session.rollback()
    assert await count_rows(sessionmaker) == 0
    assert await stored_keys(store) == set()
    return caught.value


async def test_oversized_file_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    limit = get_limits().rule("evidence").max_bytes  # type: ignore[arg-type]
    exc = await _refused(
        sessionmaker, service_store, people.buyer, FileTooLarge, data=PDF + b"0" * (limit - len(PDF) + 1)
    )
    assert "20 MB" in exc.message("en") and "20 MB" in exc.message("zh")
    assert exc.status_code == 413
    # Exactly at the limit is fine.
    async with sessionmaker() as session:
        doc = await upload(
            session,
            service_store,
            people.buyer,
            TRANSFER,
            "evidence",
            "f.pdf",
            PDF + b"0" * (limit - len(PDF)),
            "owner",
        )
        await session.commit()
    assert doc.size == limit


async def test_photo_limit_is_smaller(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    big_jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * (10 * MIB)
    exc = await _refused(
        sessionmaker, service_store, people.court, FileTooLarge, subject=LOT, kind="lot_photo", filename="a.jpg",
        data=big_jpeg, visibility="public",
    )  # fmt: skip
    assert "10 MB" in exc.message("en")


@pytest.mark.parametrize(
    ("payload", "words_en", "words_zh"),
    [(ELF, "Linux executable", "Linux 可执行程序"), (MZ, "Windows executable", "Windows 可执行程序")],
)
async def test_executable_named_pdf_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession],
    service_store: DocumentStore,
    people: People,
    payload: bytes,
    words_en: str,
    words_zh: str,
) -> None:
    exc = await _refused(
        sessionmaker, service_store, people.buyer, UnsupportedFileType, filename="判决书.pdf", data=payload
    )
    assert words_en in exc.message("en") and "PDF, JPEG or PNG" in exc.message("en")
    assert words_zh in exc.message("zh")
    assert exc.status_code == 415


async def test_pdf_magic_must_be_at_the_start(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    await _refused(sessionmaker, service_store, people.buyer, UnsupportedFileType, data=b"MZ....%PDF-1.4 polyglot")


async def test_zero_byte_file_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    exc = await _refused(sessionmaker, service_store, people.buyer, EmptyFile, data=b"")
    assert "0" in exc.message("zh") and "empty" in exc.message("en")


async def test_png_named_pdf_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People, png: bytes
) -> None:
    exc = await _refused(sessionmaker, service_store, people.buyer, ExtensionMismatch, filename="合同.pdf", data=png)
    assert ".png" in exc.message("en") and ".pdf" in exc.message("en")
    assert ".png" in exc.message("zh")


async def test_pdf_named_jpg_and_no_extension_are_refused(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    await _refused(sessionmaker, service_store, people.buyer, ExtensionMismatch, filename="scan.jpg")
    exc = await _refused(sessionmaker, service_store, people.buyer, ExtensionMismatch, filename="scan")
    assert "no extension" in exc.message("en") and ".pdf" in exc.message("en")
    assert "没有后缀" in exc.message("zh")


async def test_type_not_allowed_for_kind(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People, jpeg: bytes
) -> None:
    exc = await _refused(
        sessionmaker, service_store, people.court, TypeNotAllowedForKind, subject=LOT, kind="announcement",
        filename="公告.jpg", data=jpeg, visibility="public",
    )  # fmt: skip
    assert "PDF" in exc.message("en")
    await _refused(
        sessionmaker, service_store, people.court, TypeNotAllowedForKind, subject=LOT, kind="lot_photo",
        filename="photo.pdf", visibility="public",
    )  # fmt: skip


async def test_damaged_image_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People, png: bytes
) -> None:
    broken = png[:40] + b"\x00" * 64  # right signature, damaged chunks
    await _refused(sessionmaker, service_store, people.buyer, UnreadableImage, filename="a.png", data=broken)


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [9_000, 40_000])
async def test_image_bomb_is_refused(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People, side: int
) -> None:
    # 81 megapixels is over our limit; 1.6 gigapixels also trips Pillow's own guard.
    exc = await _refused(
        sessionmaker, service_store, people.buyer, ImageTooLarge, filename="a.png", data=_png_header_only(side, side)
    )
    assert "megapixels" in exc.message("en")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\王\\Desktop\\判决书.pdf", "判决书.pdf"),
        ("合同\u202eexe.pdf", "合同exe.pdf"),
        ("证据\x00\x07\x1b[31m.pdf", "证据[31m.pdf"),
        ("..\\..\\boot.ini\u200b.pdf", "boot.ini.pdf"),
        ("a<b>:c|d?*.pdf", "a_b__c_d__.pdf"),
        ("   .pdf", "evidence.pdf"),
        ("CON.pdf", "evidence_CON.pdf"),
    ],
)
async def test_names_are_sanitised(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People, raw: str, shown: str
) -> None:
    async with sessionmaker() as session:
        doc = await upload(session, service_store, people.buyer, TRANSFER, "evidence", raw, PDF, "owner", "court")
        await session.commit()
    assert doc.original_name == shown
    assert ".." not in doc.storage_key and shown not in doc.storage_key
    assert await stored_keys(service_store) == {doc.storage_key}


async def test_long_chinese_names_are_cut_keeping_the_extension(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    async with sessionmaker() as session:
        doc = await upload(session, service_store, people.buyer, TRANSFER, "evidence", "财产线索" * 100 + ".pdf", PDF)
        await session.commit()
    assert doc.original_name.endswith(".pdf") and doc.original_name.startswith("财产线索")
    assert len(doc.original_name) <= get_limits().max_name_chars
    assert len(doc.original_name.encode()) <= 240


async def test_citizen_quota(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    limits = dataclasses.replace(get_limits(), citizen_quota_bytes=3 * MIB)
    two_mib = PDF + b"0" * (2 * MIB - len(PDF))
    async with sessionmaker() as session:
        await upload(session, service_store, people.buyer, TRANSFER, "evidence", "a.pdf", two_mib, limits=limits)
        await session.commit()
    keys_before = await stored_keys(service_store)
    async with sessionmaker() as session:
        with pytest.raises(QuotaExceeded) as caught:
            await upload(session, service_store, people.buyer, TRANSFER, "evidence", "b.pdf", two_mib, limits=limits)
    assert "3 MB" in caught.value.message("en") and "2 MB" in caught.value.message("en")
    assert await stored_keys(service_store) == keys_before
    async with sessionmaker() as session:  # another citizen has their own quota; staff have none
        await upload(
            session, service_store, people.other_buyer, OTHER_TRANSFER, "evidence", "c.pdf", two_mib, limits=limits
        )
        for _ in range(2):
            await upload(session, service_store, people.court, STEP, "sale_ruling", "d.pdf", two_mib, limits=limits)
        await session.commit()
    assert await count_rows(sessionmaker) == 4


async def test_who_may_upload_what(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    # Citizens upload their own kinds, only to their own subjects, visible to themselves.
    await _refused(sessionmaker, service_store, people.buyer, InvalidUpload, kind="sale_ruling")
    await _refused(sessionmaker, service_store, people.buyer, AccessDenied, subject=OTHER_TRANSFER)
    await _refused(sessionmaker, service_store, people.buyer, SubjectNotFound, subject=Subject(SubjectType.case, 1))
    await _refused(sessionmaker, service_store, people.court, SubjectNotFound, subject=Subject(SubjectType.transfer, 9))
    await _refused(sessionmaker, service_store, people.buyer, AccessDenied, visibility="public")
    await _refused(sessionmaker, service_store, people.buyer, InvalidUpload, visibility="department")
    # Staff act for their own department only, on subjects it handles, with kinds it issues.
    await _refused(sessionmaker, service_store, people.tax, AccessDenied, kind="sale_ruling", department="court")
    await _refused(sessionmaker, service_store, people.tax, AccessDenied, kind="sale_ruling", department=None)
    await _refused(sessionmaker, service_store, people.tax, AccessDenied, kind="other", subject=STEP, department=None)
    await _refused(sessionmaker, service_store, people.court, AccessDenied, kind="tax_receipt")
    # Public documents only on what is public by nature.
    await _refused(sessionmaker, service_store, people.court, AccessDenied, kind="other", visibility="public")
    await _refused(sessionmaker, service_store, people.admin, AccessDenied, kind="other", visibility="public")
    await _refused(sessionmaker, service_store, people.court, InvalidUpload, kind="no_such_kind")
    await _refused(sessionmaker, service_store, people.court, InvalidUpload, department="fire_brigade")
    await _refused(sessionmaker, service_store, people.court, InvalidUpload, visibility="everyone")
    with pytest.raises(InvalidUpload):
        Subject.of("bank_account", 1)
    with pytest.raises(InvalidUpload):
        Subject.of("transfer", "../1")
    # An administrator may publish for any department.
    async with sessionmaker() as session:
        doc = await upload(
            session, service_store, people.admin, LOT, "pre_review_report", "联审.pdf", PDF, "public", "registry"
        )
        await session.commit()
    assert doc.department == "registry"


# --- faults -------------------------------------------------------------------------------------


async def test_store_down_during_upload_local(
    sessionmaker: async_sessionmaker[AsyncSession], people: People, tmp_path
) -> None:
    blocker = tmp_path / "unmounted"
    blocker.write_bytes(b"")
    store = LocalDocumentStore(blocker / "documents")
    exc = await _refused(sessionmaker, store, people.buyer, StorageUnavailable)
    assert exc.status_code == 503 and "try again" in exc.message("en")


async def test_store_down_during_upload_s3_closed_port(
    sessionmaker: async_sessionmaker[AsyncSession], people: People
) -> None:
    store = closed_port_store()
    async with sessionmaker() as session:
        with pytest.raises(StorageUnavailable) as caught:
            await upload(session, store, people.buyer, TRANSFER, "evidence", "a.pdf", PDF, "owner", "court")
        await session.rollback()
    assert "稍" in caught.value.message("zh") or "再试" in caught.value.message("zh")
    assert await count_rows(sessionmaker) == 0
    assert await count_rows(sessionmaker, AuditEntry) == 0


async def test_store_stops_between_uploads(sessionmaker: async_sessionmaker[AsyncSession], people: People) -> None:
    server = start_moto()
    try:
        store = server.store()
        async with sessionmaker() as session:
            first = await upload(session, store, people.buyer, TRANSFER, "evidence", "a.pdf", PDF, "owner", "court")
            await session.commit()
        assert await store.exists(first.storage_key)
        server.stop()  # the object store goes away
        async with sessionmaker() as session:
            with pytest.raises(StorageUnavailable):
                await upload(session, store, people.buyer, TRANSFER, "evidence", "b.pdf", PDF, "owner", "court")
            await session.rollback()
        assert await count_rows(sessionmaker) == 1
    finally:
        server.stop()


class FailingThumbnailStore:
    """Wraps a real store; the second put (the thumbnail) fails as if the store went away."""

    def __init__(self, inner: DocumentStore) -> None:
        self.inner = inner
        self.backend_name = inner.backend_name
        self.puts = 0

    async def put(self, key: str, data: ObjectData, *, size: int | None = None, content_type: str) -> ObjectInfo:
        self.puts += 1
        if self.puts == 2:
            raise StorageUnavailable("simulated: connection reset during thumbnail upload")
        return await self.inner.put(key, data, size=size, content_type=content_type)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


async def test_thumbnail_failure_removes_the_photo(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People, jpeg: bytes
) -> None:
    store = FailingThumbnailStore(service_store)
    async with sessionmaker() as session:
        with pytest.raises(StorageUnavailable):
            await upload(session, store, people.court, LOT, "lot_photo", "a.jpg", jpeg, "public")  # type: ignore[arg-type]
    assert store.puts == 2
    assert await stored_keys(service_store) == set()
    assert await count_rows(sessionmaker) == 0


async def _refuse_document_inserts(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execute(
                text(
                    "CREATE TRIGGER refuse_document BEFORE INSERT ON document "
                    "BEGIN SELECT RAISE(ABORT, 'document inserts refused by test'); END"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE FUNCTION refuse_document() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    "BEGIN RAISE EXCEPTION 'document inserts refused by test'; END $$"
                )
            )
            await conn.execute(
                text(
                    "CREATE TRIGGER refuse_document BEFORE INSERT ON document "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_document()"
                )
            )


async def _allow_document_inserts(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("DROP TRIGGER IF EXISTS refuse_document" + ("" if engine.dialect.name == "sqlite" else " ON document"))
        )
        if engine.dialect.name != "sqlite":
            await conn.execute(text("DROP FUNCTION IF EXISTS refuse_document()"))


async def test_database_insert_failure_deletes_the_object(
    db_engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    service_store: DocumentStore,
    people: People,
    jpeg: bytes,
) -> None:
    await _refuse_document_inserts(db_engine)
    try:
        async with sessionmaker() as session:
            with pytest.raises(Exception, match="document inserts refused by test"):
                await upload(session, service_store, people.court, LOT, "lot_photo", "a.jpg", jpeg, "public")
            await session.rollback()
    finally:
        await _allow_document_inserts(db_engine)
    assert await stored_keys(service_store) == set()  # neither the photo nor its thumbnail
    assert await count_rows(sessionmaker) == 0


async def test_caller_rollback_deletes_the_object(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    async with sessionmaker() as session:
        doc = await upload(session, service_store, people.buyer, TRANSFER, "evidence", "a.pdf", PDF, "owner", "court")
        key = doc.storage_key
        assert await service_store.exists(key)
        await session.rollback()  # e.g. the form it belonged to failed validation afterwards
    await wait_for_cleanups()
    assert await stored_keys(service_store) == set()
    assert await count_rows(sessionmaker) == 0


async def test_savepoint_rollback_elsewhere_keeps_the_object(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    async with sessionmaker() as session:
        doc = await upload(session, service_store, people.buyer, TRANSFER, "evidence", "a.pdf", PDF, "owner", "court")
        nested = await session.begin_nested()
        await nested.rollback()  # an unrelated savepoint fails; the document row is untouched
        await session.commit()
    await wait_for_cleanups()
    assert await service_store.exists(doc.storage_key)
    assert await count_rows(sessionmaker) == 1


# --- listing, access, deletion ------------------------------------------------------------------


def _doc(**fields: object) -> Document:
    base: dict[str, object] = dict(
        owner_id=1, subject_type="transfer", subject_id=100, kind="evidence", original_name="a.pdf",
        content_type="application/pdf", size=1, sha256="0" * 64, storage_key="2025/01/" + "a" * 32,
        visibility="owner", department="court", uploaded_by=1,
    )  # fmt: skip
    base.update(fields)
    return Document(**base)


def test_access_rules(people: People) -> None:
    owner_doc = _doc()
    assert [can_view(owner_doc, p) for p in vars(people).values()] == [True, False, False, True, False, True]
    assert not can_view(owner_doc, None)

    dept_doc = _doc(visibility="department", department="tax", owner_id=1)
    assert [can_view(dept_doc, p) for p in vars(people).values()] == [False, False, False, False, True, True]

    public_doc = _doc(visibility="public", subject_type="lot", owner_id=None)
    assert can_view(public_doc, None) and all(can_view(public_doc, p) for p in vars(people).values())

    ownerless = _doc(owner_id=None, department=None)
    assert [can_view(ownerless, p) for p in vars(people).values()] == [False, False, False, False, False, True]

    # A domain may say who counts as the owner (e.g. both buyers of a jointly bought flat).
    joint = _doc(owner_id=1)
    assert can_view(joint, people.other_buyer, owner_check=lambda d, p: p.user_id in (1, 2))
    assert not can_view(_doc(visibility="department"), people.buyer, owner_check=lambda d, p: True)

    assert can_delete(owner_doc, people.buyer) and not can_delete(owner_doc, people.other_buyer)
    assert can_delete(owner_doc, people.court) and not can_delete(owner_doc, people.tax)
    assert can_delete(owner_doc, people.admin) and not can_delete(owner_doc, None)
    assert not can_delete(_doc(uploaded_by=4, owner_id=1), people.buyer)  # a ruling the court gave them


async def test_listing_shows_only_what_each_person_may_see(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    async with sessionmaker() as session:
        mine = await upload(
            session, service_store, people.buyer, TRANSFER, "evidence", "mine.pdf", PDF, "owner", "court"
        )
        ruling = await upload(session, service_store, people.court, TRANSFER, "sale_ruling", "ruling.pdf", PDF)
        internal = await upload(
            session, service_store, people.tax, TRANSFER, "other", "worksheet.pdf", PDF, "department"
        )
        await upload(session, service_store, people.other_buyer, OTHER_TRANSFER, "evidence", "theirs.pdf", PDF, "owner")
        await session.commit()

    async with sessionmaker() as session:
        names = lambda docs: [d.original_name for d in docs]  # noqa: E731
        assert names(await list_documents(session, TRANSFER, people.buyer)) == ["mine.pdf", "ruling.pdf"]
        assert names(await list_documents(session, TRANSFER, people.court)) == ["mine.pdf", "ruling.pdf"]
        assert names(await list_documents(session, TRANSFER, people.tax)) == ["worksheet.pdf"]
        assert len(await list_documents(session, TRANSFER, people.admin)) == 3
        assert await list_documents(session, TRANSFER, people.other_buyer) == []
        assert await list_documents(session, TRANSFER, None) == []
        assert names(await list_documents(session, TRANSFER, people.admin, kinds=["sale_ruling"])) == ["ruling.pdf"]
    assert {mine.id, ruling.id, internal.id} <= {d for d in range(1, 100)}


async def test_delete_removes_objects_after_commit_only(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People, jpeg: bytes
) -> None:
    async with sessionmaker() as session:
        doc = await upload(session, service_store, people.court, LOT, "lot_photo", "a.jpg", jpeg, "public")
        await session.commit()
    keys = {doc.storage_key, doc.thumbnail_key}

    async with sessionmaker() as session:
        loaded = await session.get(Document, doc.id)
        assert loaded is not None
        with pytest.raises(AccessDenied):
            await delete_document(session, service_store, people.tax, loaded)
        await delete_document(session, service_store, people.court, loaded)
        await session.rollback()  # changed our mind: nothing may be lost
    await wait_for_cleanups()
    assert await stored_keys(service_store) == keys
    assert await count_rows(sessionmaker) == 1

    async with sessionmaker() as session:
        loaded = await session.get(Document, doc.id)
        assert loaded is not None
        await delete_document(session, service_store, people.court, loaded)
        await session.commit()
    await wait_for_cleanups()
    assert await stored_keys(service_store) == set()
    assert await count_rows(sessionmaker) == 0
    async with sessionmaker() as session:
        actions = (await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions == ["document.upload", "document.delete"]


async def test_moto_server_fixture_is_shared(moto_server: S3Server) -> None:
    assert moto_server.proc.running


async def test_parallel_uploads_cannot_exceed_the_quota(
    sessionmaker: async_sessionmaker[AsyncSession], service_store: DocumentStore, people: People
) -> None:
    """Six uploads at once, each in its own transaction, with room for one: exactly one is kept."""
    limits = dataclasses.replace(get_limits(), citizen_quota_bytes=3 * MIB)
    two_mib = PDF + b"0" * (2 * MIB - len(PDF))
    async with sessionmaker() as session:
        await upload(session, service_store, people.buyer, TRANSFER, "evidence", "a.pdf", two_mib, limits=limits)
        await session.commit()
    part = PDF + b"0" * (600 * 1024)

    async def one(i: int) -> str:
        async with sessionmaker() as session:
            try:
                await upload(session, service_store, people.buyer, TRANSFER, "evidence", f"p{i}.pdf", part,
                             limits=limits)
                await session.commit()
            except QuotaExceeded:
                await session.rollback()
                return "refused"
            return "kept"

    outcomes = await asyncio.gather(*(one(i) for i in range(6)))
    assert sorted(outcomes) == ["kept"] + ["refused"] * 5
    async with sessionmaker() as session:
        used = await session.scalar(select(func.sum(Document.size)).where(Document.uploaded_by == people.buyer.user_id))
    assert used is not None and used <= 3 * MIB
