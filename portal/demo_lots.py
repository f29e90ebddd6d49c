"""Demo lots: realistic Zhejiang lots (flats, shops, industrial land, cars) in every state, with
the departments' findings (one changed after its announcement), rounds and photos.

Idempotent like the rest of the demo data: every lot is looked up by its number first and
only what is missing is created. Dates are relative to the day the demo is loaded, so the
announced lots are still ahead of their bidding. The two sold lots of the demo transfers keep
their numbers (ZJ-0681-2026-0142, ZJ-0105-2026-0077). Photos are drawn here (Pillow) and stored
through the documents domain, so thumbnails are real.
"""

from __future__ import annotations

import datetime as dt
import io
import zlib
from decimal import Decimal
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from accounts.principal import Principal
from auction_listings.models import CourtStaff, Finding, Lot, ReviewRequest, Sale
from auction_listings.rules import CHINA
from documents import DocumentStore, Subject, SubjectType
from documents.models import Document
from documents.service import upload
from storage.db import utcnow

ZHUJI, GONGSHU, HANGZHOU, HUZHOU = "浙0681", "浙0105", "浙01", "浙05"
COURT_NAMES = {ZHUJI: "诸暨市人民法院", GONGSHU: "杭州市拱墅区人民法院", HANGZHOU: "杭州市中级人民法院",
               HUZHOU: "湖州市中级人民法院"}
SIGNERS = {
    "court": "法院执行局 王* (demo)", "registry": "不动产登记中心 刘* (demo)", "tax": "税务局 陈* (demo)",
    "urban_management": "综合行政执法局 郑* (demo)", "water": "供水公司 赵* (demo)",
    "electricity": "供电公司 孙* (demo)", "gas": "燃气公司 周* (demo)", "vehicles": "车管所 吴* (demo)",
}
FLAT_FINDINGS: dict[str, dict[str, Any]] = {
    "court": {"occupancy": {"occupied_by": "vacant", "lease_ends_on": None},
              "property_fees": {"arrears": "3260.00", "manager": "诸暨市暨阳物业服务有限公司"},
              "defects": {"defects": "卫生间防水层老化,楼下曾有渗水记录。"}},
    "registry": {"land_use": {"land_use": "residential", "right_type": "granted", "term_ends_on": "2083-05-31"},
                 "encumbrances": {"mortgaged": True, "mortgage_amount": "900000.00", "other_seizures": 1}},
    "tax": {"taxes": {"unpaid_taxes": "0"}},
    "urban_management": {"illegal_construction": {"found": False, "area_m2": None}},
    "water": {"utilities": {"arrears": "86.40", "account_no": "ZJ-W-2038871"}},
    "electricity": {"utilities": {"arrears": "0", "account_no": "3301-8876-5521"}},
    "gas": {"utilities": {"arrears": "0", "account_no": None}},
}
SHOP_FINDINGS: dict[str, dict[str, Any]] = {
    **FLAT_FINDINGS,
    "court": {"occupancy": {"occupied_by": "tenant", "lease_ends_on": "2027-03-31"},
              "property_fees": {"arrears": "0", "manager": None},
              "defects": {"defects": "租户在租期内,买受人须继续履行租赁合同至期满。"}},
}
LAND_FINDINGS: dict[str, dict[str, Any]] = {
    **{k: v for k, v in FLAT_FINDINGS.items() if k != "gas"},
    "court": {"occupancy": {"occupied_by": "other", "lease_ends_on": None},
              "property_fees": {"arrears": "0", "manager": None},
              "defects": {"defects": "2号厂房屋面彩钢板局部锈蚀渗漏;厂区内存放被执行人设备,由法院负责腾退。"}},
    "registry": {"land_use": {"land_use": "industrial", "right_type": "granted", "term_ends_on": "2056-12-31"},
                 "encumbrances": {"mortgaged": True, "mortgage_amount": "6000000.00", "other_seizures": 0}},
}
CAR_FINDINGS: dict[str, dict[str, Any]] = {
    "court": {"defects": {"defects": "左后车门有刮痕,钥匙一把。"}},
    "vehicles": {"encumbrances": {"mortgaged": False, "mortgage_amount": None, "other_seizures": 0},
                 "vehicle_record": {"open_violations": 3, "inspection_valid_until": "2027-04-30"}},
    "tax": {"taxes": {"unpaid_taxes": "0"}},
}


