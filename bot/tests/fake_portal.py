"""A small real HTTP server that behaves like the portal's JSON API contract.

Runs on 127.0.0.1 in a thread. Tests steer it through attributes: ``mode``
("ok", "down" → 500, "slow" → answers after the client's timeout), per-path
overrides, and read what it saw in ``requests`` and ``items``.
"""
from __future__ import annotations

import copy
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SERVICE_TOKEN = "test-service-token"
IDENTITY = "signed-identity-of-buyer-1"

TRANSFER = {
    "tracking_no": "ZT2026000001",
    "asset_kind": "real_estate",
    "title": "诸暨市暨阳街道某小区3幢502室",
    "progress": {"done": 3, "total": 10},
    "steps": [
        {"key": "balance_paid", "name_zh": "尾款到账", "name_en": "Balance paid", "department": "court",
         "department_name_zh": "法院执行局", "department_name_en": "Court enforcement bureau",
         "state": "done", "due_date": None, "waiting_on": [], "blocked_reason": None, "completed_at": "2026-11-01"},
        {"key": "tax_assessment", "name_zh": "税费核定", "name_en": "Tax assessment", "department": "tax",
         "department_name_zh": "税务局", "department_name_en": "Tax bureau", "state": "in_progress",
         "due_date": "2026-11-27", "waiting_on": [], "blocked_reason": None, "completed_at": None},
        {"key": "registration", "name_zh": "不动产登记", "name_en": "Registration", "department": "registry",
         "department_name_zh": "不动产登记中心", "department_name_en": "Real-estate registry", "state": "waiting",
         "due_date": None, "waiting_on": ["tax_assessment"], "blocked_reason": None, "completed_at": None},
        {"key": "utility_gas", "name_zh": "燃气过户", "name_en": "Gas handover", "department": "gas",
         "department_name_zh": "燃气公司", "department_name_en": "Gas company", "state": "blocked",
         "due_date": "2026-11-30", "waiting_on": [], "blocked_reason": "原户主欠费待结清", "completed_at": None},
    ],
    "next_steps": ["tax_assessment"],
    "url": "/track/ZT2026000001",
}
CODES = {"ZT2026000001": "482913", "ZT2026000002": "ABCD2345"}
ID_NUMBER = "330681199001011237"  # a valid GB 11643 check digit
CASE_NUMBER = "(2024)浙0681执1234号"
CASE_QUERY_CODE = "K7M2P9QX"
# POST /api/v1/cases/lookup answers in the language asked for (docs/cases.md on the cases branch).
CASE_BY_LANG = {
    lang: {
        "case_number": CASE_NUMBER,
        "court": {"zh": "诸暨市人民法院", "en": "Zhuji People's Court"}[lang],
        "stage": "distribution",
        "stage_label": {"zh": "分配", "en": "Distribution"}[lang],
        "role": "creditor",
        "latest_node": {"name": {"zh": "案款到账", "en": "Proceeds received"}[lang], "at": "2026-11-20T02:00:00Z",
                        "description": "拍卖款 1,820,000 元已到法院账户"},  # as the court wrote it
        "next": {"name": {"zh": "分配方案", "en": "Distribution plan"}[lang], "likely_from": "2026-12-04",
                 "likely_to": "2026-12-18"},
        "assets": [
            {"kind": "real_estate", "kind_label": {"zh": "不动产", "en": "Real estate"}[lang],
             "description": "望云路18号3幢201室", "state": "auctioned",
             "state_label": {"zh": "已拍卖", "en": "Auctioned"}[lang], "value": "1820000.00"},
            {"kind": "bank_account", "kind_label": {"zh": "银行账户", "en": "Bank account"}[lang],
             "description": "工商银行账户", "state": "frozen",
             "state_label": {"zh": "已冻结", "en": "Frozen"}[lang], "value": None},
        ],
        "my_payout": {"amount": "350000.00", "status": "pending",
                      "status_label": {"zh": "待发放", "en": "Pending"}[lang]},
        "url": "/cases/12",
    }
    for lang in ("zh", "en")
}
BATCH_CODE = "PF2026HZ0001"
PAYOUT = {"batch_code": BATCH_CODE, "case_number": "(2023)浙01执1700号", "amount": "12800.50", "status": "failed",
          "paid_at": None, "failure_reason_zh": "收款账户已销户",
          "failure_reason_en": "The receiving account is closed",
          "next_step_zh": "请到法院执行局登记新的收款账户，电话 0571-12368。",
          "next_step_en": "Register a new account with the court's enforcement bureau, phone 0571-12368.",
          "account_last4": "7891", "failure_note": "账户状态异常", "court_zh": "浙江省杭州市中级人民法院",
          "court_en": "Hangzhou Intermediate People's Court", "court_phone": "0571-12368"}


