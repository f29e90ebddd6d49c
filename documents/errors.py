"""Typed errors for documents, each with a message in Chinese and English that says what to fix.

They belong to the one bilingual error family (:class:`storage.errors.BilingualError`):
the web kernel's exception handler turns them into responses with ``status_code``; the bot
and the JSON API show :meth:`DocumentError.message` in the citizen's language. The object
store's own errors (``StorageUnavailable``, ``ObjectNotFound``, ``InvalidObjectKey``) live with
the stores in :mod:`storage.objects` and are re-exported here.
"""

from __future__ import annotations

from typing import Any

from storage.errors import BilingualError
from storage.objects.errors import InvalidObjectKey, ObjectNotFound, StorageUnavailable

__all__ = [
    "AccessDenied",
    "DocumentError",
    "DocumentNotFound",
    "EmptyFile",
    "ExtensionMismatch",
    "FileTooLarge",
    "ImageTooLarge",
    "InvalidObjectKey",
    "InvalidUpload",
    "ObjectNotFound",
    "QuotaExceeded",
    "StorageUnavailable",
    "SubjectNotFound",
    "TypeNotAllowedForKind",
    "UnreadableImage",
    "UnsupportedFileType",
]


def _mb(size: int) -> str:
    value = size / (1024 * 1024)
    return f"{value:.1f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"


class DocumentError(BilingualError):
    """Base class: a problem the person uploading or downloading can act on."""

    code = "document_error"
    status_code = 400

    def __init__(self, zh: str, en: str, **details: Any) -> None:
        super().__init__(zh, en, **details)


class FileTooLarge(DocumentError):
    code = "file_too_large"
    status_code = 413

    def __init__(self, *, size: int, limit: int, kind_zh: str, kind_en: str) -> None:
        super().__init__(
            f"文件太大：{kind_zh}最大 {_mb(limit)} MB，这个文件有 {_mb(size)} MB。请压缩、降低扫描分辨率或分成几个文件上传。",
            f"File too large: a {kind_en} may be at most {_mb(limit)} MB and this file is {_mb(size)} MB. "
            "Compress it, scan at a lower resolution, or split it into several files.",
            size=size,
            limit=limit,
        )


class EmptyFile(DocumentError):
    code = "empty_file"

    def __init__(self) -> None:
        super().__init__(
            "文件是空的（0 字节）。请重新选择文件；如果是手机拍照，请等照片保存完成后再上传。",
            "The file is empty (0 bytes). Choose the file again; if it is a photo, wait until it is saved.",
        )


class UnsupportedFileType(DocumentError):
    code = "unsupported_file_type"
    status_code = 415

    def __init__(self, *, looks_like_zh: str, looks_like_en: str) -> None:
        super().__init__(
            f"只接受 PDF、JPEG 或 PNG 文件，这个文件的内容是{looks_like_zh}。请另存为 PDF 或拍照/扫描为 JPEG、PNG 后上传。",
            f"Only PDF, JPEG or PNG files are accepted; this file's content is {looks_like_en}. "
            "Save it as PDF, or photograph/scan it as JPEG or PNG, and upload that.",
            looks_like=looks_like_en,
        )


class TypeNotAllowedForKind(DocumentError):
    code = "type_not_allowed_for_kind"
    status_code = 415

    def __init__(self, *, actual: str, actual_zh: str, allowed: list[str], kind_zh: str, kind_en: str) -> None:
        super().__init__(
            f"{kind_zh}只接受 {'、'.join(allowed)} 格式，这个文件是{actual_zh}。请转换格式后再上传。",
            f"A {kind_en} must be {' or '.join(allowed)}; this file is {actual}. Convert it and upload again.",
            actual=actual,
            allowed=allowed,
        )


class ExtensionMismatch(DocumentError):
    code = "extension_mismatch"
    status_code = 415

    def __init__(self, *, extension: str, actual: str, actual_zh: str, expected_extensions: list[str]) -> None:
        expected = " 或 ".join(f".{e}" for e in expected_extensions)
        expected_en = " or ".join(f".{e}" for e in expected_extensions)
        if extension:
            zh = (
                f"文件名后缀 .{extension} 与文件内容（{actual_zh}）不符。"
                f"请把文件名改为以 {expected} 结尾，或上传真正的 .{extension} 文件。"
            )
            en = (
                f"The file name ends in .{extension} but the content is {actual}. "
                f"Rename it to end in {expected_en}, or upload a real .{extension} file."
            )
        else:
            zh = f"文件名没有后缀，内容是{actual_zh}。请把文件名改为以 {expected} 结尾后再上传。"
            en = f"The file name has no extension and the content is {actual}. Rename it to end in {expected_en}."
        super().__init__(zh, en, extension=extension, actual=actual)


class UnreadableImage(DocumentError):
    code = "unreadable_image"
    status_code = 415

    def __init__(self) -> None:
        super().__init__(
            "图片文件已损坏或不完整，无法打开。请重新导出或重新拍照后上传。",
            "The image is damaged or incomplete and cannot be opened. Export or photograph it again and upload that.",
        )


class ImageTooLarge(DocumentError):
    code = "image_too_large"
    status_code = 413

    def __init__(self, *, max_pixels: int, width: int | None = None, height: int | None = None) -> None:
        limit = max_pixels // 1_000_000
        if width and height:
            zh = f"图片尺寸太大（{width}×{height} 像素，上限约 {limit} 百万像素）。请缩小图片后上传。"
            en = f"The image is too large ({width}×{height} pixels; the limit is about {limit} megapixels). "
        else:
            zh = f"图片尺寸太大（上限约 {limit} 百万像素）。请缩小图片后上传。"
            en = f"The image is too large (the limit is about {limit} megapixels). "
        super().__init__(zh, en + "Resize it and upload again.", width=width, height=height)


class QuotaExceeded(DocumentError):
    code = "quota_exceeded"
    status_code = 413

    def __init__(self, *, used: int, size: int, quota: int) -> None:
        super().__init__(
            f"您的上传空间不足：已用 {_mb(used)} MB，上限 {_mb(quota)} MB，这个文件 {_mb(size)} MB。"
            "请删除不再需要的文件，或联系办理部门。",
            f"Not enough upload space: you have used {_mb(used)} MB of {_mb(quota)} MB and this file is "
            f"{_mb(size)} MB. Delete files you no longer need, or contact the department handling your case.",
            used=used,
            size=size,
            quota=quota,
        )


class InvalidUpload(DocumentError):
    """The request itself is wrong: unknown kind, missing department, not allowed to attach here…"""

    code = "invalid_upload"

    def __init__(self, zh: str, en: str, **details: Any) -> None:
        super().__init__(zh, en, **details)


class AccessDenied(DocumentError):
    code = "access_denied"
    status_code = 403

    def __init__(self, zh: str = "您无权进行此操作。", en: str = "You are not allowed to do this.") -> None:
        super().__init__(zh, en)


class DocumentNotFound(DocumentError):
    code = "document_not_found"
    status_code = 404

    def __init__(self) -> None:
        super().__init__(
            "找不到这个文件，或者您无权查看。如果您有账号，请先登录。",
            "This document does not exist or you may not see it. If you have an account, sign in first.",
        )


class SubjectNotFound(DocumentError):
    code = "subject_not_found"
    status_code = 404

    def __init__(self) -> None:
        super().__init__(
            "找不到要添加文件的事项。请从事项页面重新上传。",
            "The item to attach the document to does not exist. Upload again from the item's page.",
        )
