"""The staff dashboard and the public page with the same medians (and nothing about anyone)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from backoffice import stats
from backoffice.charts import Bar, bar_chart
from backoffice.controllers.common import View, lang
from backoffice.registry import TransferMetrics
from kernel.guards import requires_staff
from kernel.i18n import _
from storage.context import DbSession


def _days(v: View, value: float | None) -> str:
    if value is None:
        return "—"
    return _("%(days)s days") % {"days": f"{value:.1f}"}


def _hours(v: View, value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 48:
        return _days(v, value / 24)
    return _("%(hours)s h") % {"hours": f"{value:.1f}"}


def transfer_charts(v: View, metrics: TransferMetrics | None, *, min_sample: int = 1) -> dict[str, Any]:
    if metrics is None:
        return {"certificate_chart": None, "steps_chart": None, "metrics": None}
    enough = metrics.certificates >= min_sample
    certificate = bar_chart(
        v.pick(("成交到领取不动产权证书(中位数,天)", "Sale to title certificate (median, days)")),
        [Bar(v.pick(("改革前", "Before the reform")), metrics.baseline_days, _days(v, metrics.baseline_days), "muted"),
         Bar(v.pick(("现在", "Now")), metrics.sale_to_certificate_days if enough else None,
             _days(v, metrics.sale_to_certificate_days) if enough else "—", "ok")],
    )
    steps = bar_chart(
        v.pick(("成交后各步骤完成用时(中位数,天)", "Days from sale to each step done (median)")),
        [Bar(v.pick((s.name_zh, s.name_en)), s.median_days if s.count >= min_sample else None,
             _days(v, s.median_days) if s.count >= min_sample else "—") for s in metrics.per_step],
        empty_text=v.pick(("暂无数据", "No data yet")),
    )
    return {"certificate_chart": certificate, "steps_chart": steps, "metrics": metrics, "enough": enough}


def handling_chart(v: View, medians: list[stats.KindMedian], *, min_sample: int = 1) -> Any:
    return bar_chart(
        v.pick(("各类事项办理用时(中位数)", "Handling time per kind (median)")),
        [Bar(v.kind(m.kind), m.median_hours if m.count >= min_sample else None,
             _hours(v, m.median_hours) if m.count >= min_sample else "—") for m in medians],
        empty_text=v.pick(("近90天暂无办结事项", "Nothing done in the last 90 days")),
    )


class DashboardController(Controller):
    include_in_schema = False

    @get("/staff/dashboard", name="staff.dashboard", guards=[requires_staff()])
    async def dashboard(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        v = View(lang(request))
        load = await stats.queue_load(db_session, now=v.now)
        medians = await stats.handling_medians(db_session, now=v.now)
        depth = bar_chart(v.pick(("各部门待办数量", "Open items per department")),
                          [Bar(v.dept(row.department), row.open, str(row.open)) for row in load])
        overdue = bar_chart(v.pick(("各部门超期事项", "Overdue items per department")),
                            [Bar(v.dept(row.department), row.overdue, str(row.overdue), "warn") for row in load])
        return Template("backoffice/dashboard.html", context={
            "v": v, "load": load, "medians": medians, "depth_chart": depth, "overdue_chart": overdue,
            "handling_chart": handling_chart(v, medians),
            **transfer_charts(v, await stats.transfer_metrics(db_session)),
        })

    @get("/stats", name="public.stats")
    async def public(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        v = View(lang(request))
        medians = await stats.handling_medians(db_session, now=v.now)
        shown = [m for m in medians if m.count >= stats.MIN_PUBLIC_SAMPLE]
        return Template("backoffice/public_stats.html", context={
            "v": v, "medians": shown, "min_sample": stats.MIN_PUBLIC_SAMPLE,
            "handling_chart": handling_chart(v, shown, min_sample=stats.MIN_PUBLIC_SAMPLE),
            **transfer_charts(v, await stats.transfer_metrics(db_session), min_sample=stats.MIN_PUBLIC_SAMPLE),
        })
