"""Documents in MinIO or any S3-compatible store, through the ``minio`` client (7.2.x).

The client is synchronous, so every call runs in a worker thread (``anyio.to_thread``) and
never blocks the event loop. Arguments are always passed by keyword: 7.2 deprecates and 8.0
removes positional use. Objects are written with a single PUT (no multipart for document
sizes), which S3 applies atomically. Downloads are served by short-lived presigned GET URLs
whose response carries our Content-Disposition and Content-Type.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import anyio.to_thread
import certifi
import urllib3
from minio import Minio
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError

from storage.objects.errors import InvalidObjectKey, ObjectNotFound, StorageUnavailable
from storage.objects.names import content_disposition
from storage.objects.store import DEFAULT_CHUNK_SIZE, ListedObject, ObjectData, ObjectInfo, StoreHealth, validate_key

__all__ = ["MinioDocumentStore", "parse_endpoint"]

log = logging.getLogger(__name__)
T = TypeVar("T")

MIN_PART_SIZE = 5 * 1024 * 1024
MAX_SINGLE_PUT = 5 * 1024 * 1024 * 1024
_NOT_FOUND_CODES = {"NoSuchKey", "NoSuchObject", "NoSuchVersion"}
_BUCKET_EXISTS_CODES = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


def parse_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """``host:port`` or ``http(s)://host:port`` → (``host:port``, secure)."""
    endpoint = endpoint.strip()
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"S3 endpoint must be host:port or http(s)://host:port, got {endpoint!r}")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"S3 endpoint must not contain a path, got {endpoint!r}")
        return parts.netloc, parts.scheme == "https"
    if not endpoint or "/" in endpoint:
        raise ValueError(f"S3 endpoint must be host:port or http(s)://host:port, got {endpoint!r}")
    return endpoint, secure


def _http_client(connect_timeout: float, read_timeout: float, retries: int) -> urllib3.PoolManager:
    # The client's default waits five minutes and retries five times; a portal request should
    # learn quickly that the store is down and tell the citizen to try again.
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
        maxsize=16,
        cert_reqs="CERT_REQUIRED",
        ca_certs=os.environ.get("SSL_CERT_FILE") or certifi.where(),
        retries=urllib3.Retry(total=retries, backoff_factor=0.2, status_forcelist=[500, 502, 503, 504]),
    )


