"""The file system behind the static routers: a name no file can have is simply not found.

Litestar's local file system only treats ``FileNotFoundError`` as "not found"; a NUL byte in
the requested name (``ValueError``), a name too long for the OS, or a path through a regular
file (``portal.css/x``) surfaced as 500s. Here every such name is a 404, like any other
missing file.
"""

from __future__ import annotations

import errno
from typing import Any

from litestar.file_system import BaseLocalFileSystem
from litestar.types.file_types import FileInfo

_NOT_FOUND_ERRNOS = {errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP, errno.EINVAL}


class StaticFileSystem(BaseLocalFileSystem):
    async def info(self, path: Any, **kwargs: Any) -> FileInfo:
        try:
            return await super().info(path, **kwargs)
        except ValueError as exc:  # "embedded null byte"
            raise FileNotFoundError(str(path)[:200]) from exc
        except OSError as exc:
            if exc.errno in _NOT_FOUND_ERRNOS:
                raise FileNotFoundError(str(path)[:200]) from exc
            raise
