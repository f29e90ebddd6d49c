"""Demo enforcement cases (additive to portal/demo.py): three Zhejiang cases in different stages,
one of them the case whose house is the demo transfer's lot, plus forty closed Zhuji cases in
the past so the "usually next" windows have something to be measured on.

Loaded through the same ingest service as the court's case system, so a second run changes
nothing (source ids). The numbers, ID numbers and query codes are public (README's demo table).
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from accounts.models import User
from cases.ingest import ingest_case
from cases.models import CaseParty, CourtStaff
from cases.schemas import CaseIn
from cases.stats import refresh_node_stats

CHINA = dt.timezone(dt.timedelta(hours=8))
SYSTEM = "demo-court-system"

# case number → (a party's ID number, the case query code): listed in the README.
DEMO_CASES = {
    "(2025)浙0681执1234号": ("330681198506123010", "ZJCS2468"),  # creditor 李建华: auction sold, plan served
    "(2025)浙0105执567号": ("330105197809081120", "GSCS3579"),  # creditor 赵立新: car sold, paid, closed
    "(2026)浙05执88号": ("330502198211302512", "HZCS4682"),  # creditor 周海燕: assets frozen, spending restricted
}
DEBTOR_ZHUJI = ("330681197003154216", "ZJCS2468")  # debtor 王国强 of the first case


def _at(day: str, hour: int = 10) -> str:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=CHINA).isoformat()


def _nodes(items: list[tuple[str, str, str | None]]) -> list[dict[str, Any]]:
    return [{"source_id": f"N{i + 1}", "key": key, "at": _at(day), "description": text}
            for i, (key, day, text) in enumerate(items)]


ZHUJI: dict[str, Any] = {
    "source_id": "ZJ-2025-1234", "source_system": SYSTEM, "case_number": "(2025)浙0681执1234号",
    "filed_on": "2025-09-02", "cause": "民间借贷纠纷", "judge_name": "陈立", "judge_phone": "0575-87012345",
    "amount_claimed": "1860000.00", "query_code": "ZJCS2468",
    "parties": [
        {"source_id": "P1", "role": "creditor", "name": "李建华", "id_number": "330681198506123010",
         "amount_claimed": "1500000.00"},
        {"source_id": "P2", "role": "creditor", "name": "诸暨市恒信小额贷款有限公司", "kind": "organisation",
         "amount_claimed": "360000.00"},
        {"source_id": "P3", "role": "debtor", "name": "王国强", "id_number": "330681197003154216"},
    ],
    "nodes": _nodes([
        ("filed", "2025-09-02", "本院已立案执行。"),
        ("notice_served", "2025-09-05", "执行通知书、报告财产令已电子送达被执行人。"),
        ("asset_report_order", "2025-09-05", None),
        ("online_search", "2025-09-08", "已通过网络查控系统查询银行、不动产、车辆、证券。"),
        ("search_result", "2025-09-15", "查到不动产一处、银行账户两个。"),
        ("frozen", "2025-09-16", "冻结被执行人银行存款。"),
        ("seized", "2025-09-18", "查封望云路18号3幢201室。"),
        ("consumption_restricted", "2025-09-20", "对被执行人采取限制消费措施。"),
        ("deducted", "2025-10-10", "扣划银行存款 42,315.60 元。"),
        ("appraisal", "2025-10-20", "通过定向询价确定参考价。"),
        ("appraisal_done", "2025-11-25", "询价结果已送达双方当事人。"),
        ("auction_announced", "2026-01-10", "第一次拍卖公告已在淘宝司法拍卖平台发布。"),
        ("auction_sold", "2026-11-18", "第二次拍卖成交,成交价 2,350,000 元。"),
        ("proceeds_received", "2026-11-20", "买受人尾款已到账。"),
        ("distribution_plan", "2026-11-27", "分配方案已送达,异议期十五日。"),
    ]),
    "assets": [
        {"source_id": "A1", "kind": "real_estate", "description": "诸暨市暨阳街道望云路18号3幢201室",
         "state": "auctioned", "state_on": "2026-11-18", "value": "2600000.00"},
        {"source_id": "A2", "kind": "bank_deposit", "description": "某农商银行账户存款", "state": "frozen",
         "state_on": "2025-09-16", "value": "42315.60"},
        {"source_id": "A3", "kind": "vehicle", "description": "2012年 别克英朗 浙D·5K3F9(登记在被执行人名下,下落不明)",
         "state": "seized", "state_on": "2025-09-18"},
    ],
    "auctions": [
        {"source_id": "R1", "asset_source_id": "A1", "round": 1, "title": "望云路18号3幢201室",
         "platform": "淘宝司法拍卖", "starting_price": "1820000.00", "starts_on": "2026-02-10",
         "ends_on": "2026-02-11", "result": "unsold"},
        {"source_id": "R2", "asset_source_id": "A1", "round": 2, "title": "望云路18号3幢201室",
         "platform": "淘宝司法拍卖", "lot_no": "ZJ-0681-2026-0142", "starting_price": "1456000.00",
         "starts_on": "2026-11-17", "ends_on": "2026-11-18", "result": "sold", "price": "2350000.00"},
    ],
    "money": [
        {"source_id": "M1", "direction": "in", "amount": "42315.60", "on": "2025-10-10", "description": "扣划银行存款"},
        {"source_id": "M2", "direction": "in", "amount": "2350000.00", "on": "2026-11-20", "description": "拍卖成交价款"},
    ],
    "plans": [{
        "source_id": "D1", "state": "served", "served_on": "2026-11-27", "total": "1860000.00",
        "note": "按债权比例分配;执行费用另行列支。",
        "lines": [
            {"source_id": "L1", "party_source_id": "P1", "payee_name": "李建华", "amount": "1500000.00"},
            {"source_id": "L2", "party_source_id": "P2", "payee_name": "诸暨市恒信小额贷款有限公司",
             "amount": "360000.00"},
        ],
    }],
}

GONGSHU: dict[str, Any] = {
    "source_id": "GS-2025-567", "source_system": SYSTEM, "case_number": "(2025)浙0105执567号",
    "filed_on": "2025-06-11", "cause": "买卖合同纠纷", "judge_name": "林晓", "judge_phone": "0571-88230567",
    "amount_claimed": "76000.00", "query_code": "GSCS3579",
    "parties": [
        {"source_id": "P1", "role": "creditor", "name": "赵立新", "id_number": "330105197809081120",
         "amount_claimed": "76000.00"},
        {"source_id": "P2", "role": "debtor", "name": "钱晓东", "id_number": "330105199002213320"},
    ],
    "nodes": _nodes([
        ("filed", "2025-06-11", None), ("notice_served", "2025-06-13", None), ("online_search", "2025-06-16", None),
        ("seized", "2025-06-20", "查封被执行人名下小型轿车一辆。"), ("appraisal", "2025-07-01", None),
        ("appraisal_done", "2025-07-30", None), ("auction_announced", "2025-09-01", None),
        ("auction_sold", "2025-09-20", "成交价 81,500 元。"), ("proceeds_received", "2025-09-25", None),
        ("distribution_plan", "2025-10-09", None), ("payout", "2025-10-20", "案款已发放至申请执行人账户。"),
        ("completed", "2025-10-21", "本案执行完毕。"),
    ]),
    "assets": [{"source_id": "A1", "kind": "vehicle", "description": "2019年 大众帕萨特 浙A·D7X21",
                "state": "auctioned", "state_on": "2025-09-20", "value": "98000.00"}],
    "auctions": [{"source_id": "R1", "asset_source_id": "A1", "round": 1, "title": "2019年 大众帕萨特 浙A·D7X21",
                  "platform": "京东拍卖", "starting_price": "68600.00", "starts_on": "2025-09-19",
                  "ends_on": "2025-09-20", "result": "sold", "price": "81500.00"}],
    "money": [{"source_id": "M1", "direction": "in", "amount": "81500.00", "on": "2025-09-25",
               "description": "拍卖成交价款"},
              {"source_id": "M2", "direction": "out", "amount": "76000.00", "on": "2025-10-20",
               "description": "发放申请执行人案款"}],
    "plans": [{"source_id": "D1", "state": "final", "served_on": "2025-10-09", "total": "76000.00",
               "lines": [{"source_id": "L1", "party_source_id": "P1", "payee_name": "赵立新", "amount": "76000.00",
                          "state": "paid", "paid_on": "2025-10-20"}]}],
}

HUZHOU: dict[str, Any] = {
    "source_id": "HZ-2026-88", "source_system": SYSTEM, "case_number": "(2026)浙05执88号",
    "filed_on": "2026-10-08", "cause": "建设工程施工合同纠纷", "judge_name": "沈雯", "judge_phone": "0572-2290088",
    "amount_claimed": "5230000.00", "query_code": "HZCS4682",
    "parties": [
        {"source_id": "P1", "role": "creditor", "name": "周海燕", "id_number": "330502198211302512",
         "amount_claimed": "5230000.00"},
        {"source_id": "P2", "role": "debtor", "name": "湖州某某建设工程有限公司", "kind": "organisation"},
        {"source_id": "P3", "role": "debtor", "name": "孙德明", "id_number": "330502196507071830"},
    ],
    "nodes": _nodes([
        ("filed", "2026-10-08", None), ("notice_served", "2026-10-10", "执行通知书已送达。"),
        ("asset_report_order", "2026-10-10", None), ("online_search", "2026-10-13", None),
        ("frozen", "2026-10-21", "冻结被执行人公司银行账户三个。"),
        ("consumption_restricted", "2026-11-02", "对被执行人公司及其法定代表人限制消费。"),
    ]),
    "assets": [{"source_id": "A1", "kind": "bank_deposit", "description": "公司基本账户及一般账户(三个)",
                "state": "frozen", "state_on": "2026-10-21", "value": "318442.17"},
               {"source_id": "A2", "kind": "equity", "description": "被执行人持有的某置业公司30%股权", "state": "found"}],
}

MAIN_LINE = ["filed", "notice_served", "online_search", "frozen", "seized", "appraisal", "appraisal_done",
             "auction_announced", "auction_sold", "proceeds_received", "distribution_plan", "payout", "completed"]
TYPICAL_DAYS = {"notice_served": (1, 6), "online_search": (1, 8), "frozen": (3, 15), "seized": (1, 10),
                "appraisal": (7, 30), "appraisal_done": (20, 50), "auction_announced": (15, 60),
                "auction_sold": (30, 90), "proceeds_received": (3, 15), "distribution_plan": (7, 25),
                "payout": (10, 30), "completed": (1, 5)}


def _history(i: int) -> dict[str, Any]:
    """A closed Zhuji case of 2023–2024 whose node gaps vary like real ones (seeded: the same every run)."""
    rng = random.Random(1000 + i)
    day = dt.date(2023, 1, 3) + dt.timedelta(days=rng.randrange(0, 420))
    nodes = []
    for n, key in enumerate(MAIN_LINE):
        if n:
            lo, hi = TYPICAL_DAYS[key]
            day += dt.timedelta(days=rng.randint(lo, hi))
        nodes.append({"source_id": f"N{n + 1}", "key": key, "at": _at(day.isoformat(), 9 + n % 6)})
    return {"source_id": f"ZJ-H-{i}", "source_system": SYSTEM, "case_number": f"(2023)浙0681执{3001 + i}号",
            "filed_on": nodes[0]["at"][:10], "amount_claimed": "100000.00", "query_code": f"HIST{2222 + i}",
            "parties": [{"source_id": "P1", "role": "creditor", "name": "历史申请人", "kind": "organisation"}],
            "nodes": nodes}


async def load_demo_cases(session: AsyncSession, secret: str) -> list[str]:
    """Create or bring up to date the demo cases; returns a line per case created."""
    created: list[str] = []
    for body in [ZHUJI, GONGSHU, HUZHOU, *(_history(i) for i in range(40))]:
        result = await ingest_case(session, msgspec.convert(body, CaseIn), secret=secret, actor_label="demo")
        if result.created:
            created.append(f"case {result.case_number}")
    await session.flush()
    creditor = await session.scalar(select(User).where(User.email == "creditor@demo.local"))
    if creditor is not None:  # the demo creditor's account is linked to 李建华 of the Zhuji case
        party = await session.scalar(select(CaseParty).where(CaseParty.source_id == "P1", CaseParty.name == "李建华"))
        if party is not None and party.user_id is None:
            party.user_id = creditor.id
    court = await session.scalar(select(User).where(User.email == "court@demo.local"))
    if court is not None:  # the demo court clerk works for every demo court
        have = set((await session.scalars(select(CourtStaff.court_code).where(CourtStaff.user_id == court.id))).all())
        for code in ("浙0681", "浙0105", "浙05", "浙01"):
            if code not in have:
                session.add(CourtStaff(user_id=court.id, court_code=code))
    if created:
        await refresh_node_stats(session)
    return created