def _finding(department: str, name_zh: str, name_en: str, version: int, rows: list[tuple[str, str, str, str, str]]):
    return {"department": department, "name_zh": name_zh, "name_en": name_en, "answered": True,
            "current": {"version": version, "signed_by": "王芳", "signed_at": "2026-11-02T02:00:00Z",
                        "after_publication": version > 1, "changed": [],
                        "rows": [{"area": "a", "area_title_zh": "", "area_title_en": "", "field": "f",
                                  "label_zh": lz, "label_en": le, "value_zh": vz, "value_en": ve,
                                  "changed": version > 1}
                                 for lz, le, vz, ve, _ in rows],
                        "note": None},
            "earlier": []}


# GET /api/v1/lots/{lot_no} (docs/auction_listings_public.md on the lotpub branch)
LOTS = {
    "ZJ-0681-2026-0142": {
        "lot": {"lot_no": "ZJ-0681-2026-0142", "title": "诸暨市暨阳街道望云路18号3幢201室", "kind": "real_estate",
                "status": "announced", "round": "first", "court_name_zh": "诸暨市人民法院",
                "court_name_en": "Zhuji People's Court", "court_contact_zh": "执行局 0575-87012345",
                "court_contact_en": "Enforcement bureau, 0575-87012345", "appraisal": "2600000.00",
                "starting_price": "1820000.00", "deposit": "180000.00", "increment": "10000.00",
                "bidding_starts_at": "2026-12-20T02:00:00Z", "bidding_ends_at": "2026-12-21T02:00:00Z",
                "platform": "taobao", "platform_name_zh": "阿里拍卖·司法",
                "platform_name_en": "Alibaba Auction (judicial)",
                "platform_url": "https://sf.taobao.com/item/0142", "tax_clause": "by_law", "version": 3},
        "findings": [
            _finding("registry", "不动产登记中心", "Real-estate registry", 2,
                     [("是否设有抵押", "Mortgaged", "是", "Yes", ""), ("其他查封", "Other seizures", "轮候查封一笔",
                                                                   "轮候查封一笔", "")]),
            _finding("gas", "燃气公司", "Gas company", 1,
                     [("欠费", "Arrears", "欠燃气费 312.40 元 / Gas arrears of 312.40 yuan",
                       "欠燃气费 312.40 元 / Gas arrears of 312.40 yuan", "")]),
            {"department": "tax", "name_zh": "税务局", "name_en": "Tax bureau", "answered": False, "current": None,
             "earlier": []},
        ],
        "unanswered": ["tax"],
        "rounds": [],
        "result": None,
        "url": "/lots/ZJ-0681-2026-0142",
    },
}


KNOWN_CASES = {"(2024)浙0681执1234号"}
OWNERS = {IDENTITY: {"ZT2026000001"}}


def schemas() -> dict[str, dict[str, Any]]:
    from actions.schemas import BUILTIN

    out = copy.deepcopy(BUILTIN)
    # The portal's own wording, different from the bot's built-in copy, so tests
    # can tell which one was used.
    for field in out["utility_handover"]["fields"]:
        if field["name"] == "account_holder_name":
            field["help_zh"] = "【门户】过户后水电气账户登记人的姓名。"
            field["help_en"] = "[portal] The name the utility account will be registered to."
    return out


