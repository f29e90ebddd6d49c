"""Generated data for the tracking benchmark: buyers, lots, sales, transfers and their steps.

Bulk-loaded with asyncpg's binary COPY (no ORM, no per-row INSERT) into a database that
``portal migrate`` created, so the schema is the product's own. Steps follow the product's
workflow templates (11 for real estate, 5 for vehicles) and are simulated in time: a step
starts when its dependencies finished, takes its service level give or take a few working
days, and is done if that falls before today; otherwise it is ready, in progress or blocked
(with a reason the buyer can read), and what depends on it waits. Sale dates lean recent, so
the set holds finished transfers, ones in full swing and stuck ones.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from accounts.departments import Department
from storage.workdays import default_calendar
from title_transfer import codes
from title_transfer.tax import HomeCount, Location, Party, PropertyUse, SaleFacts, TaxClause, estimate
from title_transfer.workflow import AssetKind, workflows

UTC = dt.UTC
CST = dt.timezone(dt.timedelta(hours=8))

CITIES = [("杭州市", ["西湖区", "拱墅区", "上城区", "滨江区", "余杭区"]), ("宁波市", ["海曙区", "鄞州区", "江北区"]),
          ("绍兴市", ["越城区", "柯桥区", "诸暨市"]), ("温州市", ["鹿城区", "瓯海区", "乐清市"]),
          ("金华市", ["婺城区", "义乌市", "东阳市"]), ("嘉兴市", ["南湖区", "海宁市", "桐乡市"])]
STREETS = ["望云路", "文三路", "解放路", "中山路", "人民路", "建设路", "江南大道", "学院路", "环城北路", "凤起路",
           "钱江路", "胜利路", "新华路", "延安路", "湖滨路"]
CARS = ["大众帕萨特", "丰田凯美瑞", "本田雅阁", "别克君威", "日产轩逸", "比亚迪汉", "吉利博越", "奥迪A4L", "宝马3系",
        "特斯拉Model 3"]
PLATES = "ABCDEFGHJK"
BLOCK_REASONS = [
    "燃气表需入户安全检查,请致电燃气公司预约。 / The gas meter needs a safety check at home: call the gas company to book one.",
    "原产权人尚有物业费欠缴,正在核实是否从拍卖款中扣除。 / The former owner owes service charges; we are checking whether the proceeds cover them.",
    "房屋仍有人居住,法院正在安排腾退。 / The property is still occupied; the court is arranging for it to be cleared.",
    "缺少买受人身份证明复印件,请上传。 / A copy of the buyer's ID is missing: please upload it.",
    "税务系统升级,核定暂停两个工作日。 / The tax system is being upgraded: assessments pause for two working days.",
    "车辆仍有未处理的异地违章,需原车主配合。 / The vehicle has unresolved violations elsewhere; the former owner must help clear them.",
]
NOTES = ["电子送达 / served electronically", "已邮寄 / sent by post", "窗口办结 / completed at the counter",
         "线上办结 / completed online", "尾款已到账 / balance received"]
# Working-day deviation from the service level (most steps on time, some late, a few early).
DELAYS = [-1, 0, 0, 0, 0, 1, 1, 2, 3, 5]


@dataclass
class Generated:
    transfers: int
    steps: int
    real_estate: int
    vehicles: int
    states: dict[str, int]
    completed_transfers: int
    seconds: float
    sample: list[dict[str, Any]] = field(default_factory=list)


class _Calendar:
    """default_calendar().add_working_days, memoised (the same few hundred dates recur)."""

    def __init__(self) -> None:
        self.cal = default_calendar()
        self.memo: dict[tuple[dt.date, int], dt.date] = {}

    def add(self, start: dt.date, days: int) -> dt.date:
        key = (start, days)
        out = self.memo.get(key)
        if out is None:
            out = self.memo[key] = self.cal.add_working_days(start, days)
        return out


def _sale_date(rng: random.Random, today: dt.date) -> dt.date:
    # 45% in the last 6 weeks (work in progress), the rest over the previous ~17 months.
    days = rng.randint(0, 42) if rng.random() < 0.45 else rng.randint(43, 540)
    return today - dt.timedelta(days=days)


async def generate(db_url: str, *, transfers: int, secret: str, sample_size: int, seed: int = 20261125,
                   today: dt.date | None = None, log: Any = print) -> Generated:
    started = time.perf_counter()
    rng = random.Random(seed)
    today = today or dt.date.today()
    now = dt.datetime.now(UTC)
    cal = _Calendar()
    templates = workflows()

    n_buyers = max(1, transfers * 3 // 4)
    users = [(i, f"buyer{i:07d}@bench.invalid", f"买受人{i:07d}", "$argon2id$v=19$m=65536,t=3,p=4$bench$bench",
              "buyer", None, f"139{i:08d}"[:11], True, False, now, now) for i in range(1, n_buyers + 1)]

    lots: list[tuple[Any, ...]] = []
    sales: list[tuple[Any, ...]] = []
    trans: list[tuple[Any, ...]] = []
    steps: list[tuple[Any, ...]] = []
    state_counts: dict[str, int] = {}
    per_year: dict[int, int] = {}
    meta: list[tuple[str, str, int]] = []  # tracking_no, code, buyer_id
    completed = real_estate = 0
    step_id = 0
    for i in range(1, transfers + 1):
        kind = AssetKind.real_estate if rng.random() < 0.75 else AssetKind.vehicle
        confirmed = _sale_date(rng, today)
        buyer_id = rng.randint(1, n_buyers)
        city, districts = rng.choice(CITIES)
        district = rng.choice(districts)
        has_gas = True
        if kind is AssetKind.real_estate:
            real_estate += 1
            address = f"浙江省{city}{district}{rng.choice(STREETS)}{rng.randint(1, 300)}号{rng.randint(1, 30)}幢{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
            title = address[3:]
            area = Decimal(rng.randint(3500, 22000)) / 100
            price = Decimal(rng.randint(40, 900) * 10000 + rng.randint(0, 99) * 100)
            appraisal = (price * Decimal("1.25")).quantize(Decimal("1"))
            use = "residential" if rng.random() < 0.9 else "non_residential"
            has_gas = rng.random() < 0.85
            acquired = confirmed - dt.timedelta(days=rng.randint(200, 6000))
            purchase = (price * Decimal(rng.randint(60, 110)) / 100).quantize(Decimal("1")) if rng.random() < 0.8 else None
            clause = "by_law" if rng.random() < 0.7 else "buyer_bears_all"
            seller_type = "individual" if rng.random() < 0.85 else "company"
            only_home = rng.random() < 0.3
            location = rng.choice(["city", "city", "county", "other"])
            buyer_homes = rng.choice(["only_home", "only_home", "second_home", "other"])
            facts = SaleFacts(price=price, sale_date=confirmed, use=PropertyUse(use), area_m2=area,
                              clause=TaxClause(clause), location=Location(location), buyer=Party.individual,
                              buyer_homes=HomeCount(buyer_homes), seller=Party(seller_type),
                              seller_acquired_on=acquired, seller_purchase_price=purchase,
                              seller_only_home=only_home)
            tax_json: str | None = msgspec.json.encode(estimate(facts)).decode()
        else:
            car = rng.choice(CARS)
            title = f"{rng.randint(2012, 2024)}年 {car} 浙{rng.choice(PLATES)}·{rng.randint(10000, 99999)}"
            address = f"{city}{district} 法院车辆保管场"
            area = Decimal(0)
            price = Decimal(rng.randint(2, 60) * 5000)
            appraisal = (price * Decimal("1.3")).quantize(Decimal("1"))
            use, acquired, purchase, clause, seller_type, only_home, location, buyer_homes = (
                "non_residential", None, None, "by_law", "individual", False, "city", "only_home")
            has_gas = False
            tax_json = None
        arrears = "proceeds" if rng.random() < 0.8 else "buyer"
        created = dt.datetime.combine(confirmed, dt.time(10, 0), CST)
        lots.append((i, f"BENCH-{i:07d}", title, kind.value, address, f"{district.rstrip('区市')}人民法院",
                     f"({confirmed.year - 1})浙执{rng.randint(100, 9999)}号", None, appraisal,
                     (appraisal * Decimal("0.7")).quantize(Decimal("1")), use, area, location, clause, arrears,
                     seller_type, acquired, purchase, only_home, has_gas, "sold", created, now))
        sales.append((i, i, buyer_id, price, confirmed, "individual", buyer_homes, created, now))

        year = confirmed.year
        per_year[year] = seq = per_year.get(year, 0) + 1
        tracking_no = codes.format_tracking_no(year, seq)
        code = "".join(rng.choice(codes.CODE_ALPHABET) for _ in range(codes.CODE_LENGTH))
        meta.append((tracking_no, code, buyer_id))

        # Simulate the steps in dependency order (templates list them that way).
        template = templates[kind]
        finish: dict[str, dt.date | None] = {}
        version = 1
        all_done = True
        last_finish = confirmed
        for position, tmpl in enumerate(template.steps):
            step_id += 1
            details = ({"utility": tmpl.utility, "arrears_clause": arrears} if tmpl.utility else None)
            deps = [finish[d] for d in tmpl.depends_on]
            started_at = completed_at = completed_on = None
            before_block = reason = note = None
            revision = 1
            if tmpl.utility == "gas" and not has_gas:
                state, due = "not_applicable", cal.add(confirmed, tmpl.sla_days)
                completed_at = created
                completed_on = confirmed
                note = "无燃气 / no gas supply"
                finish[tmpl.key] = confirmed
            elif any(d is None for d in deps):
                start = max([confirmed, *(d for d in deps if d is not None)])
                state, due = "waiting", cal.add(start, tmpl.sla_days)
                finish[tmpl.key] = None
            else:
                start = max([confirmed, *deps])  # type: ignore[type-var]
                due = cal.add(start, tmpl.sla_days)
                done_on = cal.add(start, max(0, tmpl.sla_days + rng.choice(DELAYS)))
                if start > today:
                    state = "ready" if start <= today + dt.timedelta(days=1) else "waiting"
                    finish[tmpl.key] = None
                elif done_on < today or (done_on == today and rng.random() < 0.5):
                    state = "done"
                    started_at = dt.datetime.combine(start, dt.time(9, rng.randint(0, 59)), CST)
                    completed_on = done_on
                    completed_at = dt.datetime.combine(done_on, dt.time(rng.randint(9, 16), rng.randint(0, 59)), CST)
                    note = rng.choice(NOTES) if rng.random() < 0.3 else None
                    revision = 3
                    finish[tmpl.key] = done_on
                    last_finish = max(last_finish, done_on)
                else:
                    roll = rng.random()
                    if roll < 0.12 and (today - start).days < 60:
                        state, before_block = "blocked", rng.choice(["ready", "in_progress"])
                        reason = rng.choice(BLOCK_REASONS)
                        revision = 2 if before_block == "ready" else 3
                    elif roll < 0.6:
                        state, revision = "in_progress", 2
                        started_at = dt.datetime.combine(start, dt.time(9, rng.randint(0, 59)), CST)
                    else:
                        state = "ready"
                    finish[tmpl.key] = None
            if state not in ("done", "not_applicable"):
                all_done = False
            version += revision - 1
            state_counts[state] = state_counts.get(state, 0) + 1
            steps.append((step_id, i, tmpl.key, position, Department(tmpl.department).value, state, before_block,
                          due, started_at, completed_at, completed_on, reason, note,
                          json.dumps(details, ensure_ascii=False) if details else None, revision, created, now))
        completed += all_done
        trans.append((i, tracking_no, codes.code_digest(secret, tracking_no, code), i, buyer_id, kind.value, title,
                      price, address, confirmed, last_finish if all_done else None, tax_json, version, created, now))
    built = time.perf_counter() - started
    log(f"  built {transfers:,} transfers / {len(steps):,} steps in memory in {built:.1f}s; loading with COPY …")

    conn = await asyncpg.connect(db_url)
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.copy_records_to_table("user_account", records=users, columns=[
            "id", "email", "display_name", "password_hash", "role", "department", "phone", "is_active", "is_demo",
            "created_at", "updated_at"])
        await conn.copy_records_to_table("lot", records=lots, columns=[
            "id", "lot_no", "title", "asset_kind", "address", "court", "case_number", "platform_url", "appraisal",
            "starting_price", "property_use", "area_m2", "location", "tax_clause", "utility_arrears_clause",
            "seller_type", "seller_acquired_on", "seller_purchase_price", "seller_only_home", "has_gas", "status",
            "created_at", "updated_at"])
        await conn.copy_records_to_table("sale", records=sales, columns=[
            "id", "lot_id", "buyer_id", "price", "confirmed_on", "buyer_type", "buyer_homes", "created_at",
            "updated_at"])
        await conn.copy_records_to_table("transfer", records=trans, columns=[
            "id", "tracking_no", "code_digest", "sale_id", "buyer_id", "asset_kind", "title", "price", "address",
            "started_on",
            "completed_on", "tax_estimate", "version", "created_at", "updated_at"])
        await conn.copy_records_to_table("transfer_step", records=steps, columns=[
            "id", "transfer_id", "key", "position", "department", "state", "state_before_block", "due_on",
            "started_at", "completed_at", "completed_on", "blocked_reason", "note", "details", "revision",
            "created_at", "updated_at"])
        for table in ("user_account", "lot", "sale", "transfer", "transfer_step"):
            await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608 - fixed names
        loaded = time.perf_counter() - started
        log(f"  loaded in {loaded - built:.1f}s; VACUUM ANALYZE …")
        await conn.execute("VACUUM ANALYZE user_account, lot, sale, transfer, transfer_step")
    finally:
        await conn.close()

    picks = rng.sample(range(transfers), min(sample_size, transfers))
    sample = [{"tracking_no": meta[k][0], "code": meta[k][1], "buyer_id": meta[k][2]} for k in picks]
    return Generated(transfers=transfers, steps=len(steps), real_estate=real_estate, vehicles=transfers - real_estate,
                     states=dict(sorted(state_counts.items())), completed_transfers=completed,
                     seconds=round(time.perf_counter() - started, 1), sample=sample)
