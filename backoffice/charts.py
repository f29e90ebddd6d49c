"""Bar charts as inline SVG, drawn on the server.

No script and no inline style (the CSP allows neither): geometry and colour are SVG
attributes. Each bar has its label above it, so the chart reads at 375 px; the numbers
are also written out, and every chart has a <title> for screen readers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from markupsafe import Markup, escape

from kernel.i18n import _

WIDTH = 480
ROW = 42
BAR = 16
COLOURS = {"main": "#b3261e", "muted": "#9aa4af", "warn": "#a15c00", "ok": "#1e7b34"}
_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    shown: str  # the value as text ("2.0 天", "—")
    tone: str = "main"


def bar_chart(title: str, bars: list[Bar], *, empty_text: str = "—") -> Markup:
    """The chart, with its figures as a table folded under it.

    A zero draws no bar at all; a chart with nothing above zero is one short line that
    says so (``empty_text``), not a screen of empty rows.
    """
    if not any(b.value for b in bars):
        return Markup(f'<p class="empty-chart">{escape(title)}: {escape(empty_text)}</p>')  # noqa: S704
    chart_id = f"chart-{next(_ids)}"
    height = max(len(bars), 1) * ROW + 8
    top = max((b.value or 0.0 for b in bars), default=0.0) or 1.0
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby="{chart_id}" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}">{escape(title)}</title>',
    ]
    if not bars:
        parts.append(f'<text x="0" y="24" font-size="15" fill="#5b6470">{escape(empty_text)}</text>')
    for i, bar in enumerate(bars):
        y = i * ROW
        length = 0.0 if not bar.value else max(2.0, (bar.value / top) * WIDTH)
        colour = COLOURS.get(bar.tone, COLOURS["main"])
        parts.append(f'<text x="0" y="{y + 16}" font-size="15" fill="#1b1f24">{escape(bar.label)}</text>')
        parts.append(f'<text x="{WIDTH}" y="{y + 16}" font-size="15" text-anchor="end" fill="#1b1f24">'
                     f'{escape(bar.shown)}</text>')
        parts.append(f'<rect x="0" y="{y + 22}" width="{WIDTH}" height="{BAR}" fill="#eceff1" rx="3"/>')
        if length:
            parts.append(f'<rect x="0" y="{y + 22}" width="{length:.1f}" height="{BAR}" fill="{colour}" rx="3"/>')
    parts.append("</svg>")
    return Markup("".join(parts)) + data_table(title, bars)  # noqa: S704 - every text above went through escape()


def data_table(title: str, bars: list[Bar]) -> Markup:
    """The chart's figures as a table (folded under the chart): for screen readers, copying, and
    anyone who would rather read numbers than compare bar lengths."""
    if not bars:
        return Markup("")
    rows = "".join(f'<tr><th scope="row">{escape(b.label)}</th><td class="num">{escape(b.shown)}</td></tr>'
                   for b in bars)
    return Markup(  # noqa: S704 - every text went through escape()
        f'<details class="chart-table"><summary>{escape(_("Show the figures as a table"))}</summary>'
        f'<div class="table-wrap"><table><caption>{escape(title)}</caption>'
        f'<thead><tr><th scope="col">{escape(_("Item"))}</th><th scope="col" class="num">{escape(_("Figure"))}</th>'
        f'</tr></thead><tbody>{rows}</tbody></table></div></details>')
