"""The listings' refusals: each says what to fix, in both languages (kernel.errors family)."""

from __future__ import annotations

from typing import Any

from kernel.errors import BilingualError


class ListingError(BilingualError):
    status_code = 409
    code = "listing_refused"


class LotNotFound(ListingError):
    status_code = 404
    code = "lot_not_found"

    def __init__(self, lot_no: str = "") -> None:
        super().__init__(f"没有编号为 {lot_no} 的标的。" if lot_no else "没有这个标的。",
                         f"There is no lot {lot_no}." if lot_no else "There is no such lot.", lot_no=lot_no)


class NotYourCourt(ListingError):
    status_code = 403
    code = "not_your_court"


class LotRulesBroken(ListingError):
    """Every rule the entered lot breaks, one message per field (``details['fields']``)."""

    status_code = 422
    code = "lot_rules"

    def __init__(self, violations: list[Any]) -> None:
        count = len(violations)
        fields: dict[str, dict[str, str]] = {}
        for v in violations:
            if v.field in fields:  # two rules on one field: both messages beside it
                fields[v.field] = {"zh": fields[v.field]["zh"] + " " + v.message_zh,
                                   "en": fields[v.field]["en"] + " " + v.message_en}
            else:
                fields[v.field] = {"zh": v.message_zh, "en": v.message_en}
        super().__init__(f"有 {count} 处需要修改,见各栏说明。",
                         f"{count} thing{'s' if count != 1 else ''} to fix: see the notes beside the fields.",
                         fields=fields,
                         violations=[{"field": v.field, "rule": v.rule, "message_zh": v.message_zh,
                                      "message_en": v.message_en} for v in violations])
        self.violations = list(violations)


class WrongStatus(ListingError):
    """The action does not apply to the lot as it is now (e.g. editing a sold lot)."""

    status_code = 409
    code = "wrong_status"


class StaleLot(ListingError):
    status_code = 409
    code = "stale_lot"

    def __init__(self) -> None:
        super().__init__("该标的刚被他人修改,请查看最新内容后再操作。",
                         "Someone else changed this lot just now: look at the latest version and try again.")


class AlreadySold(ListingError):
    status_code = 409
    code = "already_sold"

    def __init__(self, lot_no: str, tracking_no: str | None = None) -> None:
        super().__init__(f"标的 {lot_no} 的成交已登记,不能重复登记。",
                         f"The sale of lot {lot_no} is already recorded; it cannot be recorded twice.",
                         lot_no=lot_no, tracking_no=tracking_no)


class ReviewRefused(ListingError):
    """A finding that may not be given (a department that was not asked, a closed lot)."""

    status_code = 403
    code = "review_refused"


class FindingInvalid(ListingError):
    status_code = 422
    code = "finding_invalid"

    def __init__(self, fields: dict[str, dict[str, str]]) -> None:
        count = len(fields)
        super().__init__(f"联审意见有 {count} 处需要修改,见各栏说明。",
                         f"The finding has {count} thing{'s' if count != 1 else ''} to fix: see the notes beside "
                         "the fields.", fields=fields)


__all__ = ["ListingError", "LotNotFound", "NotYourCourt", "LotRulesBroken", "WrongStatus", "StaleLot",
           "AlreadySold", "ReviewRefused", "FindingInvalid"]
