"""Generated lots for the public-lots benchmark: 100,000 lots across Zhejiang cities and
districts, kinds, statuses, prices and auction dates, with the joint pre-review (requests and
signed findings, some changed after publication) on a sample, bulk-loaded with binary COPY.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

CHINA = dt.timezone(dt.timedelta(hours=8))
PLACES = {
    "杭州市": ["上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区"],
    "绍兴市": ["诸暨市", "越城区", "柯桥区", "上虞区"],
    "湖州市": ["吴兴区", "南浔区", "德清县", "长兴县"],
    "宁波市": ["海曙区", "鄞州区", "北仑区"],
    "温州市": ["鹿城区", "瑞安市", "乐清市"],
    "金华市": ["婺城区", "义乌市"],
}
COURTS = ["浙0681", "浙0105", "浙01", "浙05"]
STATUSES = [("announced", 30), ("bidding", 10), ("sold", 30), ("unsold", 12), ("withdrawn", 5), ("suspended", 3),
            ("draft", 7), ("pre_review", 3)]
KINDS = [("real_estate", 70), ("vehicle", 20), ("other", 10)]
PUBLIC = {"announced", "bidding", "sold", "unsold", "withdrawn", "suspended"}
PRICE_MAXES = [500_000, 1_000_000, 2_000_000, 3_000_000, 5_000_000]


@dataclass
class GeneratedLots:
    lots: int
    public: int
    findings: int
    seconds: float
    sample: list[dict[str, Any]] = field(default_factory=list)  # {"lot_no", "version"}
    searches: list[str] = field(default_factory=list)  # query strings


def _weighted(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def _answer(rng: random.Random, department: str, kind: str) -> dict[str, Any]:
    from auction_listings import catalogue

    out: dict[str, Any] = {}
    for key, area in catalogue.areas_for(department, kind):
        values: dict[str, Any] = {}
        for f in area.fields:
            if f.optional and rng.random() < 0.5:
                continue
            values[f.key] = {
                "yes_no": lambda: rng.random() < 0.3,
                "choice": lambda f=f: f.options[rng.randrange(len(f.options))][0] if f.options else "",
                "money": lambda: f"{rng.randrange(0, 200_000)}.00",
                "number": lambda: rng.randrange(0, 3),
                "date": lambda: (dt.date(2040, 1, 1) + dt.timedelta(days=rng.randrange(20000))).isoformat(),
                "text": lambda: rng.choice(["无", "见附件", "已核实"]),
                "note": lambda: rng.choice(["无异常", "厨房吊顶渗水", "院内有违建约 6 ㎡"]),
            }[f.type]()
        out[key] = values
    return out


async def generate(db_url: str, *, lots: int = 100_000, sample_size: int = 10_000, seed: int = 11,
                   log: Any = print) -> GeneratedLots:
    import asyncpg

    from auction_listings import catalogue

    rng = random.Random(seed)
    started = time.perf_counter()
    now = dt.datetime.now(dt.UTC)
    cities = list(PLACES)
    lot_rows: list[tuple[Any, ...]] = []
    public_ids: list[tuple[int, str, str]] = []
    for i in range(1, lots + 1):
        kind = _weighted(rng, KINDS)
        status = _weighted(rng, STATUSES)
        city = rng.choice(cities)
        district = rng.choice(PLACES[city])
        if kind == "real_estate":
            start = Decimal(int(10 ** rng.uniform(5.5, 6.9)) // 1000 * 1000)
        elif kind == "vehicle":
            start = Decimal(int(10 ** rng.uniform(4.3, 5.7)) // 100 * 100)
        else:
            start = Decimal(int(10 ** rng.uniform(4, 6.3)) // 100 * 100)
        appraisal = (start / Decimal("0.8")).quantize(Decimal("1"))
        begins = now + dt.timedelta(days=rng.uniform(-180, 120))
        round_ = rng.choice(["first", "first", "first", "second", "fixed_price"])
        version = rng.randint(1, 6)
        published = begins - dt.timedelta(days=35) if status in PUBLIC else None
        lot_no = f"BL-{i:07d}"
        lot_rows.append((
            i, lot_no, f"{city}{district}第{i % 997}号{'住宅' if kind == 'real_estate' else '拍品'}", kind,
            f"{district}某路{i % 300}号", "某人民法院", f"(2025)浙0681执{i}号",
            f"https://sf-item.taobao.com/sf_item/{i}.htm", appraisal, start,
            "residential" if rng.random() < 0.8 else "non_residential", Decimal(rng.randrange(40, 220)),
            rng.choice(["city", "county", "other"]), "by_law" if rng.random() < 0.8 else "buyer_bears_all",
            "proceeds", "individual", dt.date(2010 + i % 14, 1 + i % 12, 1 + i % 28), None, rng.random() < 0.3,
            True, status, rng.choice(COURTS), city, district, None, round_, (start * Decimal("0.1")).quantize(Decimal("1")),
            Decimal(1000), published.date() if published else None, begins, begins + dt.timedelta(days=1), "taobao",
            published, version, now, now))
        if status in PUBLIC:
            public_ids.append((i, lot_no, kind))
    columns = ["id", "lot_no", "title", "asset_kind", "address", "court", "case_number", "platform_url", "appraisal",
               "starting_price", "property_use", "area_m2", "location", "tax_clause", "utility_arrears_clause",
               "seller_type", "seller_acquired_on", "seller_purchase_price", "seller_only_home", "has_gas", "status",
               "court_code", "city", "district", "description", "round", "deposit", "increment", "announced_on",
               "bidding_starts_at", "bidding_ends_at", "platform", "published_at", "version", "created_at",
               "updated_at"]

    sample = rng.sample(public_ids, min(sample_size, len(public_ids)))
    requests: list[tuple[Any, ...]] = []
    findings: list[tuple[Any, ...]] = []
    rid = fid = 0
    for lot_id, _no, kind in sample:
        for dept in catalogue.departments_for(kind):
            rid += 1
            requests.append((rid, lot_id, dept, now, None, now, now, now))
            if rng.random() < 0.85:
                versions = 2 if rng.random() < 0.2 else 1
                previous: dict[str, Any] | None = None
                for v in range(1, versions + 1):
                    fid += 1
                    answers = _answer(rng, dept, kind)
                    changed = [f"{a}.{k}" for a, vals in answers.items() for k in vals
                               if previous is not None and previous.get(a, {}).get(k) != vals[k]] if previous else None
                    findings.append((fid, lot_id, dept, v, json.dumps(answers, ensure_ascii=False), None, None,
                                     "王芳", now, True, v > 1, json.dumps(changed) if changed else None, now, now))
                    previous = answers
    log(f"  built {lots:,} lots ({len(public_ids):,} public), {len(requests):,} review requests, "
        f"{len(findings):,} findings in {time.perf_counter() - started:.1f}s; loading with COPY …")
    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.copy_records_to_table("lot", records=lot_rows, columns=columns)
        await conn.copy_records_to_table("lot_review_request", records=requests, columns=[
            "id", "lot_id", "department", "requested_at", "requested_by_id", "answered_at", "created_at", "updated_at"])
        await conn.copy_records_to_table("lot_finding", records=findings, columns=[
            "id", "lot_id", "department", "version", "answers", "note", "signed_by_id", "signed_by_name", "signed_at",
            "public", "after_publication", "changed", "created_at", "updated_at"])
        for table in ("lot", "lot_review_request", "lot_finding"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608 - fixed names
        await conn.execute("VACUUM ANALYZE lot, lot_review_request, lot_finding")
        versions = {r["lot_no"]: r["version"] for r in await conn.fetch(
            "SELECT lot_no, version FROM lot WHERE id = ANY($1::bigint[])", [s[0] for s in sample])}
    finally:
        await conn.close()
    searches = [f"city={c}&kind=real_estate&price_max={p}&sort=price" for c in cities for p in PRICE_MAXES]
    return GeneratedLots(lots=lots, public=len(public_ids), findings=len(findings),
                         seconds=round(time.perf_counter() - started, 1),
                         sample=[{"lot_no": no, "version": versions[no]} for _, no, _k in sample], searches=searches)
