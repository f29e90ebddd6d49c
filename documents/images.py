"""Image checks and thumbnails (Pillow).

Every JPEG/PNG upload is opened (header only) to prove it is a readable image of sane
dimensions; lot photos also get a small JPEG thumbnail for listings.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from documents.errors import ImageTooLarge, UnreadableImage
from documents.kinds import FileType

__all__ = ["ImageInfo", "check_image", "make_thumbnail"]

_PIL_FORMATS = {FileType.jpeg: "JPEG", FileType.png: "PNG"}


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int


class _Borrowed:
    """The caller's file, lent to Pillow, which may close what it is given (PNG verify does)."""

    def __init__(self, fp: IO[bytes]) -> None:
        self._fp = fp

    def read(self, size: int = -1) -> bytes:
        return self._fp.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fp.seek(offset, whence)

    def tell(self) -> int:
        return self._fp.tell()

    def close(self) -> None:
        pass


def _open(fp: IO[bytes], expected: FileType, max_pixels: int) -> Image.Image:
    fp.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(_Borrowed(fp), formats=[_PIL_FORMATS[expected]])  # type: ignore[arg-type]
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own guard (far above ours) fired while reading the header.
        raise ImageTooLarge(max_pixels=max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UnreadableImage() from None
    return image


def check_image(fp: IO[bytes], expected: FileType, *, max_pixels: int) -> ImageInfo:
    """Open the image's header and verify its structure; refuse damaged or gigantic images."""
    image = _open(fp, expected, max_pixels)
    try:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise UnreadableImage()
        if width * height > max_pixels:
            raise ImageTooLarge(width=width, height=height, max_pixels=max_pixels)
        try:
            image.verify()
        except Exception:  # Pillow raises many types for corrupt data
            raise UnreadableImage() from None
    finally:
        image.close()
        fp.seek(0)
    return ImageInfo(width=width, height=height)


def make_thumbnail(fp: IO[bytes], expected: FileType, *, max_px: int, quality: int, max_pixels: int) -> bytes:
    """A JPEG no larger than ``max_px`` on its longest side, EXIF orientation applied and
    metadata (GPS position, camera serial) dropped."""
    image = _open(fp, expected, max_pixels)
    try:
        try:
            image.load()
            oriented = ImageOps.exif_transpose(image) or image
            oriented.thumbnail((max_px, max_px))
            if oriented.mode not in ("RGB", "L"):
                background = Image.new("RGB", oriented.size, (255, 255, 255))
                rgba = oriented.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                oriented = background
            out = io.BytesIO()
            oriented.save(out, format="JPEG", quality=quality, optimize=True)
        except (OSError, ValueError, SyntaxError):
            raise UnreadableImage() from None
    finally:
        image.close()
        fp.seek(0)
    return out.getvalue()
