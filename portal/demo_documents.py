"""The demo transfer's documents as files: the sale ruling and the assistance notice.

Small one-page PDFs generated here (no fonts embedded: the text is plain ASCII, marked as a
demo) and stored through the documents package like any department's upload, so the tracking
page's download links work in the embedded run.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.principal import Principal
from documents import DocumentKind, Subject, SubjectType, upload
from documents.models import Document
from storage.objects.store import DocumentStore
from title_transfer.models import Transfer


def one_page_pdf(lines: list[str]) -> bytes:
    """A valid single-page PDF showing ``lines`` (ASCII) in Helvetica."""
    text = "\n".join(
        f"BT /F1 {16 if i == 0 else 11} Tf 56 {770 - i * 22} Td ({_escape(line)}) Tj ET" for i, line in enumerate(lines)
    ).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >>"
        b" /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length " + str(len(text)).encode() + b" >>\nstream\n" + text + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _escape(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


DEMO_FILES = (
    # step, kind, file name, lines
    ("ruling_served", DocumentKind.sale_ruling, "sale-ruling-2025-zhe0681-zhi1234.pdf", [
        "DEMO - Sale ruling (cheng jiao cai ding shu)",
        "Zhuji People's Court, case (2025) Zhe 0681 Zhi 1234",
        "Lot ZJ-0681-2026-0142: Flat 201, Building 3, 18 Wangyun Road, Jiyang Street, Zhuji",
        "Sold on 20 Nov 2026 for CNY 2,350,000.00 to the buyer of transfer ZT2026000001.",
        "Ownership passes when this ruling is served on the buyer.",
        "This file is demonstration data, not a court document.",
    ]),
    ("assistance_notice", DocumentKind.assistance_notice, "assistance-notice-2025-zhe0681-zhi1234.pdf", [
        "DEMO - Assistance notice (xie zhu zhi xing tong zhi shu)",
        "Zhuji People's Court, case (2025) Zhe 0681 Zhi 1234",
        "To: Zhuji real-estate registration centre; Zhuji tax bureau",
        "Please register the transfer of Flat 201, Building 3, 18 Wangyun Road to the buyer",
        "of transfer ZT2026000001 and assess the taxes of this judicial sale.",
        "This file is demonstration data, not a court document.",
    ]),
)


async def attach_demo_documents(session: AsyncSession, store: DocumentStore, transfer: Transfer,
                                court: Principal) -> list[str]:
    """Attach the demo files to their steps unless they are there already; a line per file attached."""
    created: list[str] = []
    steps = {s.key: s for s in transfer.steps}
    for key, kind, name, lines in DEMO_FILES:
        step = steps[key]
        exists = await session.scalar(select(Document.id).where(
            Document.subject_type == SubjectType.transfer_step.value, Document.subject_id == step.id,
            Document.kind == kind.value))
        if exists is not None:
            continue
        await upload(session, store, court, Subject(SubjectType.transfer_step, step.id), kind, name,
                     one_page_pdf(lines), visibility="owner", department="court")
        created.append(f"document {name}")
    return created