def _photo(kind: str, seed: int) -> bytes:
    """A small real JPEG: a building or a car, drawn."""
    img = Image.new("RGB", (640, 420), (198, 222, 240))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 330, 640, 420), fill=(120, 128, 120))
    hue = (150 + seed * 23) % 200
    if kind == "vehicle":
        body = (40 + hue % 120, 60, 90 + seed * 17 % 120)
        d.rounded_rectangle((120, 210, 520, 320), radius=30, fill=body)
        d.polygon([(200, 210), (260, 150), (420, 150), (470, 210)], fill=body)
        d.polygon([(215, 208), (265, 160), (335, 160), (335, 208)], fill=(210, 230, 245))
        d.polygon([(345, 208), (345, 160), (412, 160), (455, 208)], fill=(210, 230, 245))
        for x in (200, 440):
            d.ellipse((x - 38, 282, x + 38, 358), fill=(30, 30, 30))
            d.ellipse((x - 16, 304, x + 16, 336), fill=(170, 170, 170))
    else:
        floors = 4 + seed % 5
        left, width = 150 + seed * 7 % 60, 320
        top = 330 - floors * 42
        d.rectangle((left, top, left + width, 330), fill=(220 - hue // 4, 205, 185))
        for f in range(floors):
            for w in range(5):
                x = left + 22 + w * 60
                y = top + 10 + f * 42
                d.rectangle((x, y, x + 34, y + 24), fill=(90, 120, 150))
        if kind == "industrial":
            d.rectangle((40, 250, 140, 330), fill=(160, 160, 150))
            d.rectangle((70, 170, 90, 250), fill=(130, 130, 125))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=80)
    return out.getvalue()


def _at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, 0), tzinfo=CHINA).astimezone(dt.UTC)


def _base(court: str, city: str, district: str, **fields: Any) -> dict[str, Any]:
    appraisal = Decimal(fields.pop("appraisal"))
    start = Decimal(fields.pop("start", (appraisal * Decimal("0.7")).quantize(Decimal("1"))))
    values: dict[str, Any] = dict(
        court_code=court, court=COURT_NAMES[court], city=city, district=district, appraisal=appraisal,
        starting_price=start, deposit=(start * Decimal("0.1")).quantize(Decimal("1")),
        increment=max(Decimal(500), (start * Decimal("0.005")).quantize(Decimal("100"))),
        platform="taobao", tax_clause="by_law", location="city", utility_arrears_clause="proceeds",
        seller_type="individual", property_use="residential", has_gas=True, round="first",
    )
    values.update(fields)
    if values.get("platform_url") is None:
        host = {"taobao": "sf-item.taobao.com/sf_item/", "jd": "paimai.jd.com/"}[values["platform"]]
        values["platform_url"] = f"https://{host}{zlib.crc32(values['lot_no'].encode()) % 10**9}.htm"
    return values


