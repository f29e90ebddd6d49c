"""One contract, every backend: a local folder, and the MinIO client against moto and s3rver."""

from __future__ import annotations

import datetime as dt
import io
import time
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from documents import DocumentStore, InvalidObjectKey, ObjectNotFound, StorageUnavailable, new_storage_key
from storage.objects.local import LocalDocumentStore
from storage.objects.s3 import MinioDocumentStore
from storage.objects.store import build_document_store, validate_key
from tests.storage.conftest import S3Server, closed_port_store, stored_keys

BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "2025/../../outside",
    "2025/./x",
    "2025//x",
    ".hidden",
    "2025/.tmp-abc",
    "2025\\x",
    "2025/x\x00y",
    "2025/x\ny",
    "2025/ x",
    "2025/x..y",
    "a" * 201,
    "2025/成交",
]


async def test_put_get_roundtrip(store: DocumentStore) -> None:
    key = new_storage_key()
    info = await store.put(key, b"%PDF-1.4 hello", content_type="application/pdf")
    assert info.key == key and info.size == 14
    assert await store.get(key) == b"%PDF-1.4 hello"
    assert (await store.stat(key)).size == 14
    assert await store.exists(key)


async def test_put_from_a_file_object(store: DocumentStore) -> None:
    key = new_storage_key()
    payload = bytes(range(256)) * 1000
    await store.put(key, io.BytesIO(payload), size=len(payload), content_type="application/octet-stream")
    assert await store.get(key) == payload


async def test_larger_than_one_multipart_part_is_one_object(store: DocumentStore) -> None:
    key = new_storage_key()
    payload = b"%PDF-" + b"x" * (6 * 1024 * 1024)
    await store.put(key, payload, content_type="application/pdf")
    assert (await store.stat(key)).size == len(payload)
    assert await store.get(key) == payload


async def test_stream_returns_chunks_in_order(store: DocumentStore) -> None:
    key = new_storage_key()
    payload = b"".join(i.to_bytes(4, "big") for i in range(50_000))
    await store.put(key, payload, content_type="application/octet-stream")
    chunks = [chunk async for chunk in await store.stream(key, chunk_size=8192)]
    assert len(chunks) > 1
    assert b"".join(chunks) == payload


async def test_missing_objects(store: DocumentStore) -> None:
    key = new_storage_key()
    assert not await store.exists(key)
    with pytest.raises(ObjectNotFound):
        await store.get(key)
    with pytest.raises(ObjectNotFound):
        await store.stat(key)
    with pytest.raises(ObjectNotFound):
        await store.stream(key)  # refused when opened, before any byte is promised


async def test_overwrite_replaces_content(store: DocumentStore) -> None:
    key = new_storage_key()
    await store.put(key, b"first version", content_type="text/plain")
    await store.put(key, b"second", content_type="text/plain")
    assert await store.get(key) == b"second"


async def test_delete_is_idempotent(store: DocumentStore) -> None:
    key = new_storage_key()
    await store.put(key, b"x", content_type="text/plain")
    await store.delete(key)
    assert not await store.exists(key)
    await store.delete(key)  # deleting a missing object is fine
    assert key not in await stored_keys(store)


@pytest.mark.parametrize("bad", BAD_KEYS)
async def test_keys_are_validated(store: DocumentStore, bad: str) -> None:
    before = await stored_keys(store)
    with pytest.raises(InvalidObjectKey):
        await store.put(bad, b"x", content_type="text/plain")
    with pytest.raises(InvalidObjectKey):
        await store.get(bad)
    with pytest.raises(InvalidObjectKey):
        await store.delete(bad)
    with pytest.raises(InvalidObjectKey):
        await store.presigned_get_url(
            bad, expires=dt.timedelta(minutes=1), filename="a.pdf", content_type="application/pdf"
        )
    assert await stored_keys(store) == before


