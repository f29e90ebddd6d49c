"""The vocabularies of documents: what a document is, what it hangs on, who may see it."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DocumentKind", "FileType", "SubjectType", "Visibility", "CITIZEN_KINDS"]


class DocumentKind(StrEnum):
    sale_ruling = "sale_ruling"  # 成交裁定书
    assistance_notice = "assistance_notice"  # 协助执行通知书
    tax_receipt = "tax_receipt"  # 完税凭证
    title_certificate = "title_certificate"  # 不动产权证书
    lot_photo = "lot_photo"  # 标的物照片
    announcement = "announcement"  # 拍卖公告
    pre_review_report = "pre_review_report"  # 联审报告
    id_copy = "id_copy"  # 身份证明
    contract = "contract"  # 合同
    evidence = "evidence"  # 证据材料（财产线索、拒执线索）
    other = "other"


# What a citizen (buyer, creditor) may upload themselves; the rest come from departments.
CITIZEN_KINDS: frozenset[DocumentKind] = frozenset(
    {DocumentKind.id_copy, DocumentKind.contract, DocumentKind.evidence, DocumentKind.other}
)


class SubjectType(StrEnum):
    """What a document is attached to (the id lives in another domain's table)."""

    transfer = "transfer"
    transfer_step = "transfer_step"
    lot = "lot"
    case = "case"
    work_item = "work_item"


class Visibility(StrEnum):
    owner = "owner"  # the owner, staff of the document's department, administrators
    department = "department"  # staff of the document's department, administrators
    public = "public"  # anyone, signed in or not


class FileType(StrEnum):
    """The only file types accepted, decided by content, never by name or browser-sent type."""

    pdf = "pdf"
    jpeg = "jpeg"
    png = "png"