class FakePortal:
    def __init__(self, wrong_code_limit: int = 4, slow_seconds: float = 1.5):
        self.mode = "ok"
        self.slow_seconds = slow_seconds
        self.wrong_code_limit = wrong_code_limit
        self.wrong_codes: dict[str, int] = {}
        self.requests: list[dict[str, Any]] = []
        self.items: dict[str, dict[str, Any]] = {}  # reference -> item
        self.by_key: dict[str, tuple[str, str]] = {}  # key -> (body json, reference)
        self.submit_plan: list[str] = []  # per POST: "down", "slow", "422", "ok" (then "ok")
        self.schemas = schemas()
        self.transfer = copy.deepcopy(TRANSFER)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakePortal:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def posts(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == "POST"]

    # ---- request handling -------------------------------------------------
    def _handler(self):
        portal = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                record = {"method": method, "path": self.path, "headers": dict(self.headers), "body": body}
                with portal._lock:
                    portal.requests.append(record)
                    plan = portal.submit_plan.pop(0) if (method == "POST" and portal.submit_plan) else None
                mode = plan or portal.mode
                if mode == "down":
                    return self._send(500, {"detail": "internal error"})
                if mode == "slow":
                    time.sleep(portal.slow_seconds)
                if self.headers.get("Authorization") != f"Bearer {SERVICE_TOKEN}":
                    return self._send(401, {"detail": "bad service token"})
                if method == "GET" and self.path == "/healthz":
                    return self._send(200, {"status": "ok"})
                if method == "GET" and self.path.startswith("/api/v1/forms/"):
                    kind = self.path.rsplit("/", 1)[-1]
                    if kind not in portal.schemas:
                        return self._send(404, {"detail": "unknown form"})
                    return self._send(200, portal.schemas[kind])
                if method == "GET" and self.path.startswith("/api/v1/transfers/"):
                    return self._transfer(self.path.rsplit("/", 1)[-1])
                if method == "POST" and self.path == "/api/v1/cases/lookup":
                    return self._case_lookup(body or {})
                if method == "GET" and self.path.split("?")[0] == "/api/v1/cases/mine":
                    if self.headers.get("X-Citizen-Token") != IDENTITY:
                        return self._send(401, {"detail": "sign in"})
                    lang = "en" if "language=en" in self.path else "zh"
                    return self._send(200, {"cases": [CASE_BY_LANG[lang]]})
                if method == "POST" and self.path == "/api/v1/payouts/lookup":
                    return self._payout_lookup(body or {})
                if method == "GET" and self.path.startswith("/api/v1/lots/"):
                    from urllib.parse import unquote

                    lot = LOTS.get(unquote(self.path.rsplit("/", 1)[-1]))
                    return self._send(200, lot) if lot else self._send(404, {"detail": "no such lot"})
                if method == "POST" and self.path == "/api/v1/submissions":
                    return self._submit(body or {}, force_422=(mode == "422"))
                return self._send(404, {"detail": "not found"})

            def _transfer(self, number: str) -> None:
                import re

                if not re.fullmatch(r"ZT\d{10}", number):
                    return self._send(400, {"detail": "malformed tracking number"})
                sender = self.headers.get("X-Chat-Sender", "")
                if portal.wrong_codes.get(sender, 0) >= portal.wrong_code_limit:
                    return self._send(429, {"detail": "too many attempts"}, {"Retry-After": "300"})
                identity = self.headers.get("X-Citizen-Token")
                code = self.headers.get("X-Verification-Code")
                allowed = (identity and number in OWNERS.get(identity, set())) or (
                    code is not None and CODES.get(number) == code)
                if not allowed:
                    if not identity:
                        portal.wrong_codes[sender] = portal.wrong_codes.get(sender, 0) + 1
                    return self._send(404, {"detail": "no such transfer"})
                return self._send(200, portal.transfer)

            def _too_many(self) -> bool:
                sender = self.headers.get("X-Chat-Sender", "")
                return portal.wrong_codes.get(sender, 0) >= portal.wrong_code_limit

            def _wrong(self) -> None:
                sender = self.headers.get("X-Chat-Sender", "")
                portal.wrong_codes[sender] = portal.wrong_codes.get(sender, 0) + 1

            def _case_lookup(self, body: dict[str, Any]) -> None:
                needed = ("case_number", "id_number", "query_code")
                if not all(isinstance(body.get(k), str) and body.get(k) for k in needed):
                    return self._send(400, {"detail": "case_number, id_number and query_code are required"})
                if self._too_many():
                    return self._send(429, {"detail": "too many attempts"}, {"Retry-After": "600"})
                given = (body["case_number"], body["id_number"], body["query_code"])
                if given != (CASE_NUMBER, ID_NUMBER, CASE_QUERY_CODE):
                    self._wrong()
                    return self._send(404, {"detail": "no match"})
                return self._send(200, CASE_BY_LANG.get(str(body.get("language")), CASE_BY_LANG["zh"]))

            def _payout_lookup(self, body: dict[str, Any]) -> None:
                if self._too_many():
                    return self._send(429, {"detail": "too many attempts"}, {"Retry-After": "600"})
                import re

                code = re.sub(r"[\s\-_]+", "", str(body.get("batch_code") or "")).upper()
                if not re.fullmatch(r"[A-Z0-9]{6,16}", code):
                    return self._send(422, {"code": "payout_batch_code_invalid",
                                            "message_zh": "批次号应为6到16位字母或数字",
                                            "message_en": "A batch code is 6 to 16 letters or digits"})
                if (code, body.get("id_number")) != (BATCH_CODE, ID_NUMBER):
                    self._wrong()
                    return self._send(404, {"detail": "no match"})
                return self._send(200, PAYOUT)

            def _submit(self, body: dict[str, Any], force_422: bool) -> None:
                import re

                key = self.headers.get("Idempotency-Key")
                if not key:
                    return self._send(400, {"detail": "Idempotency-Key required"})
                data = body.get("data") or {}
                errors = []
                if force_422:
                    errors.append({"field": "contact_phone", "message_zh": "该号码无法接通，请换一个",
                                   "message_en": "That number can't be reached; please give another"})
                if body.get("kind") == "asset_clue" and data.get("case_number") not in KNOWN_CASES:
                    errors.append({"field": "case_number", "message_zh": "没有找到这个案号",
                                   "message_en": "No case with this number"})
                phone = data.get("contact_phone")
                if phone is not None and not re.fullmatch(r"1[3-9]\d{9}", str(phone)):
                    errors.append({"field": "contact_phone", "message_zh": "手机号格式不对",
                                   "message_en": "Invalid mobile number"})
                if errors:
                    return self._send(422, {"detail": "invalid", "errors": errors})
                canonical = json.dumps(body, sort_keys=True, ensure_ascii=False)
                with portal._lock:
                    if key in portal.by_key:
                        seen, ref = portal.by_key[key]
                        if seen != canonical:
                            return self._send(409, {"detail": "idempotency key reused with a different body"})
                        return self._send(200, portal.items[ref]["response"])
                    ref = f"WI-{len(portal.items) + 1:06d}"
                    dept = data.get("utility_type") if body.get("kind") == "utility_handover" else "court"
                    response = {"reference": ref, "state": "new", "department": dept,
                                "url": f"/my/submissions/{ref}"}
                    portal.items[ref] = {"body": body, "key": key, "response": response}
                    portal.by_key[key] = (canonical, ref)
                return self._send(201, response)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        return Handler


if __name__ == "__main__":  # python -m tests.fake_portal --port 8000 (manual smoke runs)
    import argparse
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args()
    fake = FakePortal()
    fake.server.server_close()
    fake.server = ThreadingHTTPServer(("127.0.0.1", args.port), fake._handler())
    print(f"fake portal on http://127.0.0.1:{args.port} (service token {SERVICE_TOKEN})", flush=True)
    fake.server.serve_forever()
