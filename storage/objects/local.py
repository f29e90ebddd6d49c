"""Documents in a local folder: the embedded default (``make run``) and a test double-free backend.

Writes are atomic (a temporary file in the same folder, flushed, fsync'd, then renamed over
the target), so a reader never sees half a file and a crash leaves at most a ``.tmp-*`` file
that no key can address. Keys are validated and resolved under the root; nothing escapes it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat as stat_mode
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import anyio.to_thread

from storage.objects.errors import InvalidObjectKey, ObjectNotFound, StorageUnavailable
from storage.objects.store import (
    DEFAULT_CHUNK_SIZE,
    ListedObject,
    ObjectData,
    ObjectInfo,
    StoreHealth,
    validate_key,
)

__all__ = ["LocalDocumentStore"]


class LocalDocumentStore:
    backend_name = "local"

    def __init__(self, root: str | os.PathLike[str] = Path("var") / "documents") -> None:
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"LocalDocumentStore(root={str(self.root)!r})"

    def _path(self, key: str) -> Path:
        validate_key(key)
        path = (self.root / key).resolve()
        root = self.root.resolve()
        if not path.is_relative_to(root) or path == root:
            raise InvalidObjectKey(f"key {key!r} resolves outside the document folder")
        return path

    # --- writing -----------------------------------------------------------------------------

    def _write(self, path: Path, data: ObjectData, size: int | None) -> int:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        except OSError as exc:
            raise StorageUnavailable(f"cannot write to {self.root}: {exc}") from exc
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                if isinstance(data, bytes | bytearray | memoryview):
                    out.write(data)
                else:
                    shutil.copyfileobj(data, out, DEFAULT_CHUNK_SIZE)
                out.flush()
                os.fsync(out.fileno())
                written = out.tell()
            if size is not None and written != size:
                raise ValueError(f"expected {size} bytes for {path.name}, got {written}")
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageUnavailable(f"cannot write {path}: {exc}") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return written

    async def put(self, key: str, data: ObjectData, *, size: int | None = None, content_type: str) -> ObjectInfo:
        path = self._path(key)
        written = await anyio.to_thread.run_sync(self._write, path, data, size)
        return ObjectInfo(key=key, size=written)

    # --- reading -----------------------------------------------------------------------------

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await anyio.Path(path).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {path}: {exc}") from exc

    async def stream(self, key: str, *, chunk_size: int = DEFAULT_CHUNK_SIZE) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            fh = await anyio.open_file(path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {path}: {exc}") from exc
        return _iterate(fh, chunk_size)

    async def stat(self, key: str) -> ObjectInfo:
        path = self._path(key)
        try:
            st = await anyio.Path(path).stat()
        except (FileNotFoundError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot stat {path}: {exc}") from exc
        if not stat_mode.S_ISREG(st.st_mode):
            raise ObjectNotFound(key)
        return ObjectInfo(key=key, size=st.st_size)

    async def exists(self, key: str) -> bool:
        return await anyio.Path(self._path(key)).is_file()

    async def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            await anyio.Path(path).unlink(missing_ok=True)
        except (IsADirectoryError, NotADirectoryError):
            return
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete {path}: {exc}") from exc

    async def presigned_get_url(
        self,
        key: str,
        *,
        expires: dt.timedelta,
        filename: str,
        content_type: str,
        cache_control: str | None = None,
    ) -> str | None:
        self._path(key)
        return None  # the portal streams local documents itself

    # --- listing (the sweeper) ---------------------------------------------------------------

    def _walk(self) -> tuple[list[ListedObject], list[Path]]:
        objects: list[ListedObject] = []
        temporaries: list[Path] = []
        if not self.root.exists():
            return objects, temporaries
        for path in self.root.rglob("*"):
            if not path.is_file():
                continue
            st = path.stat()
            if path.name.startswith(".tmp-"):
                temporaries.append(path)
                continue
            key = path.relative_to(self.root).as_posix()
            try:
                validate_key(key)
            except InvalidObjectKey:
                continue  # not ours: never listed, never removed
            objects.append(ListedObject(key, st.st_size, dt.datetime.fromtimestamp(st.st_mtime, dt.UTC)))
        return objects, temporaries

    async def list_objects(self) -> list[ListedObject]:
        try:
            objects, _ = await anyio.to_thread.run_sync(self._walk)
        except OSError as exc:
            raise StorageUnavailable(f"cannot list {self.root}: {exc}") from exc
        return objects

    async def remove_stale_temporaries(self, older_than: dt.datetime) -> int:
        """Remove ``.tmp-*`` files of writes a crash interrupted, last touched before ``older_than``."""

        def remove() -> int:
            _, temporaries = self._walk()
            removed = 0
            for path in temporaries:
                try:
                    if dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC) < older_than:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
            return removed

        return await anyio.to_thread.run_sync(remove)

    async def health(self) -> StoreHealth:
        def probe() -> StoreHealth:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                probe_path = self.root / f".tmp-health-{uuid.uuid4().hex}"
                probe_path.write_bytes(b"ok")
                probe_path.unlink()
            except OSError as exc:
                return StoreHealth(ok=False, backend=self.backend_name, detail=f"{self.root}: {exc}")
            return StoreHealth(ok=True, backend=self.backend_name, detail=str(self.root))

        return await anyio.to_thread.run_sync(probe)


async def _iterate(fh: anyio.AsyncFile[bytes], chunk_size: int) -> AsyncIterator[bytes]:
    try:
        while chunk := await fh.read(chunk_size):
            yield chunk
    finally:
        await fh.aclose()
