"""Bidders following a lot: who is told when its findings change or its result is in.

Also the indexes the public search leans on (declared here, beside the reads that need them,
so the listings' own model module stays the lots helper's; migration 0014_lotpub).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import BigInteger, ForeignKey, Index, String, Table, UniqueConstraint, delete, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from accounts.principal import Principal
from auction_listings.models import Lot
from storage.audit import record_audit
from storage.db import Base, utcnow

# Search: kind + status, sorted by the auction's start; status sorted by price (price ranges);
# city + kind + status by price (the commonest search: "flats in 绍兴市 under ¥2m, cheapest first";
# the COUNT is an index-only scan); and the default listing (open lots by auction date), a partial
# index whose order the LIMIT reads directly.
Index("ix_lot_kind_status_starts", Lot.asset_kind, Lot.status, Lot.bidding_starts_at)
Index("ix_lot_status_price", Lot.status, Lot.starting_price)
Index("ix_lot_city_kind_status_price", Lot.city, Lot.asset_kind, Lot.status, Lot.starting_price)
OPEN_WHERE = text("status IN ('announced', 'bidding')")
Index("ix_lot_open_starts", Lot.bidding_starts_at, Lot.id, postgresql_where=OPEN_WHERE, sqlite_where=OPEN_WHERE)
Index("ix_lot_open_city_kind_price", Lot.city, Lot.asset_kind, Lot.starting_price, Lot.id,
      postgresql_where=OPEN_WHERE, sqlite_where=OPEN_WHERE)
# One index in each sort order the search offers (migration 0016_lot_sort_indexes), over every
# lot: a broad search (all public lots, a status, a kind, a city) reads its page in that order
# and stops at the LIMIT, where it sorted every match before (100+ ms for all public lots).
Index("ix_lot_starts", Lot.bidding_starts_at, Lot.id)
_LOT = cast(Table, Lot.__table__)
Index("ix_lot_starts_desc", text("bidding_starts_at DESC NULLS LAST"), text("id DESC"), _table=_LOT)
Index("ix_lot_price", Lot.starting_price, Lot.id)
Index("ix_lot_kind_price", Lot.asset_kind, Lot.starting_price, Lot.id)  # the cheapest flats are not the cheapest lots
Index("ix_lot_newest", text("published_at DESC NULLS LAST"), text("id DESC"), _table=_LOT)


class LotFollow(Base):
    """A signed-in person follows a lot (in the language they followed it in: what they are told in)."""

    __tablename__ = "lot_follow"
    __table_args__ = (UniqueConstraint("user_id", "lot_id", name="uq_lot_follow_user_lot"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"))
    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lot.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(2), default="zh")


async def is_following(session: AsyncSession, user_id: int, lot_id: int) -> bool:
    stmt = select(LotFollow.id).where(LotFollow.user_id == user_id, LotFollow.lot_id == lot_id)
    return await session.scalar(stmt) is not None


async def follow(session: AsyncSession, who: Principal, lot_id: int, lot_no: str, language: str) -> bool:
    """Follow a lot (once, however often the button is pressed); True if this call started it."""
    values = {"user_id": who.user_id, "lot_id": lot_id, "language": language if language in ("zh", "en") else "zh"}
    bind = session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    stmt = (insert(LotFollow).values(**values, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["user_id", "lot_id"]).returning(LotFollow.id))
    new_id = await session.scalar(stmt)
    if new_id is None:
        return False
    record_audit(session, actor_id=who.user_id, actor_label=who.display_name, subject_type="lot", subject_id=lot_id,
                 action="lot.follow", after={"lot_no": lot_no})
    return True


async def unfollow(session: AsyncSession, who: Principal, lot_id: int, lot_no: str) -> bool:
    result = await session.execute(
        delete(LotFollow).where(LotFollow.user_id == who.user_id, LotFollow.lot_id == lot_id).returning(LotFollow.id))
    if result.first() is None:
        return False
    record_audit(session, actor_id=who.user_id, actor_label=who.display_name, subject_type="lot", subject_id=lot_id,
                 action="lot.unfollow", before={"lot_no": lot_no})
    return True


async def followers(session: AsyncSession, lot_id: int) -> list[tuple[int, str]]:
    """(user id, language) of everyone following the lot."""
    rows = await session.execute(select(LotFollow.user_id, LotFollow.language).where(LotFollow.lot_id == lot_id)
                                 .order_by(LotFollow.id))
    return [(int(uid), str(lang)) for uid, lang in rows.all()]


__all__ = ["LotFollow", "follow", "followers", "is_following", "unfollow"]
