"""Recording a sale: price, buyer (their account), time. Once per lot.

The ``sale`` table's unique key on ``lot_id`` is what makes it once: two staff recording the
same lot at the same moment both insert, the database keeps one, the other is told the sale
is already recorded (409, :class:`AlreadySold`) and nothing of theirs is written. The
:class:`SaleRecorded` event is published in the winning transaction; the composition root opens
the buyer's title transfer there (tracking number and verification code), so the sale and its
transfer commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import Role, User
from accounts.principal import Principal
from auction_listings.errors import AlreadySold, LotRulesBroken
from auction_listings.events import LotResult, SaleRecorded
from auction_listings.models import LotStatus, Sale
from auction_listings.rules import CHINA, Violation, china_date
from auction_listings.service import (
    close_reviews,
    expect_version,
    load_lot,
    record_change,
    save,
    snapshot,
    wrong_status,
)
from storage.events import hub

HOME_COUNTS = ("only_home", "second_home", "other")
PARTIES = ("individual", "company")

__all__ = ["SaleInput", "parse_sale", "record_sale", "note_transfer", "sale_for_transfer", "SaleReceipt"]


class SaleInput(msgspec.Struct, kw_only=True):
    price: Decimal
    buyer: User
    sold_at: dt.datetime
    buyer_type: str = "individual"
    buyer_homes: str = "only_home"


class SaleReceipt(msgspec.Struct, kw_only=True):
    """What the recording clerk is shown once: the transfer's number and its verification code
    (filled in by whoever opens the transfer, in the same transaction)."""

    tracking_no: str | None = None
    code: str | None = None


async def parse_sale(session: AsyncSession, form: dict[str, Any], *, now: dt.datetime) -> SaleInput:
    """The sale form → values; every problem at once (LotRulesBroken, one message per field)."""
    out: list[Violation] = []
    raw_price = str(form.get("price") or "").replace(",", "").replace("¥", "").strip()
    price: Decimal | None = None
    try:
        price = Decimal(raw_price) if raw_price else None
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price <= 0 or price >= Decimal("1e13") \
            or price != price.quantize(Decimal("0.01")):
        out.append(Violation("price", "number", "请填写成交价(元),如 2350000。", "Give the sale price in yuan, e.g. 2350000."))
        price = None
    contact = str(form.get("buyer") or "").strip().lower()[:254]
    buyer: User | None = None
    if not contact:
        out.append(Violation("buyer", "required", "请填写买受人账户的邮箱或手机号。",
                             "Give the buyer's account e-mail or mobile number."))
    else:
        buyer = await session.scalar(select(User).where(
            (func.lower(User.email) == contact) | (User.phone == contact), User.is_active.is_(True)))
        if buyer is None or buyer.role not in (Role.buyer, Role.creditor):
            out.append(Violation("buyer", "unknown_buyer",
                                 "找不到该买受人账户:请买受人先在本平台注册,再填写其注册邮箱或手机号。",
                                 "No buyer account has that e-mail or number: ask the buyer to register on the portal "
                                 "first, then give the e-mail or number they registered with."))
            buyer = None
    raw_at = str(form.get("sold_at") or "").strip().replace(" ", "T")
    sold_at = now
    if raw_at:
        try:
            parsed = dt.datetime.fromisoformat(raw_at)
            if not 2000 <= parsed.year <= 2100:
                raise ValueError(raw_at)
            sold_at = (parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA)).astimezone(dt.UTC)
        except ValueError:
            out.append(Violation("sold_at", "datetime", "成交时间请按 2026-12-01 10:00 的格式填写(北京时间)。",
                                 "Give the time of sale as e.g. 2026-12-01 10:00 (China time)."))
    if sold_at > now + dt.timedelta(minutes=5):
        out.append(Violation("sold_at", "future", "成交时间不能晚于现在。", "The time of sale cannot be in the future."))
    buyer_type = str(form.get("buyer_type") or "individual")
    buyer_homes = str(form.get("buyer_homes") or "only_home")
    if buyer_type not in PARTIES:
        out.append(Violation("buyer_type", "choice", "请从列表中选择买受人类型。", "Choose the buyer type from the list."))
    if buyer_homes not in HOME_COUNTS:
        out.append(Violation("buyer_homes", "choice", "请从列表中选择买受人家庭住房情况。",
                             "Choose the buyer's home count from the list."))
    if out:
        raise LotRulesBroken(out)
    assert price is not None and buyer is not None
    return SaleInput(price=price, buyer=buyer, sold_at=sold_at, buyer_type=buyer_type, buyer_homes=buyer_homes)


async def record_sale(session: AsyncSession, who: Principal, lot_no: str, form: dict[str, Any], *,
                      expected_version: int | None = None, now: dt.datetime | None = None) -> tuple[Sale, SaleReceipt]:
    """Record the sale of a lot under bidding; its transfer is opened in the same transaction."""
    now = now or dt.datetime.now(dt.UTC)
    lot = await load_lot(session, who, lot_no)
    if lot.status == LotStatus.sold:
        raise AlreadySold(lot.lot_no, await session.scalar(select(Sale.tracking_no).where(Sale.lot_id == lot.id)))
    if lot.status != LotStatus.bidding:
        raise wrong_status(lot, "登记成交", "recorded as sold", LotStatus.bidding)
    expect_version(lot, expected_version)
    data = await parse_sale(session, form, now=now)
    if data.price < Decimal(lot.starting_price):
        raise LotRulesBroken([Violation("price", "below_start",
                                        f"成交价不得低于起拍价 ¥{Decimal(lot.starting_price):,.2f}。",
                                        f"The sale price cannot be below the starting price "
                                        f"¥{Decimal(lot.starting_price):,.2f}.")])
    sale = Sale(lot_id=lot.id, buyer_id=data.buyer.id, price=data.price, confirmed_on=china_date(data.sold_at),
                buyer_type=data.buyer_type, buyer_homes=data.buyer_homes, sold_at=data.sold_at,
                recorded_by_id=who.user_id)
    try:
        async with session.begin_nested():
            session.add(sale)
            await session.flush()
    except IntegrityError:  # the other clerk's sale is in: theirs stands, this one is refused whole
        raise AlreadySold(lot.lot_no) from None
    before = snapshot(lot)
    lot.status = LotStatus.sold.value
    lot.closed_at = now
    await save(session, lot)
    await close_reviews(session, lot)
    sale.lot = lot
    receipt = SaleReceipt()
    await hub.publish(session, SaleRecorded(sale_id=sale.id, lot_id=lot.id, lot_no=lot.lot_no, buyer_id=sale.buyer_id,
                                            price=data.price, sold_at=data.sold_at))
    tracking = await session.scalar(select(Sale.tracking_no).where(Sale.id == sale.id))
    receipt.tracking_no = tracking
    receipt.code = _codes.pop(sale.id, None)
    await record_change(session, who, lot, "sold", before, price=str(data.price), buyer_id=data.buyer.id,
                  sold_at=data.sold_at.isoformat(), tracking_no=tracking)
    await hub.publish(session, LotResult(lot_id=lot.id, lot_no=lot.lot_no, title=lot.title, status=lot.status,
                                         price=data.price, lot_version=lot.version))
    return sale, receipt


# The code of a transfer just opened, handed from the opener to record_sale within one call
# (never stored: only its digest is, by the transfer).
_codes: dict[int, str] = {}


async def note_transfer(session: AsyncSession, sale_id: int, tracking_no: str, code: str | None = None) -> None:
    """The transfer opened for a sale: keep its number beside the sale; its code goes to the clerk once."""
    await session.execute(update(Sale).where(Sale.id == sale_id).values(tracking_no=tracking_no))
    if code is not None:
        _codes[sale_id] = code


async def sale_for_transfer(session: AsyncSession, sale_id: int) -> Sale | None:
    """The sale with its lot (for the composition root to hand to the title transfer as a value)."""
    return await session.scalar(select(Sale).where(Sale.id == sale_id).execution_options(populate_existing=True))
