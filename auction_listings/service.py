"""Use cases of a lot for the court's staff: enter, edit, and move it through its lifecycle.

draft → pre_review → announced → bidding → sold / unsold / withdrawn, and suspended (from
announced or bidding, resumed to where it was). An unsold lot is relisted as a new lot in the
next round, pointing at it, with the department findings carried over. Recording a sale is in
:mod:`auction_listings.sales`; the joint pre-review in :mod:`auction_listings.review`.

Each change leaves an audit row and publishes :class:`~auction_listings.events.LotChanged`
(and :class:`~auction_listings.events.LotResult` when a round ends); the lot's ``version``
rises with every UPDATE of its row (the mapper's version column), so a form sent against an
older version is told, and two staff acting at once cannot both win. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from accounts.models import User
from accounts.principal import Principal
from auction_listings import catalogue
from auction_listings.errors import (
    LotNotFound,
    LotRulesBroken,
    NotYourCourt,
    StaleLot,
    WrongStatus,
)
from auction_listings.events import LotChanged, LotResult, ReviewClosed, ReviewRequested
from auction_listings.models import CourtStaff, Finding, Lot, LotStatus, ReviewRequest, Round
from auction_listings.rules import LotInput, Previous, check, china_date, parse_form
from storage.audit import record_audit
from storage.db import utcnow
from storage.events import hub

SUBJECT = "lot"
# What staff may edit, per status (a sold lot, or one whose round ended, is history).
EDITABLE = frozenset({LotStatus.draft, LotStatus.pre_review, LotStatus.announced, LotStatus.suspended})
NEXT_ROUND = {Round.first.value: Round.second.value, Round.second.value: Round.fixed_price.value}
_FIELDS = tuple(f for f in LotInput.__struct_fields__)

__all__ = ["SUBJECT", "EDITABLE", "expect_version", "record_change", "snapshot", "wrong_status", "not_editable",
           "staff_court", "court_clerks", "assign_clerk", "lots_for", "unanswered_counts", "load_lot", "create_lot", "update_lot",
           "publish", "start_bidding", "suspend", "resume", "withdraw", "record_unsold", "touch", "lot_input",
           "previous_round", "save", "changed_event", "close_reviews", "assign_court"]


# --- who sees which lots -------------------------------------------------------------------------

async def staff_court(session: AsyncSession, who: Principal) -> str | None:
    """The court a member of the court's staff works at; None for an administrator (every court).

    Refuses court staff with no court assigned (they would otherwise see nothing and not know why).
    """
    if who.is_admin:
        return None
    code = await session.scalar(select(CourtStaff.court_code).where(CourtStaff.user_id == who.user_id))
    if code is None:
        raise NotYourCourt("您的账户尚未分配到法院,请联系系统管理员分配。",
                           "Your account is not assigned to a court yet: ask the administrator to assign it.")
    return code


async def assign_court(session: AsyncSession, user_id: int, court_code: str) -> None:
    """Set the court a member of the court's staff works at (administration, demo data)."""
    if catalogue.court(court_code) is None:
        raise ValueError(f"unknown court {court_code!r}")
    row = await session.scalar(select(CourtStaff).where(CourtStaff.user_id == user_id))
    if row is None:
        session.add(CourtStaff(user_id=user_id, court_code=court_code))
    else:
        row.court_code = court_code
    await session.flush()


async def court_clerks(session: AsyncSession) -> list[tuple[User, str | None]]:
    """Every active member of the court enforcement bureau, with the court they work at (if set)."""
    rows = (await session.execute(
        select(User, CourtStaff.court_code).outerjoin(CourtStaff, CourtStaff.user_id == User.id)
        .where(User.department == "court", User.role == "staff", User.is_active.is_(True))
        .order_by(User.display_name, User.id))).all()
    return [(user, code) for user, code in rows]