def test_generated_keys_are_valid_and_unguessable() -> None:
    keys = {new_storage_key(dt.datetime(2025, 3, 9, tzinfo=dt.UTC)) for _ in range(100)}
    assert len(keys) == 100
    for key in keys:
        assert validate_key(key) == key
        year, month, name = key.split("/")
        assert (year, month) == ("2025", "03")
        assert len(name) == 32 and int(name, 16) >= 0


async def test_health(store: DocumentStore) -> None:
    health = await store.health()
    assert health.ok and bool(health)
    assert health.backend == store.backend_name


async def test_presigned_url_serves_with_our_headers(store: DocumentStore) -> None:
    key = new_storage_key()
    await store.put(key, b"%PDF-1.4 ruling", content_type="application/pdf")
    url = await store.presigned_get_url(
        key,
        expires=dt.timedelta(minutes=5),
        filename="成交裁定书（2025）浙0681执1234号.pdf",
        content_type="application/pdf",
        cache_control="private, no-store",
    )
    if isinstance(store, LocalDocumentStore):
        assert url is None  # the portal streams local documents itself
        return
    assert url is not None
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["300"]
    async with httpx.AsyncClient() as client:
        resp = await client.get(url)
    assert resp.status_code == 200
    assert resp.content == b"%PDF-1.4 ruling"
    assert resp.headers["content-type"] == "application/pdf"
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''" + quote("成交裁定书（2025）浙0681执1234号.pdf", safe="") in disposition
    assert resp.headers.get("cache-control") == "private, no-store"


# --- local folder specifics ----------------------------------------------------------------------


