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
from cases.payouts_demo import seed_payout_demo
from documents import DocumentStore
from portal.demo_cases import load_demo_cases
from portal.demo_documents import attach_demo_documents
from portal.demo_lots import load_demo_lots
from portal.sales import confirmed_sale
from title_transfer import codes
from title_transfer.models import Transfer
from title_transfer.service import create_transfer, move_step

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - demo only, listed in the README

DEMO_USERS = [
    # email, display name, role, department (pages add the role or department: "张*明(买受人)", "税务局 陈*")
    ("buyer@demo.local", "张*明", Role.buyer, None),
    ("creditor@demo.local", "李*华", Role.creditor, None),
    ("court@demo.local", "王*", Role.staff, "court"),
    ("tax@demo.local", "陈*", Role.staff, "tax"),
    ("registry@demo.local", "刘*", Role.staff, "registry"),
    ("water@demo.local", "赵*", Role.staff, "water"),
    ("electricity@demo.local", "孙*", Role.staff, "electricity"),
    ("gas@demo.local", "周*", Role.staff, "gas"),
    ("vehicles@demo.local", "吴*", Role.staff, "vehicles"),
    ("admin@demo.local", "郑*", Role.admin, None),
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
    for name in ("title_en", "address_en"):  # demo databases seeded before English titles existed
        if getattr(lot, name) is None and fields.get(name):
            setattr(lot, name, fields[name])
    return lot


async def load_demo_data(session: AsyncSession, secret: str, store: DocumentStore | None = None) -> list[str]:
    """Create what is missing; returns a line per thing created (empty when nothing was).

    With a document store, the demo house's sale ruling and assistance notice are attached as
    files (the subject guards must be wired: portal.document_wiring.wire_documents).
    """
    created: list[str] = []
    pw_hash = hash_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for email, name, role, dept in DEMO_USERS:
        exists = await session.scalar(select(User.id).where(User.email == email))
        users[email] = await _user(session, email, name, role, dept, pw_hash)
        if exists is None:
            created.append(f"user {email}")
    buyer = users["buyer@demo.local"]
    if buyer.phone is None:  # pre-filled in the buyer's forms; a demo number (masked in messages as 139****1234)
        buyer.phone = "13900001234"

    house = await _lot(
        session, lot_no="ZJ-0681-2026-0142", title="诸暨市暨阳街道望云路18号3幢201室", asset_kind="real_estate",
        address="浙江省诸暨市暨阳街道望云路18号3幢201室",
        title_en="Flat 201, Building 3, 18 Wangyun Road, Jiyang Street, Zhuji",
        address_en="Flat 201, Building 3, 18 Wangyun Road, Jiyang Street, Zhuji, Zhejiang", court="诸暨市人民法院", case_number="(2025)浙0681执1234号",
        platform_url=None, appraisal=Decimal("2600000"), starting_price=Decimal("1820000"),
        property_use="residential", area_m2=Decimal("89.50"), location="city", tax_clause="by_law",
        utility_arrears_clause="proceeds", seller_type="individual", seller_acquired_on=dt.date(2022, 3, 15),
        seller_purchase_price=Decimal("1900000"), seller_only_home=False, has_gas=True, status="sold",
    )
    car = await _lot(
        session, lot_no="ZJ-0105-2026-0077", title="2019年 大众帕萨特 浙A·D7X21", asset_kind="vehicle",
        address="杭州市拱墅区 法院车辆保管场", title_en="2019 Volkswagen Passat, plate 浙A·D7X21",
        address_en="Court vehicle yard, Gongshu District, Hangzhou", court="杭州市拱墅区人民法院", case_number="(2025)浙0105执567号",
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
        if seeded is not None and seeded.title_en is None and lot.title_en:
            seeded.title_en, seeded.address_en, seeded.court = lot.title_en, lot.address_en, lot.court
        if seeded is None:
            new = await create_transfer(session, confirmed_sale(sale), secret=secret, tracking_no=no, code=DEMO_TRANSFERS[no])
            created.append(f"transfer {no}")
            t = new.transfer
            if lot is house:
                # Staff wrote these in Chinese; the demo also carries the English version as a separate value.
                for key, who, action, text in (
                    ("balance_paid", court, "complete", ("尾款已到账。", "Balance received.")),
                    ("ruling_served", court, "complete", ("已电子送达。", "Served electronically.")),
                    ("assistance_notice", court, "complete", None),
                    ("tax_assessment", tax, "start", None),
                    ("electricity_handover", power, "complete", None),
                    ("gas_handover", gas, "block", ("燃气表需入户安全检查,请致电燃气公司预约。",
                                                    "The gas meter needs a safety check at home: call the gas"
                                                    " company to book one.")),
                    ("delivery", court, "start", None),
                ):
                    step = next(s for s in t.steps if s.key == key)
                    zh, en = text or (None, None)
                    await move_step(session, t, key, action, who, expected_revision=step.revision,
                                    note=zh if action == "complete" else None, reason=zh if action == "block" else None,
                                    text_lang="zh", translations={"en": en} if en else None)
            else:
                step = next(s for s in t.steps if s.key == "balance_paid")
                await move_step(session, t, "balance_paid", "complete", court, expected_revision=step.revision)
        if store is not None and lot is house:
            await session.flush()
            house_transfer = await session.scalar(select(Transfer).where(Transfer.tracking_no == no))
            assert house_transfer is not None
            created += await attach_demo_documents(session, store, house_transfer, court)
    created += await load_demo_lots(session, users, store)  # lots in every state, findings, photos
    created += await load_demo_cases(session, secret)  # enforcement cases (portal/demo_cases.py)
    created += await seed_payout_demo(session, secret)  # the mass case's payout batch (cases/payouts_demo.py)
    created += await _past_transfers(session, secret, pw_hash, users["admin@demo.local"])
    return created


# Finished transfers, so the dashboards have history: (lot number, days after the sale each
# step was completed in workflow order, sale date). Durations follow the reform's target
# (title certificate in about two working days); utilities and delivery take longer.
PAST_TRANSFERS: list[tuple[str, list[int], dt.date]] = [
    ("ZJ-DEMO-PAST-01", [0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 9], dt.date(2026, 6, 8)),
    ("ZJ-DEMO-PAST-02", [0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 7], dt.date(2026, 7, 13)),
    ("ZJ-DEMO-PAST-03", [1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 12], dt.date(2026, 8, 3)),
    ("ZJ-DEMO-PAST-04", [0, 1, 1, 2, 2, 2, 3, 3, 4, 4, 10], dt.date(2026, 9, 7)),
    ("ZJ-DEMO-PAST-05", [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 6], dt.date(2026, 10, 12)),
]


async def _past_transfers(session: AsyncSession, secret: str, pw_hash: str, admin: User) -> list[str]:
    """Completed demo transfers with realistic durations (their own buyer, so the demo buyer's list stays short)."""
    created: list[str] = []
    buyer = await _user(session, "past-buyers@demo.local", "历史买受人", Role.buyer, None, pw_hash)
    actor = Principal(admin.id, "admin", admin.display_name)
    for i, (lot_no, days, sold_on) in enumerate(PAST_TRANSFERS):
        lot = await _lot(
            session, lot_no=lot_no, title=f"诸暨市浣东街道演示小区{i + 1}幢{101 + i}室", asset_kind="real_estate",
            address=f"浙江省诸暨市浣东街道演示小区{i + 1}幢{101 + i}室", court="诸暨市人民法院",
            case_number=f"(2026)浙0681执{300 + i}号", platform_url=None, appraisal=Decimal("1500000"),
            starting_price=Decimal("1050000"), property_use="residential", area_m2=Decimal("76.00"),
            location="city", tax_clause="by_law", utility_arrears_clause="proceeds", seller_type="individual",
            seller_acquired_on=dt.date(2019, 5, 1), seller_purchase_price=Decimal("1200000"),
            seller_only_home=False, has_gas=True, status="sold",
        )
        if await session.scalar(select(Sale.id).where(Sale.lot_id == lot.id)) is not None:
            continue
        sale = Sale(lot_id=lot.id, buyer_id=buyer.id, price=Decimal("1320000") + 10000 * i, confirmed_on=sold_on,
                    buyer_type="individual", buyer_homes="only_home")
        session.add(sale)
        await session.flush()
        await session.refresh(sale, ["lot"])
        new = await create_transfer(session, confirmed_sale(sale), secret=secret)
        t = new.transfer
        for step, after in zip(list(t.steps), days, strict=True):
            when = dt.datetime.combine(sold_on + dt.timedelta(days=after), dt.time(2, 30), tzinfo=dt.UTC)
            await move_step(session, t, step.key, "complete", actor, expected_revision=step.revision, now=when)
        created.append(f"past transfer {t.tracking_no}")
    return created
