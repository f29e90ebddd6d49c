"""The joint pre-review (联审): one request, one queue item per department, a signed structured
finding from each; a change after publication is a new version and followers are told.

* :func:`request_review` asks every department the lot's kind needs (catalogue data) and
  publishes :class:`ReviewRequested` per department; the composition root opens the queue item.
* :func:`answer` records a department's finding (its areas' fields, typed and checked), signed
  with the member of staff, their department and the time; it publishes
  :class:`ReviewAnswered` (the queue item is done) and, after publication, :class:`FindingChanged`.
* A department that was not asked may not answer (:class:`ReviewRefused`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.departments import DEPARTMENT_NAMES, Department
from accounts.principal import Principal
from auction_listings import catalogue
from auction_listings.errors import FindingInvalid, LotNotFound, ReviewRefused
from auction_listings.events import FindingChanged, ReviewAnswered, ReviewClosed, ReviewRequested
from auction_listings.models import PUBLIC_STATUSES, Finding, Lot, LotStatus, ReviewRequest
from auction_listings.service import (
    SUBJECT,
    expect_version,
    load_lot,
    record_change,
    save,
    snapshot,
    touch,
    wrong_status,
)
from storage.audit import record_audit
from storage.db import utcnow
from storage.events import hub

# The queue's kind for one department's part of a review (data/kinds.toml, the back office's format),
# registered with the queue by the composition root.
KINDS_FILE = Path(__file__).parent / "data" / "kinds.toml"

# A finding may be given or changed until the lot's round ends.
OPEN_FOR_FINDINGS = frozenset({LotStatus.draft, LotStatus.pre_review, LotStatus.announced, LotStatus.bidding,
                               LotStatus.suspended})
MAX_NOTE = 2000
MAX_TEXT = 200

__all__ = ["request_review", "answer", "answer_for", "review_target", "parse_answers", "complete_from_queue",
           "ReviewTarget", "OPEN_FOR_FINDINGS", "request_facts"]


async def request_review(session: AsyncSession, who: Principal, lot_no: str, *, expected_version: int | None = None,
                         now: dt.datetime | None = None) -> list[ReviewRequest]:
    """Ask every department the lot needs (those not asked yet). A draft goes to pre-review."""
    now = now or utcnow()
    lot = await load_lot(session, who, lot_no)
    if lot.status not in (LotStatus.draft, LotStatus.pre_review):
        raise wrong_status(lot, "发起联审", "sent for pre-review", LotStatus.draft, LotStatus.pre_review)
    expect_version(lot, expected_version)
    asked = set((await session.scalars(select(ReviewRequest.department).where(ReviewRequest.lot_id == lot.id))).all())
    new = [ReviewRequest(lot_id=lot.id, department=d, requested_at=now, requested_by_id=who.user_id)
           for d in catalogue.departments_for(lot.asset_kind) if d not in asked]
    before = snapshot(lot)
    session.add_all(new)
    lot.status = LotStatus.pre_review.value
    await save(session, lot)
    for req in new:
        await hub.publish(session, ReviewRequested(request_id=req.id, lot_id=lot.id, lot_no=lot.lot_no,
                                                   title=lot.title, department=req.department,
                                                   asset_kind=lot.asset_kind))
    await record_change(session, who, lot, "request_review", before, departments=[r.department for r in new])
    return new


class ReviewTarget:
    """A department's pre-review of one lot, as its form needs it."""

    def __init__(self, lot: Lot, request: ReviewRequest, latest: Finding | None) -> None:
        self.lot = lot
        self.request = request
        self.latest = latest
        self.areas = catalogue.areas_for(request.department, lot.asset_kind)

    @property
    def department(self) -> str:
        return self.request.department

    @property
    def open(self) -> bool:
        return self.lot.status in OPEN_FOR_FINDINGS


def _not_asked(lot_no: str, department: str) -> ReviewRefused:
    zh, en = DEPARTMENT_NAMES.get(Department(department), (department, department)) \
        if department in Department.__members__ else (department, department)
    return ReviewRefused(f"标的 {lot_no} 未请{zh}联审,不能提交联审意见。",
                         f"The {en} was not asked to pre-review lot {lot_no}: no finding can be given for it.",
                         department=department)


async def review_target(session: AsyncSession, who: Principal, lot_no: str, department: str) -> ReviewTarget:
    """The request of ``department`` for the lot, if the caller works for that department."""
    if department not in Department.__members__:
        raise LotNotFound(lot_no)
    if not who.works_for(department):
        raise ReviewRefused("只有被请求联审的部门本身才能填写其联审意见。",
                            "Only the department asked can give its own finding.", department=department)
    lot = await session.scalar(select(Lot).where(Lot.lot_no == (lot_no or "").strip()[:40])
                               .execution_options(populate_existing=True))
    if lot is None:
        raise LotNotFound(lot_no)
    request = await session.scalar(select(ReviewRequest).where(ReviewRequest.lot_id == lot.id,
                                                               ReviewRequest.department == department))
    if request is None:
        raise _not_asked(lot.lot_no, department)
    latest = await session.scalar(select(Finding).where(Finding.lot_id == lot.id, Finding.department == department)
                                  .order_by(Finding.version.desc()).limit(1))
    return ReviewTarget(lot, request, latest)


