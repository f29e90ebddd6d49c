"""Names of the cases domain's states and kinds, as bilingual data (like department names)."""

from __future__ import annotations

ASSET_KINDS: dict[str, tuple[str, str]] = {
    "real_estate": ("不动产", "Real estate"),
    "vehicle": ("车辆", "Vehicle"),
    "bank_deposit": ("银行存款", "Bank deposit"),
    "securities": ("证券", "Securities"),
    "equity": ("股权", "Equity"),
    "receivable": ("到期债权", "Receivable"),
    "other": ("其他", "Other"),
}
ASSET_STATES: dict[str, tuple[str, str]] = {
    "found": ("已查到", "Found"),
    "seized": ("已查封", "Seized"),
    "frozen": ("已冻结", "Frozen"),
    "appraised": ("已评估", "Appraised"),
    "auctioned": ("已拍卖", "Auctioned"),
    "released": ("已解除", "Released"),
}
AUCTION_RESULTS: dict[str, tuple[str, str]] = {
    "scheduled": ("待拍", "Scheduled"),
    "sold": ("成交", "Sold"),
    "unsold": ("流拍", "Unsold"),
    "withdrawn": ("撤回", "Withdrawn"),
}
AUCTION_ROUNDS: dict[int, tuple[str, str]] = {1: ("一拍", "1st round"), 2: ("二拍", "2nd round"),
                                              3: ("变卖", "Fixed-price sale")}
PLAN_STATES: dict[str, tuple[str, str]] = {
    "draft": ("制作中", "Being drawn up"),
    "served": ("已送达,异议期内", "Served; open to objection"),
    "final": ("已生效", "Final"),
    "withdrawn": ("已撤回", "Withdrawn"),
}
PAYOUT_STATES: dict[str, tuple[str, str]] = {
    "pending": ("待发放", "Not yet paid"),
    "paid": ("已发放", "Paid"),
    "failed": ("发放失败", "Payment failed"),
}
ROLES: dict[str, tuple[str, str]] = {"creditor": ("申请执行人", "Creditor"), "debtor": ("被执行人", "Debtor")}
CASE_STATES: dict[str, tuple[str, str]] = {"open": ("执行中", "In progress"), "closed": ("已结案", "Closed")}


def label(table: dict[object, tuple[str, str]] | dict[str, tuple[str, str]] | dict[int, tuple[str, str]],
          key: object, lang: str) -> str:
    pair = table.get(key)  # type: ignore[call-overload]
    if pair is None:
        return str(key)
    return str(pair[0] if lang == "zh" else pair[1])