async def assign_clerk(session: AsyncSession, who: Principal, user_id: int, court_code: str) -> None:
    """An administrator sets a clerk's court; audited."""
    user = await session.get(User, user_id) if user_id else None
    if user is None or user.department != "court" or user.role != "staff":
        raise LotNotFound()
    if catalogue.court(court_code) is None:
        raise WrongStatus("请从列表中选择法院。", "Choose the court from the list.", field="court_code")
    before = await session.scalar(select(CourtStaff.court_code).where(CourtStaff.user_id == user_id))
    await assign_court(session, user_id, court_code)
    record_audit(session, actor_id=who.user_id, actor_label=who.label, subject_type="user", subject_id=user_id,
                 action="lot.assign_court", before={"court_code": before}, after={"court_code": court_code})


async def lots_for(session: AsyncSession, who: Principal, *, status: str | None = None, limit: int = 200) -> list[Lot]:
    """The lots of the caller's court (every court for an administrator), newest first."""
    court = await staff_court(session, who)
    stmt = select(Lot)
    if court is not None:
        stmt = stmt.where(Lot.court_code == court)
    if status and status in {s.value for s in LotStatus}:
        stmt = stmt.where(Lot.status == status)
    return list((await session.scalars(stmt.order_by(Lot.id.desc()).limit(limit))).all())


async def load_lot(session: AsyncSession, who: Principal, lot_no: str, *, for_update: bool = False) -> Lot:
    """A lot of the caller's court, fresh from the database; LotNotFound otherwise (another court's
    lot is not found either: staff see only their own)."""
    court = await staff_court(session, who)
    stmt = select(Lot).where(Lot.lot_no == (lot_no or "").strip()[:40]).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update()
    lot = await session.scalar(stmt)
    if lot is None or (court is not None and lot.court_code != court):
        raise LotNotFound(lot_no)
    return lot


async def unanswered_counts(session: AsyncSession, lot_ids: list[int]) -> dict[int, int]:
    """Per lot, how many departments asked have not answered yet (lots with none are left out)."""
    if not lot_ids:
        return {}
    rows = (await session.execute(
        select(ReviewRequest.lot_id, func.count()).where(ReviewRequest.lot_id.in_(lot_ids),
                                                         ReviewRequest.answered_at.is_(None))
        .group_by(ReviewRequest.lot_id))).all()
    return {int(lot_id): int(n) for lot_id, n in rows}


# --- entering and editing ------------------------------------------------------------------------

def lot_input(lot: Lot) -> LotInput:
    """The lot's current values as a form would send them (for re-checking and editing)."""
    return LotInput(**{name: getattr(lot, name) for name in _FIELDS})


async def previous_round(session: AsyncSession, lot: Lot) -> Previous | None:
    if lot.previous_lot_id is None:
        return None
    before = await session.get(Lot, lot.previous_lot_id)
    if before is None:
        return None
    return Previous(lot_no=before.lot_no, round=before.round, starting_price=Decimal(before.starting_price),
                    ended_at=before.closed_at or before.bidding_ends_at)


async def _next_lot_no(session: AsyncSession, court_code: str, year: int) -> str:
    prefix = f"ZJ-{court_code.removeprefix('浙')}-{year}-"
    last = await session.scalar(select(func.max(Lot.lot_no)).where(Lot.lot_no.like(prefix + "%")))
    number = int(last.rsplit("-", 1)[1]) + 1 if last and last.rsplit("-", 1)[1].isdigit() else 1
    return f"{prefix}{number:04d}"


def snapshot(lot: Lot) -> dict[str, Any]:
    out: dict[str, Any] = {"status": lot.status, "version": lot.version}
    for name in _FIELDS:
        value = getattr(lot, name)
        out[name] = value.isoformat() if isinstance(value, dt.date | dt.datetime) else (
            str(value) if isinstance(value, Decimal) else value)
    return out


def _apply(lot: Lot, data: LotInput) -> list[str]:
    """Copy the entered values onto the lot; the names of the fields that changed."""
    changed: list[str] = []
    for name in _FIELDS:
        if name in ("round",):  # set by relisting, never by the form
            continue
        value = getattr(data, name)
        if getattr(lot, name) != value:
            setattr(lot, name, value)
            changed.append(name)
    court = catalogue.court(lot.court_code)
    if court is not None:
        lot.court = court.name_zh
    return changed