def _plans(today: dt.date) -> list[dict[str, Any]]:
    """What each demo lot is: its fields, status, findings and photo kind."""
    ahead = today + dt.timedelta(days=28)
    return [
        dict(lot=_base(ZHUJI, "绍兴市", "诸暨市", lot_no="ZJ-0681-2026-0151", title="诸暨市大唐街道轻纺路128号商铺",
                       asset_kind="real_estate", address="浙江省诸暨市大唐街道轻纺路128号", appraisal="1380000",
                       property_use="non_residential", area_m2=Decimal("96.30"),
                       case_number="(2026)浙0681执212号", description="临街商铺,一层,层高4.5米。"),
             status="draft", findings={}, photo="shop"),
        dict(lot=_base(ZHUJI, "绍兴市", "诸暨市", lot_no="ZJ-0681-2026-0148", title="诸暨市陶朱街道艮塔西路55号2幢1502室",
                       asset_kind="real_estate", address="浙江省诸暨市陶朱街道艮塔西路55号2幢1502室", appraisal="1960000",
                       area_m2=Decimal("118.70"), case_number="(2026)浙0681执188号",
                       seller_acquired_on=dt.date(2019, 6, 1), seller_purchase_price=Decimal("1650000")),
             status="pre_review", findings={k: FLAT_FINDINGS[k] for k in ("court", "registry", "tax")},
             asked=["court", "registry", "tax", "urban_management", "water", "electricity", "gas"], photo="flat"),
        dict(lot=_base(ZHUJI, "绍兴市", "诸暨市", lot_no="ZJ-0681-2026-0155", title="诸暨市店口镇工业区兴业路8号工业用地及厂房",
                       asset_kind="real_estate", address="浙江省诸暨市店口镇工业区兴业路8号", appraisal="12600000",
                       property_use="non_residential", area_m2=Decimal("5320.00"), location="county",
                       seller_type="company", has_gas=False, case_number="(2025)浙0681执3021号",
                       announced_on=today - dt.timedelta(days=4), bidding_starts_at=_at(ahead),
                       bidding_ends_at=_at(ahead + dt.timedelta(days=1)),
                       description="工业用地 12.6 亩,钢结构厂房两幢,配电房一座。"),
             status="announced", findings=LAND_FINDINGS,
             changed_after={"registry": {"land_use": {"land_use": "industrial", "right_type": "granted",
                                                      "term_ends_on": "2056-12-31"},
                                         "encumbrances": {"mortgaged": True, "mortgage_amount": "6000000.00",
                                                          "other_seizures": 2}}},
             photo="industrial"),
        dict(lot=_base(ZHUJI, "绍兴市", "诸暨市", lot_no="ZJ-0681-2026-0139", title="诸暨市浣东街道东二路36号5幢602室",
                       asset_kind="real_estate", address="浙江省诸暨市浣东街道东二路36号5幢602室", appraisal="1520000",
                       area_m2=Decimal("89.90"), case_number="(2025)浙0681执2877号",
                       announced_on=today - dt.timedelta(days=31), bidding_starts_at=_at(today - dt.timedelta(days=1)),
                       bidding_ends_at=_at(today + dt.timedelta(days=1))),
             status="bidding", findings=FLAT_FINDINGS, photo="flat"),
        dict(lot=_base(ZHUJI, "绍兴市", "诸暨市", lot_no="ZJ-0681-2026-0131", title="诸暨市暨阳街道浣纱南路12号商铺",
                       asset_kind="real_estate", address="浙江省诸暨市暨阳街道浣纱南路12号", appraisal="2250000",
                       property_use="non_residential", area_m2=Decimal("140.00"), case_number="(2025)浙0681执2550号",
                       announced_on=today - dt.timedelta(days=20), bidding_starts_at=_at(today + dt.timedelta(days=12)),
                       bidding_ends_at=_at(today + dt.timedelta(days=13)),
                       status_reason="申请执行人与被执行人已达成和解,撤回拍卖。"),
             status="withdrawn", findings=SHOP_FINDINGS, photo="shop"),
        dict(lot=_base(GONGSHU, "杭州市", "拱墅区", lot_no="ZJ-0105-2026-0081", title="2021年 宝马 530Li 浙A·3M8K2",
                       asset_kind="vehicle", address="杭州市拱墅区 法院车辆保管场", appraisal="286000",
                       property_use="non_residential", has_gas=False, platform="jd", case_number="(2026)浙0105执88号",
                       announced_on=today - dt.timedelta(days=10), bidding_starts_at=_at(today + dt.timedelta(days=6)),
                       bidding_ends_at=_at(today + dt.timedelta(days=7)),
                       status_reason="案外人提出执行异议,拍卖中止。"),
             status="suspended", before="announced", findings=CAR_FINDINGS, photo="vehicle"),
        dict(lot=_base(GONGSHU, "杭州市", "拱墅区", lot_no="ZJ-0105-2026-0083", title="2020年 丰田凯美瑞 浙A·6P31Q",
                       asset_kind="vehicle", address="杭州市拱墅区 法院车辆保管场", appraisal="118000",
                       property_use="non_residential", has_gas=False, platform="jd", case_number="(2026)浙0105执97号",
                       announced_on=today - dt.timedelta(days=3), bidding_starts_at=_at(today + dt.timedelta(days=14)),
                       bidding_ends_at=_at(today + dt.timedelta(days=15))),
             status="announced", findings=CAR_FINDINGS, photo="vehicle"),
        dict(lot=_base(HANGZHOU, "杭州市", "西湖区", lot_no="ZJ-01-2026-0032", title="杭州市西湖区文三路259号3幢801室",
                       asset_kind="real_estate", address="浙江省杭州市西湖区文三路259号3幢801室", appraisal="5480000",
                       area_m2=Decimal("132.40"), case_number="(2025)浙01执1189号",
                       announced_on=today - dt.timedelta(days=2), bidding_starts_at=_at(ahead + dt.timedelta(days=3)),
                       bidding_ends_at=_at(ahead + dt.timedelta(days=4))),
             status="announced", findings=FLAT_FINDINGS, photo="flat"),
        dict(lot=_base(HUZHOU, "湖州市", "吴兴区", lot_no="ZJ-05-2026-0017", title="湖州市吴兴区红旗路88号商铺",
                       asset_kind="real_estate", address="浙江省湖州市吴兴区红旗路88号", appraisal="3100000",
                       property_use="non_residential", area_m2=Decimal("210.00"), case_number="(2025)浙05执644号",
                       announced_on=today - dt.timedelta(days=33), bidding_starts_at=_at(today),
                       bidding_ends_at=_at(today + dt.timedelta(days=1))),
             status="bidding", findings=SHOP_FINDINGS, photo="shop"),
    ]


