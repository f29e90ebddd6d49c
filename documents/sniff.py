"""Decide a file's type from its first bytes, never from its name or the browser's claim."""

from __future__ import annotations

from dataclasses import dataclass

from documents.kinds import FileType

__all__ = ["FILE_TYPES", "FileTypeInfo", "SNIFF_BYTES", "describe_unknown", "extension_of", "sniff"]

SNIFF_BYTES = 16


@dataclass(frozen=True)
class FileTypeInfo:
    type: FileType
    content_type: str
    extensions: tuple[str, ...]  # first one is canonical
    label_zh: str
    label_en: str
    magic: bytes


FILE_TYPES: dict[FileType, FileTypeInfo] = {
    FileType.pdf: FileTypeInfo(FileType.pdf, "application/pdf", ("pdf",), "PDF 文档", "a PDF document", b"%PDF-"),
    FileType.jpeg: FileTypeInfo(
        FileType.jpeg, "image/jpeg", ("jpg", "jpeg"), "JPEG 图片", "a JPEG image", b"\xff\xd8\xff"
    ),
    FileType.png: FileTypeInfo(FileType.png, "image/png", ("png",), "PNG 图片", "a PNG image", b"\x89PNG\r\n\x1a\n"),
}

# Recognised only to explain a refusal well.
_KNOWN_OTHERS: tuple[tuple[bytes, str, str], ...] = (
    (b"MZ", "Windows 可执行程序", "a Windows executable program"),
    (b"\x7fELF", "Linux 可执行程序", "a Linux executable program"),
    (b"\xcf\xfa\xed\xfe", "macOS 可执行程序", "a macOS executable program"),
    (b"\xfe\xed\xfa\xcf", "macOS 可执行程序", "a macOS executable program"),
    (b"#!", "脚本", "a script"),
    (b"PK\x03\x04", "ZIP 压缩包或 Office 文档", "a ZIP archive or Office document"),
    (b"Rar!", "RAR 压缩包", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包", "a 7z archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office 文档", "an old-style Office document"),
    (b"GIF8", "GIF 图片", "a GIF image"),
    (b"RIFF", "WebP 图片或音视频", "a WebP image or audio/video file"),
    (b"<", "网页或 XML 文本", "an HTML or XML text file"),
)


def sniff(head: bytes) -> FileType | None:
    """The accepted type whose signature ``head`` starts with, or None."""
    for info in FILE_TYPES.values():
        if head.startswith(info.magic):
            return info.type
    return None


def describe_unknown(head: bytes) -> tuple[str, str]:
    """A human description (zh, en) of content that is not an accepted type."""
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    for magic, zh, en in _KNOWN_OTHERS:
        if stripped.startswith(magic):
            return zh, en
    return "无法识别的格式", "not a recognised format"


def extension_of(filename: str) -> str:
    """Lower-case extension without the dot ('' when there is none)."""
    base = filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    if "." not in base.strip("."):
        return ""
    return base.rsplit(".", 1)[-1].strip().lower()
