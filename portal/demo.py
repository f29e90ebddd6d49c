"""Demo data for the embedded run: one account per role, two lots, two transfers.

Idempotent: everything is looked up by its natural key first, so a second run changes
nothing. Never loaded with PORTAL_ENV=production (and the portal refuses to start there
if demo accounts exist).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import Role, User
from accounts.passwords import hash_password
from accounts.principal import Principal
from auction_listings.models import Lot, Sale
from documents import DocumentStore
from portal.demo_lots import load_demo_lots
from portal.sales import confirmed_sale
from title_transfer import codes
from title_transfer.models import Transfer
from title_transfer.service import create_transfer, move_step

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - demo only, listed in the README

DEMO_USERS = [
    # email, display name, role, department
    ("buyer@demo.local", "张*明 (demo buyer)", Role.buyer, None),
    ("creditor@demo.local", "李*华 (demo creditor)", Role.creditor, None),
    ("court@demo.local", "法院执行局 王* (demo)", Role.staff, "court"),
    ("tax@demo.local", "税务局 陈* (demo)", Role.staff, "tax"),
    ("registry@demo.local", "不动产登记中心 刘* (demo)", Role.staff, "registry"),
    ("water@demo.local", "供水公司 赵* (demo)", Role.staff, "water"),
    ("electricity@demo.local", "供电公司 孙* (demo)", Role.staff, "electricity"),
    ("gas@demo.local", "燃气公司 周* (demo)", Role.staff, "gas"),
    ("vehicles@demo.local", "车管所 吴* (demo)", Role.staff, "vehicles"),
    ("admin@demo.local", "管理员 (demo)", Role.admin, None),
]

DEMO_TRANSFERS = {
    "ZT2026000001": "YJSZ2468",
    "ZT2026000002": "YJSC1357",
}


async def _user(session: AsyncSession, email: str, name: str, role: Role, dept: str | None, pw_hash: str) -> User:
    user = await session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, display_name=name, password_hash=pw_hash, role=role.value, department=dept,
                    is_demo=True)
        session.add(user)
        await session.flush()
    return user


async def _lot(session: AsyncSession, **fields: object) -> Lot:
    lot = await session.scalar(select(Lot).where(Lot.lot_no == fields["lot_no"]))
    if lot is None:
        lot = Lot(**fields)
        session.add(lot)
        await session.flush()
    return lot


async def load_demo_data(session: AsyncSession, secret: str, store: DocumentStore | None = None) -> list[str]:
    """Create what is missing; returns a line per thing created (empty when nothing was)."""
    created: list[str] = []
    pw_hash = hash_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for email, name, role, dept in DEMO_USERS:
        exists = await session.scalar(select(User.id).where(User.email == email))
        users[email] = await _user(session, email, name, role, dept, pw_hash)
        if exists is None:
            created.append(f"user {email}")
    buyer = users["buyer@demo.local"]

    house = await _lot(
        session, lot_no="ZJ-0681-2026-0142", title="诸暨市暨阳街道望云路18号3幢201室", asset_kind="real_estate",
        address="浙江省诸暨市暨阳街道望云路18号3幢201室", court="诸暨市人民法院", case_number="(2025)浙0681执1234号",
        platform_url=None, appraisal=Decimal("2600000"), starting_price=Decimal("1820000"),
        property_use="residential", area_m2=Decimal("89.50"), location="city", tax_clause="by_law",
        utility_arrears_clause="proceeds", seller_type="individual", seller_acquired_on=dt.date(2022, 3, 15),
        seller_purchase_price=Decimal("1900000"), seller_only_home=False, has_gas=True, status="sold",
    )
    car = await _lot(
        session, lot_no="ZJ-0105-2026-0077", title="2019年 大众帕萨特 浙A·D7X21", asset_kind="vehicle",
        address="杭州市拱墅区 法院车辆保管场", court="杭州市拱墅区人民法院", case_number="(2025)浙0105执567号",
        platform_url=None, appraisal=Decimal("98000"), starting_price=Decimal("68600"),
        property_use="non_residential", area_m2=Decimal("0"), location="city", tax_clause="by_law",
        utility_arrears_clause="proceeds", seller_type="individual", has_gas=False, status="sold",
    )

    court = Principal(users["court@demo.local"].id, "staff", "court demo", "court")
    tax = Principal(users["tax@demo.local"].id, "staff", "tax demo", "tax")
    power = Principal(users["electricity@demo.local"].id, "staff", "power demo", "electricity")
    gas = Principal(users["gas@demo.local"].id, "staff", "gas demo", "gas")

    for lot, price, no in ((house, Decimal("2350000"), "ZT2026000001"), (car, Decimal("81500"), "ZT2026000002")):
        sale = await session.scalar(select(Sale).where(Sale.lot_id == lot.id))
        if sale is None:
            sale = Sale(lot_id=lot.id, buyer_id=buyer.id, price=price, confirmed_on=dt.date(2026, 11, 20),
                        buyer_type="individual", buyer_homes="only_home")
            session.add(sale)
            await session.flush()
            await session.refresh(sale, ["lot"])
        seeded = await session.scalar(select(Transfer).where(Transfer.tracking_no == no))
        if seeded is not None and seeded.code_digest != codes.code_digest(secret, no, DEMO_TRANSFERS[no]):
            # Seeded under another secret (older checkouts used a public default; now var/secret):
            # the demo codes are public, so re-digest them rather than leave them broken.
            seeded.code_digest = codes.code_digest(secret, no, DEMO_TRANSFERS[no])
            created.append(f"code of {no} (new secret)")
        if seeded is None:
            new = await create_transfer(session, confirmed_sale(sale), secret=secret, tracking_no=no, code=DEMO_TRANSFERS[no])
            created.append(f"transfer {no}")
            t = new.transfer
            if lot is house:
                for key, who, action, extra in (
                    ("balance_paid", court, "complete", {"note": "尾款已到账 / balance received"}),
                    ("ruling_served", court, "complete", {"note": "电子送达 / served electronically"}),
                    ("assistance_notice", court, "complete", {}),
                    ("tax_assessment", tax, "start", {}),
                    ("electricity_handover", power, "complete", {}),
                    ("gas_handover", gas, "block", {"reason": "燃气表需入户安全检查,请致电燃气公司预约。"
                                                              " / The gas meter needs a safety check at home:"
                                                              " call the gas company to book one."}),
                    ("delivery", court, "start", {}),
                ):
                    step = next(s for s in t.steps if s.key == key)
                    await move_step(session, t, key, action, who, expected_revision=step.revision,
                                    note=extra.get("note"), reason=extra.get("reason"))
            else:
                step = next(s for s in t.steps if s.key == "balance_paid")
                await move_step(session, t, "balance_paid", "complete", court, expected_revision=step.revision)
    created += await load_demo_lots(session, users, store)  # lots in every state, findings, photos
    return created
