"""The staff dashboard and the public page with the same medians (and nothing about anyone)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.response import Template

from backoffice import stats
from backoffice.charts import Bar, bar_chart
from backoffice.controllers.common import View, lang
from backoffice.registry import MetricsSection
from kernel.guards import requires_staff
from kernel.i18n import _
from storage.context import DbSession


def _days(v: View, value: float | None) -> str:
    if value is None:
        return _("no data yet")
    return _("%(days)s days") % {"days": f"{value:.1f}"}


def _hours(v: View, value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 48:
        return _days(v, value / 24)
    return _("%(hours)s h") % {"hours": f"{value:.1f}"}


def source_sections(v: View, sections: list[MetricsSection], *, min_sample: int = 1) -> list[dict[str, Any]]:
    """The sources' figures as charts; a figure drawn from fewer than ``min_sample`` cases is not shown."""
    out: list[dict[str, Any]] = []
    for section in sections:
        bars = []
        for f in section.figures:
            shown = f.count is None or f.count >= min_sample
            text = _days(v, f.value) if shown or not f.count else _("too few cases yet")
            bars.append(Bar(v.pick((f.label_zh, f.label_en)), f.value if shown else None, text, f.tone or "main"))
        chart = bar_chart(v.pick((section.chart_title_zh, section.chart_title_en)), bars,
                          empty_text=v.pick(("暂无数据", "No data yet")))
        out.append({"heading": v.pick((section.heading_zh, section.heading_en)),
                    "hint": v.pick((section.hint_zh, section.hint_en)), "chart": chart,
                    "counted": v.pick((section.counted_zh, section.counted_en)) if section.counted is not None else "",
                    "count": section.counted})
    return out


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
        nothing = v.pick(("目前没有", "none at the moment"))
        depth = bar_chart(v.pick(("各部门待办数量", "Open items per department")),
                          [Bar(v.dept(row.department), row.open, str(row.open)) for row in load], empty_text=nothing)
        overdue = bar_chart(v.pick(("各部门超期事项", "Overdue items per department")),
                            [Bar(v.dept(row.department), row.overdue, str(row.overdue), "warn") for row in load],
                            empty_text=nothing)
        return Template("backoffice/dashboard.html", context={
            "v": v, "load": load, "medians": medians, "depth_chart": depth, "overdue_chart": overdue,
            "handling_chart": handling_chart(v, medians),
            "sections": source_sections(v, await stats.source_metrics(db_session)),
        })

    @get("/stats", name="public.stats")
    async def public(self, request: Request[Any, Any, Any], db_session: DbSession) -> Template:
        v = View(lang(request))
        medians = await stats.handling_medians(db_session, now=v.now)
        shown = [m for m in medians if m.count >= stats.MIN_PUBLIC_SAMPLE]
        return Template("backoffice/public_stats.html", context={
            "v": v, "medians": shown, "min_sample": stats.MIN_PUBLIC_SAMPLE,
            "handling_chart": handling_chart(v, shown, min_sample=stats.MIN_PUBLIC_SAMPLE),
            "sections": source_sections(v, await stats.source_metrics(db_session), min_sample=stats.MIN_PUBLIC_SAMPLE),
        })