async def save(session: AsyncSession, lot: Lot) -> None:
    """Flush the lot; a concurrent change of the same lot → StaleLot."""
    try:
        await session.flush()
    except StaleDataError:
        raise StaleLot() from None


def expect_version(lot: Lot, expected_version: int | None) -> None:
    if expected_version is not None and lot.version != expected_version:
        raise StaleLot()


async def close_reviews(session: AsyncSession, lot: Lot) -> None:
    """The round ended: the departments that have not answered have nothing left to answer."""
    pending = (await session.scalars(select(ReviewRequest).where(ReviewRequest.lot_id == lot.id,
                                                                 ReviewRequest.answered_at.is_(None)))).all()
    for req in pending:
        await hub.publish(session, ReviewClosed(request_id=req.id, lot_id=lot.id, lot_no=lot.lot_no,
                                                department=req.department, status=lot.status))


def changed_event(lot: Lot, action: str) -> LotChanged:
    return LotChanged(lot_id=lot.id, lot_no=lot.lot_no, version=lot.version, status=lot.status, action=action)


async def record_change(session: AsyncSession, who: Principal, lot: Lot, action: str, before: dict[str, Any] | None,
                  **after: Any) -> None:
    record_audit(session, actor_id=who.user_id, actor_label=who.label, subject_type=SUBJECT, subject_id=lot.id,
                 action=f"lot.{action}", before=before, after={"status": lot.status, "version": lot.version, **after})
    await hub.publish(session, changed_event(lot, action))


def _court_check(who_court: str | None, data: LotInput) -> None:
    if who_court is not None and data.court_code not in (None, who_court):
        court = catalogue.court(who_court)
        raise NotYourCourt(f"您只能登记本院({court.name_zh if court else who_court})的标的。",
                           f"You can only enter lots of your own court ({court.name_en if court else who_court}).")


async def create_lot(session: AsyncSession, who: Principal, form: dict[str, Any], *,
                     now: dt.datetime | None = None) -> Lot:
    """Enter a new lot (a draft). Every rule broken is refused at once (LotRulesBroken)."""
    now = now or utcnow()
    court = await staff_court(session, who)
    data, problems = parse_form(form)
    if court is not None and data.court_code is None:
        data.court_code = court
    _court_check(court, data)
    problems += check(data)
    if problems:
        raise LotRulesBroken(problems)
    assert data.court_code is not None
    for _attempt in range(3):
        lot = Lot(lot_no=await _next_lot_no(session, data.court_code, china_date(now).year), court="",
                  status=LotStatus.draft.value, round=Round.first.value, appraisal=Decimal(0),
                  starting_price=Decimal(0))
        _apply(lot, data)
        try:
            async with session.begin_nested():
                session.add(lot)
                await session.flush()
            break
        except IntegrityError:  # another clerk took the same number at the same moment
            continue
    else:  # pragma: no cover - three collisions in a row
        raise StaleLot()
    await record_change(session, who, lot, "create", None, lot_no=lot.lot_no)
    return lot


async def update_lot(session: AsyncSession, who: Principal, lot_no: str, form: dict[str, Any], *,
                     expected_version: int | None = None) -> Lot:
    """Edit a lot. Refused once its round ended (sold, unsold, withdrawn) or while bidding runs;
    after publication the announcement's rules must all hold."""
    lot = await load_lot(session, who, lot_no)
    if lot.status not in EDITABLE:
        raise not_editable(lot)
    expect_version(lot, expected_version)
    court = await staff_court(session, who)
    data, problems = parse_form(form)
    data.round = lot.round
    if data.court_code is None:
        data.court_code = lot.court_code
    _court_check(court, data)
    published = lot.published_at is not None
    problems += check(data, await previous_round(session, lot), complete=published,
                      announcing_on=lot.announced_on if published else None)
    if problems:
        raise LotRulesBroken(problems)
    before = snapshot(lot)
    changed = _apply(lot, data)
    if not changed:
        return lot
    await save(session, lot)
    await record_change(session, who, lot, "edit", before, changed=changed)
    return lot