async def _findings(session: AsyncSession, lot: Lot, findings: dict[str, dict[str, Any]], asked: list[str],
                    signed_at: dt.datetime, public: bool) -> None:
    for dept in asked:
        answered = dept in findings
        session.add(ReviewRequest(lot_id=lot.id, department=dept, requested_at=signed_at - dt.timedelta(days=5),
                                  answered_at=signed_at if answered else None))
        if answered:
            session.add(Finding(lot_id=lot.id, department=dept, version=1, answers=findings[dept],
                                signed_by_name=SIGNERS[dept], signed_at=signed_at, public=public,
                                after_publication=False))
    await session.flush()


async def _photos(session: AsyncSession, store: DocumentStore | None, clerk: Principal, lot: Lot, kind: str,
                  created: list[str]) -> None:
    if store is None:
        return
    from portal.document_wiring import wire_documents

    wire_documents()  # who may attach what to a lot (idempotent): the CLI loads demo data without the app
    have = await session.scalar(select(func.count()).select_from(Document).where(
        Document.subject_type == SubjectType.lot.value, Document.subject_id == lot.id))
    if have:
        return
    for n in range(2):
        await upload(session, store, clerk, Subject(SubjectType.lot, lot.id), "lot_photo",
                     f"{lot.lot_no}-{n + 1}.jpg", _photo(kind, lot.id + n), visibility="public", department="court")
    created.append(f"photos of {lot.lot_no}")


