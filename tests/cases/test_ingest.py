"""Ingest from the court's case system: idempotent by source ids, checked all at once, nothing half-written."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cases.models import CaseAsset, CaseNode, CaseParty, EnforcementCase
from portal.cli import import_cases
from portal.settings import Settings
from storage.audit import AuditEntry
from tests.cases.conftest import CREDITOR_ID, Client, case_body
from tests.conftest import TEST_INGEST_TOKEN, TEST_TOKEN

BEARER = {"Authorization": f"Bearer {TEST_INGEST_TOKEN}"}  # the court system's own token
ASSISTANT = {"Authorization": f"Bearer {TEST_TOKEN}"}
INGEST_ROUTES = ["/api/v1/ingest/cases", "/api/v1/ingest/cases/nodes", "/api/v1/ingest/cases/assets",
                 "/api/v1/ingest/cases/auctions", "/api/v1/ingest/cases/money", "/api/v1/ingest/cases/plans"]


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_sending_a_case_twice_changes_nothing_the_second_time(client: Client, session: AsyncSession) -> None:
    body = case_body("(2024)浙0681执1234号", court_source="SYS-1")
    first = await client.post("/api/v1/ingest/cases", json=body, headers=BEARER)
    assert first.status_code == 201, first.text
    assert first.json()["created"] is True and first.json()["added"]["nodes"] == 4
    again = await client.post("/api/v1/ingest/cases", json=body, headers=BEARER)
    assert again.status_code == 200 and again.json() == {**again.json(), "created": False, "added": {}, "updated": {}}
    assert await _count(session, EnforcementCase) == 1
    assert await _count(session, CaseParty) == 3 and await _count(session, CaseNode) == 4
    party = await session.scalar(select(CaseParty).where(CaseParty.source_id == "p1"))
    assert party is not None and party.id_last4 == CREDITOR_ID[-4:] and CREDITOR_ID not in (party.id_hash or "")
    audits = (await session.scalars(select(AuditEntry.action).where(AuditEntry.subject_type == "enforcement_case"))).all()
    assert list(audits) == ["case.create"]


async def test_a_record_sent_again_is_updated_in_place(client: Client, session: AsyncSession) -> None:
    body = case_body("(2024)浙0681执1234号", court_source="SYS-2")
    assert (await client.post("/api/v1/ingest/cases", json=body, headers=BEARER)).status_code == 201
    change = {"case_number": "（2024）浙0681执1234号", "assets": [
        {"source_id": "a1", "kind": "real_estate", "description": "诸暨市暨阳街道某小区1幢101室", "state": "appraised",
         "value": "2300000.00"},
        {"source_id": "a3", "kind": "vehicle", "description": "浙D·12345 小型轿车", "state": "seized"}]}
    resp = await client.post("/api/v1/ingest/cases/assets", json=change, headers=BEARER)
    assert resp.status_code == 200, resp.text
    assert resp.json()["added"] == {"assets": 1} and resp.json()["updated"] == {"assets": 1}
    states = dict((await session.execute(select(CaseAsset.source_id, CaseAsset.state))).all())
    assert states == {"a1": "appraised", "a2": "frozen", "a3": "seized"}


async def test_nodes_arriving_late_are_put_in_order(client: Client, session: AsyncSession) -> None:
    body = case_body("(2024)浙0681执1234号", court_source="SYS-3", nodes=2)
    await client.post("/api/v1/ingest/cases", json=body, headers=BEARER)
    late = {"case_number": body["case_number"], "nodes": [
        {"source_id": "n9", "key": "seized", "at": "2024-05-01T10:00:00+08:00"},
        {"source_id": "n8", "key": "online_search", "at": "2024-04-01T10:00:00+08:00"}]}
    assert (await client.post("/api/v1/ingest/cases/nodes", json=late, headers=BEARER)).status_code == 200
    rows = (await session.execute(select(CaseNode.node_key, CaseNode.prev_key, CaseNode.since_prev_seconds)
                                  .order_by(CaseNode.occurred_at))).all()
    assert [r[0] for r in rows] == ["filed", "notice_served", "online_search", "seized"]
    assert rows[3][1] == "online_search" and rows[3][2] == 30 * 86400
    case = await session.scalar(select(EnforcementCase))
    assert case is not None and case.stage == "seizure" and case.latest_node_key == "seized"


async def test_every_problem_is_reported_and_nothing_written(client: Client, session: AsyncSession) -> None:
    body = case_body("(2024)浙0681执1234号", court_source="SYS-4")
    body["parties"][0]["id_number"] = CREDITOR_ID[:-1] + ("1" if CREDITOR_ID[-1] != "1" else "2")
    body["nodes"][1]["key"] = "teleported"
    body["money"][0]["amount"] = "-5"
    body["assets"].append(dict(body["assets"][0]))  # same source id twice
    body["plans"][0]["total"] = "99999.00"
    resp = await client.post("/api/v1/ingest/cases", json=body, headers=BEARER)
    assert resp.status_code == 422
    paths = {e["path"] for e in resp.json()["details"]["errors"]}
    assert {"parties[0].id_number", "nodes[1].key", "money[0].amount", "assets[2].source_id",
            "plans[0].total"} <= paths
    assert await _count(session, EnforcementCase) == 0 and await _count(session, CaseParty) == 0


async def test_malformed_number_and_wrong_types_are_4xx(client: Client) -> None:
    bad = await client.post("/api/v1/ingest/cases", json=case_body("2024浙0681执1234号"), headers=BEARER)
    assert bad.status_code == 422 and bad.json()["details"]["errors"][0]["path"] == "case_number"
    wrong = await client.post("/api/v1/ingest/cases", json={**case_body("(2024)浙0681执1号"), "amount_claimed": "abc"},
                              headers=BEARER)
    assert wrong.status_code == 400


async def test_ingest_needs_the_ingest_token(client: Client, session: AsyncSession) -> None:
    body = case_body("(2024)浙0681执1234号")
    assert (await client.post("/api/v1/ingest/cases", json=body)).status_code == 401
    assert (await client.post("/api/v1/ingest/cases", json=body,
                              headers={"Authorization": "Bearer wrong-token-wrong-token"})).status_code == 401
    # The assistant's service token can no longer ingest, on any of the routes.
    for path in INGEST_ROUTES:
        refused = await client.post(path, json=body, headers=ASSISTANT)
        assert refused.status_code == 403, (path, refused.text)
    assert await _count(session, EnforcementCase) == 0
    assert (await client.post("/api/v1/ingest/cases", json=body, headers=BEARER)).status_code == 201


async def test_the_ingest_token_calls_nothing_but_ingest(client: Client) -> None:
    lookup = await client.post("/api/v1/cases/lookup", headers=BEARER, json={
        "case_number": "(2024)浙0681执1234号", "id_number": CREDITOR_ID, "query_code": "ABCD2345"})
    assert lookup.status_code == 401
    assert (await client.get("/api/v1/cases/mine", headers=BEARER)).status_code == 401
    assert (await client.get("/staff/cases", headers={**BEARER, "Accept": "application/json"})).status_code in (
        401, 303)


def test_the_ingest_token_is_its_own() -> None:
    import pytest

    from portal.settings import SettingsError

    base = {"PORTAL_ENV": "production", "PORTAL_SECRET": "Vq8kX2mZp4Lr7Ns1Tb6Yc3Hd9Jf5Wg0Ae",
            "PORTAL_SERVICE_TOKEN": "Kp3Rz8Lm2Qx7Vn4Tb9Wc6Hd1J", "DATABASE_URL": "postgresql://x@127.0.0.1/x"}
    with pytest.raises(SettingsError, match="CASE_INGEST_TOKEN must differ"):
        Settings.from_env({**base, "CASE_INGEST_TOKEN": base["PORTAL_SERVICE_TOKEN"]})
    with pytest.raises(SettingsError, match="CASE_INGEST_TOKEN"):
        Settings.from_env({**base, "CASE_INGEST_TOKEN": "short"})
    assert Settings.from_env(base).case_ingest_token == ""  # production without one: ingest closed
    assert Settings.from_env({**base, "CASE_INGEST_TOKEN": "Zt5Mq1Xw8Kc3Nv6Rb2Yh9Lp4G"}).case_ingest_token


async def test_ingest_is_in_the_openapi_document(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/ingest/cases" in schema["paths"] and "/api/v1/ingest/cases/nodes" in schema["paths"]
    assert "/api/v1/cases/lookup" in schema["paths"]


async def test_bulk_import_reports_bad_lines_and_imports_the_rest(tmp_path: Path, settings: Settings,
                                                                  session: AsyncSession, capsys: object) -> None:
    good = case_body("(2024)浙0681执1234号", court_source="B-1")
    other = case_body("(2024)浙0105执55号", court_source="B-2")
    broken = case_body("(2024)浙0681执9号", court_source="B-3")
    broken["nodes"][0]["key"] = "nope"
    path = tmp_path / "cases.jsonl"
    path.write_text("\n".join([json.dumps(good, ensure_ascii=False), "{not json", json.dumps(broken, ensure_ascii=False),
                               json.dumps(other, ensure_ascii=False)]) + "\n", encoding="utf-8")
    assert await import_cases(settings, path) == 1
    out = capsys.readouterr()  # type: ignore[attr-defined]
    assert "2 created" in out.out and "2 refused" in out.out
    assert "line 2:" in out.err and "line 3: nodes[0].key" in out.err
    assert await _count(session, EnforcementCase) == 2
    assert await import_cases(settings, path) == 1
    assert "0 created, 0 updated, 2 unchanged" in capsys.readouterr().out  # type: ignore[attr-defined]
