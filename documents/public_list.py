"""The public documents of a subject as one column of another domain's read: a correlated
subquery that yields them as a JSON array (text), and its decoder.

For pages that read a subject and its documents in one statement on a plain connection (the
public lot page): no ORM session, no second round trip. What it selects is what
:func:`documents.service.can_view` lets someone who is not signed in see (``public``
visibility), by id (upload order).
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import ColumnElement, Table, Text, cast, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from documents.kinds import SubjectType, Visibility
from documents.models import Document

__all__ = ["PublicDocumentRow", "decode_public_documents", "public_documents_json"]

_DOC: Table = Document.__table__  # type: ignore[assignment]


class PublicDocumentRow(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    kind: str
    name: str  # the sanitised original name
    content_type: str
    size: int
    has_thumbnail: bool


def public_documents_json(subject_type: SubjectType, subject_id: ColumnElement[Any], dialect: str) -> Any:
    """A scalar subquery (correlated on ``subject_id``): the subject's public documents as JSON text."""
    d = _DOC.alias("pub_doc")
    where = (d.c.subject_type == subject_type.value, d.c.subject_id == subject_id,
             d.c.visibility == Visibility.public.value)
    if dialect == "postgresql":
        obj = func.json_build_object("id", d.c.id, "kind", d.c.kind, "name", d.c.original_name,
                                     "content_type", d.c.content_type, "size", d.c.size,
                                     "has_thumbnail", d.c.thumbnail_key.is_not(None))
        agg = cast(func.json_agg(aggregate_order_by(obj, d.c.created_at, d.c.id)), Text)
        return select(func.coalesce(agg, literal("[]"))).where(*where).scalar_subquery()
    obj = func.json_object("id", d.c.id, "kind", d.c.kind, "name", d.c.original_name, "content_type",
                           d.c.content_type, "size", d.c.size, "has_thumbnail", d.c.thumbnail_key.is_not(None))
    return select(func.coalesce(func.json_group_array(func.json(obj)), literal("[]"))).where(*where) \
        .scalar_subquery()


_DECODER = msgspec.json.Decoder(list[PublicDocumentRow], strict=False)  # SQLite's booleans are 0/1


def decode_public_documents(value: str | bytes | None) -> list[PublicDocumentRow]:
    """The column's value as rows, oldest first (by id, which grows with each upload)."""
    return sorted(_DECODER.decode(value), key=lambda r: r.id) if value else []