class MinioDocumentStore:
    backend_name = "s3"

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str = "portal-documents",
        secure: bool = False,
        region: str = "us-east-1",
        public_endpoint: str | None = None,
        connect_timeout: float = 3.0,
        read_timeout: float = 30.0,
        retries: int = 1,
        create_bucket: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        host, secure = parse_endpoint(endpoint, secure)
        # When a presigned link is signed (its validity runs from there); tests pass another clock.
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.endpoint = host
        self.secure = secure
        self.bucket = bucket
        self.region = region
        self.create_bucket = create_bucket
        # With the region given, the client never asks the server for it, so presigning is
        # purely local and cannot fail when the store is down.
        self._client = Minio(
            endpoint=host,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=_http_client(connect_timeout, read_timeout, retries),
        )
        if public_endpoint:
            public_host, public_secure = parse_endpoint(public_endpoint, secure)
            self._presigner = Minio(
                endpoint=public_host, access_key=access_key, secret_key=secret_key, secure=public_secure, region=region
            )
        else:
            self._presigner = self._client
        self._bucket_ready = False
        self._bucket_lock = anyio.Lock()

    def __repr__(self) -> str:
        scheme = "https" if self.secure else "http"
        return f"MinioDocumentStore(endpoint={scheme}://{self.endpoint}, bucket={self.bucket!r})"

    # --- plumbing ----------------------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], /, *, not_found_key: str | None = None, **kwargs: Any) -> T:
        """Run one client call in a worker thread, translating its failures."""
        try:
            return await anyio.to_thread.run_sync(functools.partial(fn, **kwargs))
        except S3Error as exc:
            if exc.code in _NOT_FOUND_CODES and not_found_key is not None:
                raise ObjectNotFound(not_found_key) from None
            raise StorageUnavailable(f"S3 {exc.code}: {exc.message}") from exc
        except (ServerError, InvalidResponseError) as exc:
            raise StorageUnavailable(f"S3 server error: {exc}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageUnavailable(f"cannot reach S3 at {self.endpoint}: {exc}") from exc
        except MinioException as exc:
            raise StorageUnavailable(f"S3 client error: {exc}") from exc

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet (safe when several replicas race)."""
        if self._bucket_ready:
            return
        async with self._bucket_lock:
            if self._bucket_ready:
                return
            if not await self._run(self._client.bucket_exists, bucket_name=self.bucket):
                if not self.create_bucket:
                    raise StorageUnavailable(f"bucket {self.bucket!r} does not exist")
                try:
                    await self._run(self._client.make_bucket, bucket_name=self.bucket, location=self.region)
                    log.info("created document bucket %s at %s", self.bucket, self.endpoint)
                except StorageUnavailable as exc:
                    cause = exc.__cause__
                    if not (isinstance(cause, S3Error) and cause.code in _BUCKET_EXISTS_CODES):
                        raise
            self._bucket_ready = True

    # --- writing -----------------------------------------------------------------------------

    async def put(self, key: str, data: ObjectData, *, size: int | None = None, content_type: str) -> ObjectInfo:
        validate_key(key)
        if isinstance(data, bytes | bytearray | memoryview):
            payload = bytes(data)
            stream: Any = io.BytesIO(payload)
            length = len(payload)
            if size is not None and size != length:
                raise ValueError(f"size {size} does not match the {length} bytes given")
        else:
            stream = data
            if size is None:
                start = stream.tell()
                stream.seek(0, os.SEEK_END)
                size = stream.tell() - start
                stream.seek(start)
            length = size
        if length > MAX_SINGLE_PUT:
            raise ValueError("objects over 5 GiB need multipart uploads, which documents never use")
        await self.ensure_bucket()
        await self._run(
            self._client.put_object,
            bucket_name=self.bucket,
            object_name=key,
            data=stream,
            length=length,
            content_type=content_type,
            part_size=max(MIN_PART_SIZE, length),  # one PUT: atomic, nothing to abort
        )
        return ObjectInfo(key=key, size=length)

    async def delete(self, key: str) -> None:
        validate_key(key)
        await self.ensure_bucket()
        await self._run(self._client.remove_object, bucket_name=self.bucket, object_name=key)

    # --- reading -----------------------------------------------------------------------------

    async def get(self, key: str) -> bytes:
        chunks = [chunk async for chunk in await self.stream(key)]
        return b"".join(chunks)

    async def stream(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        validate_key(key)
        await self.ensure_bucket()
        response = await self._run(self._client.get_object, not_found_key=key, bucket_name=self.bucket, object_name=key)
        return self._iterate(response, chunk_size)

    async def _iterate(self, response: Any, chunk_size: int) -> AsyncIterator[bytes]:
        try:
            while True:
                chunk = await self._run(response.read, amt=chunk_size)
                if not chunk:
                    break
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        await self.ensure_bucket()
        info = await self._run(self._client.stat_object, not_found_key=key, bucket_name=self.bucket, object_name=key)
        return ObjectInfo(key=key, size=int(info.size or 0))

    async def exists(self, key: str) -> bool:
        try:
            await self.stat(key)
        except ObjectNotFound:
            return False
        return True

    async def presigned_get_url(
        self,
        key: str,
        *,
        expires: dt.timedelta,
        filename: str,
        content_type: str,
        cache_control: str | None = None,
    ) -> str:
        validate_key(key)
        if not dt.timedelta(seconds=1) <= expires <= dt.timedelta(days=7):
            raise ValueError("presigned links must expire between 1 second and 7 days")
        response_headers = {
            "response-content-disposition": content_disposition(filename),
            "response-content-type": content_type,
        }
        if cache_control:
            response_headers["response-cache-control"] = cache_control
        return await self._run(
            self._presigner.presigned_get_object,
            bucket_name=self.bucket,
            object_name=key,
            expires=expires,
            response_headers=response_headers,
            request_date=self._clock(),
        )

    async def list_objects(self) -> list[ListedObject]:
        await self.ensure_bucket()

        def listing() -> list[ListedObject]:
            out: list[ListedObject] = []
            for obj in self._client.list_objects(bucket_name=self.bucket, recursive=True):
                name = obj.object_name or ""
                try:
                    validate_key(name)
                except InvalidObjectKey:
                    continue
                modified = obj.last_modified or dt.datetime.now(dt.UTC)
                out.append(ListedObject(name, int(obj.size or 0), modified.astimezone(dt.UTC)))
            return out

        return await self._run(listing)

    async def health(self) -> StoreHealth:
        try:
            exists = await self._run(self._client.bucket_exists, bucket_name=self.bucket)
        except StorageUnavailable as exc:
            return StoreHealth(ok=False, backend=self.backend_name, detail=exc.detail)
        if not exists and not self.create_bucket:
            return StoreHealth(ok=False, backend=self.backend_name, detail=f"bucket {self.bucket!r} is missing")
        return StoreHealth(ok=True, backend=self.backend_name, detail=f"{self.endpoint}/{self.bucket}")