def not_editable(lot: Lot) -> WrongStatus:
    if lot.status == LotStatus.sold:
        return WrongStatus("该标的已成交,不能再修改。如成交信息有误,请联系系统管理员更正。",
                           "This lot is sold and can no longer be edited. If the sale record is wrong, ask the "
                           "administrator to correct it.", status=lot.status)
    if lot.status == LotStatus.bidding:
        return WrongStatus("竞价进行中,不能修改标的。如需更正,请先中止拍卖。",
                           "Bidding is under way: the lot cannot be edited. Suspend the auction first to correct it.",
                           status=lot.status)
    return WrongStatus("该标的本轮已结束(流拍或撤回),不能再修改。", "This lot's round has ended (unsold or withdrawn): it "
                       "can no longer be edited.", status=lot.status)


# --- the lifecycle -------------------------------------------------------------------------------

_NAMES = {s.value: s for s in LotStatus}
STATUS_WORDS = {
    "draft": ("草稿", "draft"), "pre_review": ("联审中", "under pre-review"), "announced": ("已公告", "announced"),
    "bidding": ("竞价中", "bidding"), "sold": ("已成交", "sold"), "unsold": ("流拍", "unsold"),
    "withdrawn": ("已撤回", "withdrawn"), "suspended": ("已中止", "suspended"),
}


def wrong_status(lot: Lot, zh_action: str, en_action: str, *allowed: LotStatus) -> WrongStatus:
    now_zh, now_en = STATUS_WORDS[lot.status]
    ok_zh = "、".join(STATUS_WORDS[a.value][0] for a in allowed)
    ok_en = " or ".join(STATUS_WORDS[a.value][1] for a in allowed)
    return WrongStatus(f"标的当前为“{now_zh}”,不能{zh_action}(仅限{ok_zh}的标的)。",
                       f"The lot is {now_en}: it cannot be {en_action} (only a lot that is {ok_en}).",
                       status=lot.status)


async def publish(session: AsyncSession, who: Principal, lot_no: str, *, expected_version: int | None = None,
                  now: dt.datetime | None = None) -> Lot:
    """Announce the lot (公告): every announcement rule must hold from today; the findings given so
    far become public (later ones are published as they come, as new versions)."""
    now = now or utcnow()
    lot = await load_lot(session, who, lot_no)
    if lot.status not in (LotStatus.draft, LotStatus.pre_review):
        raise wrong_status(lot, "公告", "announced", LotStatus.draft, LotStatus.pre_review)
    expect_version(lot, expected_version)
    today = china_date(now)
    problems = check(lot_input(lot), await previous_round(session, lot), complete=True, announcing_on=today)
    if problems:
        raise LotRulesBroken(problems)
    before = snapshot(lot)
    lot.status = LotStatus.announced.value
    lot.announced_on = today
    lot.published_at = now
    await _publish_findings(session, lot)
    await save(session, lot)
    await record_change(session, who, lot, "publish", before)
    return lot


async def _publish_findings(session: AsyncSession, lot: Lot) -> None:
    latest = (await session.execute(
        select(Finding.department, func.max(Finding.version)).where(Finding.lot_id == lot.id)
        .group_by(Finding.department))).all()
    for department, version in latest:
        finding = await session.scalar(select(Finding).where(Finding.lot_id == lot.id, Finding.department == department,
                                                             Finding.version == version))
        if finding is not None:
            finding.public = True


async def start_bidding(session: AsyncSession, who: Principal, lot_no: str, *,
                        expected_version: int | None = None) -> Lot:
    lot = await load_lot(session, who, lot_no)
    if lot.status != LotStatus.announced:
        raise wrong_status(lot, "开始竞价", "opened for bidding", LotStatus.announced)
    expect_version(lot, expected_version)
    before = snapshot(lot)
    lot.status = LotStatus.bidding.value
    await save(session, lot)
    await record_change(session, who, lot, "start_bidding", before)
    return lot