async def load_demo_lots(session: AsyncSession, users: dict[str, User], store: DocumentStore | None = None,
                         *, now: dt.datetime | None = None) -> list[str]:
    """Create the demo lots that are missing; returns a line per thing created."""
    now = now or utcnow()
    today = now.astimezone(CHINA).date()
    created: list[str] = []
    court_user = users["court@demo.local"]
    if await session.scalar(select(CourtStaff.id).where(CourtStaff.user_id == court_user.id)) is None:
        session.add(CourtStaff(user_id=court_user.id, court_code=ZHUJI))
        created.append("court@demo.local works at 诸暨市人民法院")
    clerk = Principal(court_user.id, "staff", court_user.display_name, "court")

    # The two sold lots of the demo transfers: their listing, findings and photos.
    for no, code, city, district, findings, kind, platform in (
            ("ZJ-0681-2026-0142", ZHUJI, "绍兴市", "诸暨市", FLAT_FINDINGS, "flat", "taobao"),
            ("ZJ-0105-2026-0077", GONGSHU, "杭州市", "拱墅区", CAR_FINDINGS, "vehicle", "jd")):
        lot = await session.scalar(select(Lot).where(Lot.lot_no == no))
        if lot is None:
            continue
        if lot.court_code is None:
            ended = dt.date(2026, 11, 6)
            lot.court_code, lot.city, lot.district, lot.platform = code, city, district, platform
            lot.deposit = (Decimal(lot.starting_price) * Decimal("0.1")).quantize(Decimal("1"))
            lot.increment = Decimal(5000) if kind == "flat" else Decimal(1000)
            lot.announced_on = ended - dt.timedelta(days=35 if kind == "flat" else 16)
            lot.bidding_starts_at, lot.bidding_ends_at = _at(ended - dt.timedelta(days=1)), _at(ended)
            lot.platform_url = lot.platform_url or (f"https://sf-item.taobao.com/sf_item/7{lot.id:08d}.htm"
                                                    if platform == "taobao" else f"https://paimai.jd.com/7{lot.id:08d}")
            lot.published_at, lot.closed_at = _at(lot.announced_on, 9), _at(ended)
            await session.flush()
            await _findings(session, lot, findings, list(findings), _at(lot.announced_on - dt.timedelta(days=2)),
                            True)
            sale = await session.scalar(select(Sale).where(Sale.lot_id == lot.id))
            if sale is not None and sale.sold_at is None:
                sale.sold_at = _at(ended)
                sale.tracking_no = "ZT2026000001" if kind == "flat" else "ZT2026000002"
            created.append(f"listing of {no}")
        await _photos(session, store, clerk, lot, kind, created)

    for plan in _plans(today):
        fields = dict(plan["lot"])
        lot = await session.scalar(select(Lot).where(Lot.lot_no == fields["lot_no"]))
        if lot is None:
            status = plan["status"]
            lot = Lot(**fields, status=status)
            if status not in ("draft", "pre_review"):
                lot.published_at = _at(fields.get("announced_on") or today, 9)
            if status == "suspended":
                lot.status_before_suspension = plan.get("before", "announced")
            if status == "withdrawn":
                lot.closed_at = now
            session.add(lot)
            await session.flush()
            signed = _at((fields.get("announced_on") or today) - dt.timedelta(days=2))
            asked = plan.get("asked") or list(plan["findings"])
            await _findings(session, lot, plan["findings"], asked, signed, lot.published_at is not None)
            for dept, answers in (plan.get("changed_after") or {}).items():
                session.add(Finding(lot_id=lot.id, department=dept, version=2, answers=answers,
                                    note="公告后新发现一处其他法院的轮候查封,已更新。", signed_by_name=SIGNERS[dept],
                                    signed_at=now - dt.timedelta(days=1), public=True, after_publication=True,
                                    changed=["encumbrances.other_seizures", "note"]))
            await session.flush()
            created.append(f"lot {lot.lot_no} ({status})")
        await _photos(session, store, clerk, lot, plan["photo"], created)

    # A first round that did not sell, relisted as a second round now announced.
    first = await session.scalar(select(Lot).where(Lot.lot_no == "ZJ-0681-2026-0120"))
    if first is None:
        ended = today - dt.timedelta(days=8)
        first = Lot(**_base(ZHUJI, "绍兴市", "诸暨市", lot_no="ZJ-0681-2026-0120", title="诸暨市枫桥镇枫源路21号住宅",
                            asset_kind="real_estate", address="浙江省诸暨市枫桥镇枫源路21号", appraisal="1150000",
                            area_m2=Decimal("136.00"), location="county", case_number="(2025)浙0681执2101号",
                            announced_on=ended - dt.timedelta(days=31), bidding_starts_at=_at(ended - dt.timedelta(days=1)),
                            bidding_ends_at=_at(ended)),
                    status="unsold")
        first.published_at, first.closed_at = _at(ended - dt.timedelta(days=31), 9), _at(ended)
        session.add(first)
        await session.flush()
        await _findings(session, first, FLAT_FINDINGS, list(FLAT_FINDINGS), _at(ended - dt.timedelta(days=33)), True)
        second_start = Decimal(first.starting_price) * Decimal("0.8")
        second = Lot(**_base(ZHUJI, "绍兴市", "诸暨市", lot_no="ZJ-0681-2026-0156", title=first.title,
                             asset_kind="real_estate", address=first.address, appraisal="1150000", start=second_start,
                             area_m2=Decimal("136.00"), location="county", case_number=first.case_number,
                             round="second", announced_on=today - dt.timedelta(days=2),
                             bidding_starts_at=_at(today + dt.timedelta(days=15)),
                             bidding_ends_at=_at(today + dt.timedelta(days=16))),
                     status="announced", previous_lot_id=first.id)
        second.published_at = _at(today - dt.timedelta(days=2), 9)
        session.add(second)
        await session.flush()
        await _findings(session, second, FLAT_FINDINGS, list(FLAT_FINDINGS), _at(ended - dt.timedelta(days=33)), True)
        created.append("lots ZJ-0681-2026-0120 (unsold) → ZJ-0681-2026-0156 (second round)")
        await _photos(session, store, clerk, first, "flat", created)
        await _photos(session, store, clerk, second, "flat", created)
    return created