def parse_answers(areas: list[tuple[str, catalogue.Area]], form: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The form's ``<area>.<field>`` values → typed answers; FindingInvalid with every field to fix."""
    answers: dict[str, dict[str, Any]] = {}
    problems: dict[str, dict[str, str]] = {}
    for key, area in areas:
        values: dict[str, Any] = {}
        for field in area.fields:
            name = f"{key}.{field.key}"
            raw = str(form.get(name) or "").strip()
            if not raw:
                if field.type == "yes_no":
                    problems[name] = {"zh": f"请选择“{field.label_zh}”。", "en": f"Answer “{field.label_en}”."}
                elif not field.optional:
                    problems[name] = {"zh": f"请填写“{field.label_zh}”(没有请填 0)。" if field.type in ("money", "number")
                                      else f"请填写“{field.label_zh}”。",
                                      "en": f"Fill in “{field.label_en}” (0 if none)." if field.type in ("money", "number")
                                      else f"Fill in “{field.label_en}”."}
                else:
                    values[field.key] = None
                continue
            value: Any = raw
            if field.type == "yes_no":
                if raw not in ("yes", "no"):
                    problems[name] = {"zh": "请选择“是”或“否”。", "en": "Choose yes or no."}
                    continue
                value = raw == "yes"
            elif field.type == "choice":
                if raw not in {o[0] for o in field.options}:
                    problems[name] = {"zh": "请从列表中选择。", "en": "Choose from the list."}
                    continue
            elif field.type in ("money", "number"):
                try:
                    number = Decimal(raw.replace(",", ""))
                except InvalidOperation:
                    number = Decimal("NaN")
                if not number.is_finite() or number < 0 or number >= Decimal("1e13") or (
                        field.type == "money" and number != number.quantize(Decimal("0.01"))):
                    problems[name] = {"zh": "请填写不小于 0 的数字,如 1200 或 1200.50。",
                                      "en": "Give a number of 0 or more, e.g. 1200 or 1200.50."}
                    continue
                value = str(number) if field.type == "money" else (int(number) if number == number.to_integral()
                                                                   else str(number))
            elif field.type == "date":
                try:
                    value = dt.date.fromisoformat(raw).isoformat()
                except ValueError:
                    problems[name] = {"zh": "请按 2026-12-01 的格式填写日期。", "en": "Give a date such as 2026-12-01."}
                    continue
            else:
                limit = MAX_NOTE if field.type == "note" else MAX_TEXT
                if len(raw) > limit:
                    problems[name] = {"zh": f"最多 {limit} 个字。", "en": f"At most {limit} characters."}
                    continue
            values[field.key] = value
        answers[key] = values
    note = str(form.get("note") or "").strip() or None
    if note and len(note) > MAX_NOTE:
        problems["note"] = {"zh": f"说明最多 {MAX_NOTE} 个字。", "en": f"The note may be at most {MAX_NOTE} characters."}
    if problems:
        raise FindingInvalid(problems)
    return answers, note


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for area in sorted(set(old) | set(new)):
        before, after = old.get(area) or {}, new.get(area) or {}
        for field in sorted(set(before) | set(after)):
            if before.get(field) != after.get(field):
                keys.append(f"{area}.{field}")
    return keys


async def answer(session: AsyncSession, who: Principal, lot_no: str, department: str, form: dict[str, Any], *,
                 now: dt.datetime | None = None) -> Finding:
    """Record the department's signed finding (a new version when it already answered)."""
    now = now or utcnow()
    target = await review_target(session, who, lot_no, department)
    lot = target.lot
    if not target.open:
        raise wrong_status(lot, "提交联审意见", "given a finding", *sorted(OPEN_FOR_FINDINGS, key=list(LotStatus).index))
    answers, note = parse_answers(target.areas, form)
    latest = target.latest
    if latest is not None and latest.answers == answers and (latest.note or None) == note:
        return latest  # the same answer sent again: nothing changed, nothing to sign twice
    published = lot.published_at is not None and lot.status in PUBLIC_STATUSES
    version = (latest.version + 1) if latest else 1
    changed = _differences(latest.answers if latest else {}, answers) if latest else []
    if latest is not None and (latest.note or None) != note:
        changed.append("note")
    finding = Finding(lot_id=lot.id, department=department, version=version, answers=answers, note=note,
                      signed_by_id=who.user_id, signed_by_name=who.display_name, signed_at=now, public=published,
                      after_publication=published, changed=changed or None)
    session.add(finding)
    target.request.answered_at = target.request.answered_at or now
    await session.flush()
    record_audit(session, actor_id=who.user_id, actor_label=who.label, subject_type=SUBJECT, subject_id=lot.id,
                 action="lot.finding", before={"version": latest.version} if latest else None,
                 after={"department": department, "version": version, "changed": changed, "public": published})
    await hub.publish(session, ReviewAnswered(request_id=target.request.id, lot_id=lot.id, lot_no=lot.lot_no,
                                              department=department, finding_id=finding.id, version=version))
    if published:
        touched = await touch(session, lot.id, "finding")
        if latest is not None and touched is not None:
            await hub.publish(session, FindingChanged(
                lot_id=lot.id, lot_no=lot.lot_no, title=lot.title, department=department, version=version,
                previous_version=latest.version, changed=changed, signed_by_name=who.display_name,
                lot_version=touched.version))
    return finding


async def answer_for(session: AsyncSession, who: Principal, lot_no: str, form: dict[str, Any], *,
                     now: dt.datetime | None = None) -> Finding:
    """The caller's own department answers (the JSON API's and the bot's way in)."""
    if not who.department:
        raise ReviewRefused("只有部门工作人员才能提交联审意见。", "Only a department's staff can give a finding.")
    return await answer(session, who, lot_no, who.department, form, now=now)


async def complete_from_queue(session: AsyncSession, request_id: int, who: Principal) -> None:
    """Completing the queue item directly: allowed only once the finding is signed (the form does
    that and closes the item itself)."""
    req = await session.get(ReviewRequest, request_id)
    if req is None:
        return
    if req.answered_at is None:
        lot = await session.get(Lot, req.lot_id)
        no = lot.lot_no if lot else ""
        raise ReviewRefused(f"请先在“填写联审意见”页面填写并签署标的 {no} 的联审意见,提交后本事项自动办结。",
                            f"Fill in and sign the finding for lot {no} on its pre-review form first; signing it "
                            "completes this item.")


async def request_facts(session: AsyncSession, request_id: int) -> dict[str, Any] | None:
    """What the queue shows of a request: the lot's number, title, kind, court and address."""
    row = (await session.execute(
        select(Lot.lot_no, Lot.title, Lot.asset_kind, Lot.court, Lot.address, ReviewRequest.department)
        .join(ReviewRequest, ReviewRequest.lot_id == Lot.id).where(ReviewRequest.id == request_id))).first()
    if row is None:
        return None
    return {"lot_no": row[0], "title": row[1], "asset_kind": row[2], "court": row[3], "address": row[4],
            "department": row[5]}


async def finding_count(session: AsyncSession, lot_id: int) -> int:
    return int(await session.scalar(select(func.count()).select_from(Finding).where(Finding.lot_id == lot_id)) or 0)


async def pending_requests(session: AsyncSession, *, exclude: set[int] | None = None) -> list[ReviewRequested]:
    """Unanswered requests of lots still open for findings (for re-opening queue items an event missed)."""
    rows = (await session.execute(
        select(ReviewRequest.id, ReviewRequest.department, Lot.id, Lot.lot_no, Lot.title, Lot.asset_kind)
        .join(Lot, Lot.id == ReviewRequest.lot_id)
        .where(ReviewRequest.answered_at.is_(None), Lot.status.in_([s.value for s in OPEN_FOR_FINDINGS]))
        .order_by(ReviewRequest.id))).all()
    skip = exclude or set()
    return [ReviewRequested(request_id=r[0], department=r[1], lot_id=r[2], lot_no=r[3], title=r[4], asset_kind=r[5])
            for r in rows if r[0] not in skip]


async def settled_requests(session: AsyncSession, request_ids: list[int]) -> list[ReviewAnswered | ReviewClosed]:
    """Of these requests, those answered (or whose lot's round ended): their queue items are done."""
    if not request_ids:
        return []
    rows = (await session.execute(
        select(ReviewRequest.id, ReviewRequest.department, ReviewRequest.answered_at, Lot.id, Lot.lot_no, Lot.status)
        .join(Lot, Lot.id == ReviewRequest.lot_id).where(ReviewRequest.id.in_(request_ids[:5000])))).all()
    out: list[ReviewAnswered | ReviewClosed] = []
    for req_id, dept, answered_at, lot_id, lot_no, status in rows:
        if answered_at is None and status in OPEN_FOR_FINDINGS:
            continue
        if answered_at is None:
            out.append(ReviewClosed(request_id=req_id, lot_id=lot_id, lot_no=lot_no, department=dept, status=status))
            continue
        latest = await session.scalar(select(Finding).where(Finding.lot_id == lot_id, Finding.department == dept)
                                      .order_by(Finding.version.desc()).limit(1))
        out.append(ReviewAnswered(request_id=req_id, lot_id=lot_id, lot_no=lot_no, department=dept,
                                  finding_id=latest.id if latest else 0, version=latest.version if latest else 0))
    return out