def _reason(reason: str | None, what_zh: str, what_en: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise WrongStatus(f"请填写{what_zh}原因(将向竞买人公示)。", f"Give the reason for {what_en} (bidders will see it).",
                          field="reason")
    if len(text) > 1000:
        raise WrongStatus("原因最多 1000 个字。", "The reason may be at most 1000 characters.", field="reason")
    return text


async def suspend(session: AsyncSession, who: Principal, lot_no: str, reason: str | None, *,
                  expected_version: int | None = None) -> Lot:
    """Suspend (中止) an announced lot or its bidding, with a reason bidders see."""
    lot = await load_lot(session, who, lot_no)
    if lot.status not in (LotStatus.announced, LotStatus.bidding):
        raise wrong_status(lot, "中止", "suspended", LotStatus.announced, LotStatus.bidding)
    expect_version(lot, expected_version)
    text = _reason(reason, "中止", "suspending")
    before = snapshot(lot)
    lot.status_before_suspension = lot.status
    lot.status = LotStatus.suspended.value
    lot.status_reason = text
    await save(session, lot)
    await record_change(session, who, lot, "suspend", before, reason=text)
    return lot


async def resume(session: AsyncSession, who: Principal, lot_no: str, *, expected_version: int | None = None) -> Lot:
    lot = await load_lot(session, who, lot_no)
    if lot.status != LotStatus.suspended:
        raise wrong_status(lot, "恢复", "resumed", LotStatus.suspended)
    expect_version(lot, expected_version)
    before = snapshot(lot)
    lot.status = lot.status_before_suspension or LotStatus.announced.value
    lot.status_before_suspension = None
    lot.status_reason = None
    await save(session, lot)
    await record_change(session, who, lot, "resume", before)
    return lot


async def withdraw(session: AsyncSession, who: Principal, lot_no: str, reason: str | None, *,
                   expected_version: int | None = None, now: dt.datetime | None = None) -> Lot:
    """Withdraw (撤回) a lot for good, with a reason bidders see. Final."""
    now = now or utcnow()
    lot = await load_lot(session, who, lot_no)
    if lot.status in (LotStatus.sold, LotStatus.unsold, LotStatus.withdrawn):
        raise wrong_status(lot, "撤回", "withdrawn", LotStatus.draft, LotStatus.pre_review, LotStatus.announced,
                     LotStatus.bidding, LotStatus.suspended)
    expect_version(lot, expected_version)
    text = _reason(reason, "撤回", "withdrawing")
    before = snapshot(lot)
    lot.status = LotStatus.withdrawn.value
    lot.status_reason = text
    lot.status_before_suspension = None
    lot.closed_at = now
    await save(session, lot)
    await close_reviews(session, lot)
    await record_change(session, who, lot, "withdraw", before, reason=text)
    if lot.published_at is not None:
        await hub.publish(session, LotResult(lot_id=lot.id, lot_no=lot.lot_no, title=lot.title, status=lot.status,
                                             lot_version=lot.version))
    return lot


async def record_unsold(session: AsyncSession, who: Principal, lot_no: str, *, relist: bool = True,
                        expected_version: int | None = None, now: dt.datetime | None = None) -> tuple[Lot, Lot | None]:
    """The round ended without a sale (流拍). With ``relist``, the next round is created as a new lot
    (second round, then fixed-price sale) pointing at this one, its starting price at the lowest
    the rules allow (staff adjust it), the findings carried over; it starts under pre-review with
    every department's answer in place, ready to be checked and announced. Returns (lot, next)."""
    now = now or utcnow()
    lot = await load_lot(session, who, lot_no)
    if lot.status != LotStatus.bidding:
        raise wrong_status(lot, "登记流拍", "recorded as unsold", LotStatus.bidding)
    expect_version(lot, expected_version)
    next_round = NEXT_ROUND.get(lot.round) if relist else None
    if relist and next_round is None:
        raise WrongStatus("变卖未成交后不再转入下一轮(可依法以物抵债),请不勾选“转入下一轮”。",
                          "A fixed-price sale that did not sell has no next round (the asset may go to the creditor "
                          "in lieu of the debt): record it unsold without relisting.", status=lot.status)
    before = snapshot(lot)
    lot.status = LotStatus.unsold.value
    lot.closed_at = now
    await save(session, lot)
    await close_reviews(session, lot)
    following: Lot | None = None
    if next_round is not None:
        following = await _relist(session, lot, next_round, now)
    await record_change(session, who, lot, "unsold", before, next_lot_no=following.lot_no if following else None)
    await hub.publish(session, LotResult(lot_id=lot.id, lot_no=lot.lot_no, title=lot.title, status=lot.status,
                                         next_lot_no=following.lot_no if following else None,
                                         lot_version=lot.version))
    if following is not None:
        record_audit(session, actor_id=who.user_id, actor_label=who.label, subject_type=SUBJECT,
                     subject_id=following.id, action="lot.relisted", before=None,
                     after={"from": lot.lot_no, "round": following.round, "status": following.status})
    return lot, following


async def _relist(session: AsyncSession, lot: Lot, next_round: str, now: dt.datetime) -> Lot:
    r = catalogue.rules()
    start = Decimal(lot.starting_price)
    if next_round == Round.second:
        start = (start * (1 - r.second_round_max_reduction)).quantize(Decimal("0.01"))
    following = Lot(lot_no="", court="", appraisal=Decimal(0), starting_price=Decimal(0))
    for name in _FIELDS:
        setattr(following, name, getattr(lot, name))
    following.court = lot.court
    following.round = next_round
    following.starting_price = start
    following.deposit = (start * r.deposit_min_of_start * 2).quantize(Decimal("1")) if lot.deposit else None
    following.announced_on = following.bidding_starts_at = following.bidding_ends_at = None
    following.platform_url = None
    following.status = LotStatus.pre_review.value
    following.previous_lot_id = lot.id
    assert lot.court_code is not None
    for _attempt in range(3):
        following.lot_no = await _next_lot_no(session, lot.court_code, china_date(now).year)
        try:
            async with session.begin_nested():
                session.add(following)
                await session.flush()
            break
        except IntegrityError:
            continue
    # The departments' findings carry over: the same answers, signed as they were.
    requests = (await session.scalars(select(ReviewRequest).where(ReviewRequest.lot_id == lot.id))).all()
    copies = [ReviewRequest(lot_id=following.id, department=req.department, requested_at=req.requested_at,
                            requested_by_id=req.requested_by_id, answered_at=req.answered_at) for req in requests]
    session.add_all(copies)
    latest = (await session.execute(
        select(Finding.department, func.max(Finding.version)).where(Finding.lot_id == lot.id)
        .group_by(Finding.department))).all()
    for department, version in latest:
        f = await session.scalar(select(Finding).where(Finding.lot_id == lot.id, Finding.department == department,
                                                       Finding.version == version))
        if f is not None:
            session.add(Finding(lot_id=following.id, department=f.department, version=1, answers=dict(f.answers),
                                note=f.note, signed_by_id=f.signed_by_id, signed_by_name=f.signed_by_name,
                                signed_at=f.signed_at, public=False, after_publication=False, changed=None))
    await session.flush()
    for req in copies:  # departments that had not answered are asked again, about the new round
        if req.answered_at is None:
            await hub.publish(session, ReviewRequested(request_id=req.id, lot_id=following.id,
                                                       lot_no=following.lot_no, title=following.title,
                                                       department=req.department, asset_kind=following.asset_kind))
    return following


async def touch(session: AsyncSession, lot_id: int, action: str) -> Lot | None:
    """Something shown with the lot changed outside its row (a finding, a photo): raise its version."""
    lot = await session.get(Lot, lot_id, populate_existing=True)
    if lot is None:
        return None
    lot.updated_at = utcnow()
    await save(session, lot)
    await hub.publish(session, changed_event(lot, action))
    return lot


def status_name(status: str) -> LotStatus | None:
    return _NAMES.get(status)
