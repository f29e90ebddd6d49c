"""Cases built through the ingest service, the way the court's case system sends them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from cases.idnumbers import check_digit
from cases.ingest import ingest_case
from cases.schemas import CaseIn
from portal.settings import Settings
from tests.conftest import csrf, unique

CHINA = dt.timezone(dt.timedelta(hours=8))
CODE = "CASE2345"


def id_number(first17: str) -> str:
    return first17 + check_digit(first17)


CREDITOR_ID = id_number("33068119800101123")
DEBTOR_ID = id_number("33068119750505234")
OTHER_CREDITOR_ID = id_number("33010219900303345")


@dataclass
class MadeCase:
    id: int
    number: str
    code: str
    creditor_id: str = CREDITOR_ID
    debtor_id: str = DEBTOR_ID


def case_body(number: str, *, code: str = CODE, court_source: str | None = None, nodes: int = 4,
              **extra: Any) -> dict[str, Any]:
    start = dt.datetime(2024, 3, 1, 9, 30, tzinfo=CHINA)
    keys = ["filed", "notice_served", "asset_report_order", "online_search", "seized", "appraisal",
            "appraisal_done", "auction_announced", "auction_sold", "proceeds_received", "distribution_plan", "payout"]
    body: dict[str, Any] = {
        "source_id": court_source or unique("SRC-"), "case_number": number, "filed_on": "2024-03-01",
        "cause": "借款合同纠纷", "judge_name": "王法官", "judge_phone": "0575-87000000", "amount_claimed": "1200000.00",
        "query_code": code,
        "parties": [
            {"source_id": "p1", "role": "creditor", "name": "张三", "id_number": CREDITOR_ID,
             "amount_claimed": "800000.00"},
            {"source_id": "p2", "role": "creditor", "name": "李四", "id_number": OTHER_CREDITOR_ID,
             "amount_claimed": "400000.00"},
            {"source_id": "p3", "role": "debtor", "name": "王五", "id_number": DEBTOR_ID},
        ],
        "nodes": [{"source_id": f"n{i}", "key": k, "at": (start + dt.timedelta(days=9 * i)).isoformat(),
                   "description": f"第{i + 1}个节点"} for i, k in enumerate(keys[:nodes])],
        "assets": [{"source_id": "a1", "kind": "real_estate", "description": "诸暨市暨阳街道某小区1幢101室",
                    "state": "seized", "state_on": "2024-04-01", "value": "2100000.00"},
                   {"source_id": "a2", "kind": "bank_deposit", "description": "某银行账户存款", "state": "frozen",
                    "value": "35000.00"}],
        "money": [{"source_id": "m1", "direction": "in", "amount": "35000.00", "on": "2024-04-10",
                   "description": "扣划银行存款"}],
        "plans": [{"source_id": "d1", "total": "35000.00", "state": "served", "served_on": "2024-05-01",
                   "lines": [{"source_id": "l1", "party_source_id": "p1", "payee_name": "张三", "amount": "23333.33",
                              "state": "paid", "paid_on": "2024-05-20"},
                             {"source_id": "l2", "party_source_id": "p2", "payee_name": "李四", "amount": "11666.67"}]}],
    }
    body.update(extra)
    return body


async def make_case(session: AsyncSession, settings: Settings, number: str = "(2024)浙0681执1234号",
                    **extra: Any) -> MadeCase:
    data = msgspec.convert(case_body(number, **extra), CaseIn)
    result = await ingest_case(session, data, secret=settings.secret_key, actor_label="test")
    await session.commit()
    from sqlalchemy import select

    from cases.models import EnforcementCase

    case_id = await session.scalar(select(EnforcementCase.id).where(EnforcementCase.case_number == result.case_number))
    assert case_id is not None
    return MadeCase(case_id, result.case_number, extra.get("code", CODE))


Client = AsyncTestClient[Litestar]


async def open_case(client: Client, number: str, id_no: str, code: str, **headers: str) -> Any:
    await client.get("/cases")
    return await client.post("/cases", data={"case_number": number, "id_number": id_no, "query_code": code,
                                             "_csrf_token": csrf(client)}, headers=headers, follow_redirects=False)


@pytest.fixture
async def case(session: AsyncSession, settings: Settings) -> MadeCase:
    return await make_case(session, settings)