async def test_local_writes_are_atomic_and_leave_no_temp_files(tmp_path) -> None:
    store = LocalDocumentStore(tmp_path / "docs")
    key = new_storage_key()
    await store.put(key, b"good", content_type="text/plain")

    class Exploding(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
            raise OSError("disk unplugged")

    with pytest.raises(StorageUnavailable):
        await store.put(key, io.BufferedReader(Exploding()), content_type="text/plain")
    with pytest.raises(ValueError):
        await store.put(key, io.BytesIO(b"short"), size=99, content_type="text/plain")
    assert await store.get(key) == b"good"  # the old version survives both failures
    assert await stored_keys(store) == {key}  # and no .tmp-* file is left behind


async def test_local_keys_never_escape_through_symlinks(tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "docs"
    root.mkdir()
    (root / "2025").symlink_to(outside, target_is_directory=True)
    store = LocalDocumentStore(root)
    with pytest.raises(InvalidObjectKey):
        await store.put("2025/abc", b"x", content_type="text/plain")
    assert list(outside.iterdir()) == []


async def test_local_store_down_is_storage_unavailable(tmp_path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_bytes(b"")
    store = LocalDocumentStore(blocker / "documents")  # its parent is a file: nothing can be created
    with pytest.raises(StorageUnavailable) as caught:
        await store.put(new_storage_key(), b"x", content_type="text/plain")
    assert "try again" in caught.value.message("en")
    assert "再试" in caught.value.message("zh")
    assert not (await store.health()).ok


# --- S3 specifics --------------------------------------------------------------------------------


async def test_s3_bucket_is_created_when_missing(moto_server: S3Server) -> None:
    store = moto_server.store()
    client = moto_server.client()
    assert not client.bucket_exists(bucket_name=store.bucket)
    await store.put(new_storage_key(), b"x", content_type="text/plain")
    assert client.bucket_exists(bucket_name=store.bucket)
    # A second store (another replica) finds it and does not fail.
    again = moto_server.store(bucket=store.bucket)
    await again.put(new_storage_key(), b"y", content_type="text/plain")


async def test_s3_expired_presigned_link_is_refused_by_the_store(s3rver_server: S3Server) -> None:
    # Runs against s3rver: moto serves presigned links whatever their age. (s3rver checks the
    # expiry of V4 links but not their signature, so tampering is not tested here.)
    # No waiting: the store's clock says when a link is signed, so one link is signed two
    # minutes ago for one minute (expired at the server now), another now for one minute.
    signed_at = [dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)]
    store = s3rver_server.store(clock=lambda: signed_at[0])
    key = new_storage_key()
    await store.put(key, b"%PDF-1.4 secret", content_type="application/pdf")

    def link() -> Any:
        return store.presigned_get_url(
            key, expires=dt.timedelta(seconds=60), filename="a.pdf", content_type="application/pdf"
        )

    short = await link()
    signed_at[0] = dt.datetime.now(dt.UTC)
    long = await link()
    assert "X-Amz-Expires=60" in short and "X-Amz-Expires=60" in long
    async with httpx.AsyncClient() as client:
        expired = await client.get(short)
        valid = await client.get(long)  # the same object, a link still in date: served
    assert expired.status_code == 403
    assert b"expired" in expired.content.lower()
    assert b"secret" not in expired.content
    assert valid.status_code == 200 and valid.content == b"%PDF-1.4 secret"


async def test_s3_store_down_is_storage_unavailable_quickly() -> None:
    store = closed_port_store()
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        await store.put(new_storage_key(), b"x", content_type="text/plain")
    with pytest.raises(StorageUnavailable):
        await store.get(new_storage_key())
    assert time.monotonic() - started < 15
    health = await store.health()
    assert not health.ok and "127.0.0.1" in health.detail


async def test_s3_presigning_needs_no_server() -> None:
    # The region is configured, so presigning is local: links can be made while the store is down.
    store = closed_port_store()
    url = await store.presigned_get_url(
        new_storage_key(), expires=dt.timedelta(minutes=5), filename="a.pdf", content_type="application/pdf"
    )
    assert url.startswith("http://127.0.0.1:")


async def test_s3_public_endpoint_is_used_for_links(moto_server: S3Server) -> None:
    store = moto_server.store(public_endpoint="https://files.example.test")
    url = await store.presigned_get_url(
        new_storage_key(), expires=dt.timedelta(minutes=5), filename="a.pdf", content_type="application/pdf"
    )
    assert url.startswith("https://files.example.test/")


def test_factory_builds_each_backend(tmp_path) -> None:
    local = build_document_store("local", directory=tmp_path / "d")
    assert isinstance(local, LocalDocumentStore) and local.root == (tmp_path / "d").absolute()
    s3 = build_document_store(
        "s3",
        s3_endpoint="http://127.0.0.1:9000",
        s3_access_key="k",
        s3_secret_key="s",  # noqa: S106
        s3_bucket="portal-documents",
        s3_secure=False,
        s3_region="us-east-1",
    )
    assert isinstance(s3, MinioDocumentStore)
    assert (s3.endpoint, s3.secure, s3.bucket) == ("127.0.0.1:9000", False, "portal-documents")
    with pytest.raises(ValueError, match="s3_secret_key"):
        build_document_store("s3", s3_endpoint="x:1", s3_access_key="k")
    with pytest.raises(TypeError, match="s3_bukket"):
        build_document_store("local", s3_bukket="typo")
    with pytest.raises(ValueError):
        build_document_store("ftp")  # type: ignore[arg-type]


def test_factory_from_portal_settings(tmp_path) -> None:
    from documents import build_document_store_from_settings
    from portal.settings import Settings

    settings = Settings.from_env({"DOCUMENT_DIR": str(tmp_path / "docs")})
    store = build_document_store_from_settings(settings.documents)
    assert isinstance(store, LocalDocumentStore) and store.root == tmp_path / "docs"
    settings = Settings.from_env(
        {
            "DOCUMENT_BACKEND": "s3",
            "S3_ENDPOINT": "https://minio.internal:9000",
            "S3_ACCESS_KEY": "k",
            "S3_SECRET_KEY": "s",
            "S3_BUCKET": "court-docs",
        }
    )
    store = build_document_store_from_settings(settings.documents)
    assert isinstance(store, MinioDocumentStore)
    assert (store.endpoint, store.secure, store.bucket) == ("minio.internal:9000", True, "court-docs")
