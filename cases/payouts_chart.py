"""A batch's progress as one stacked bar (paid / pending / failed), inline SVG drawn on the server.

No script and no inline style (the CSP allows neither): geometry and colour are attributes.
The SVG has a <title> and a description for screen readers, each part is labelled below the
bar with its number and share, and the page shows the same figures as a table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 480
BAR_HEIGHT = 28
LEGEND_ROW = 24


@dataclass(frozen=True)
class Part:
    label: str
    count: int
    colour: str
    pattern: str = ""  # a second cue beside colour: "hatch" draws diagonal lines


def progress_bar(title: str, parts: list[Part], chart_id: str = "payout-progress") -> Markup:
    total = sum(p.count for p in parts)
    height = BAR_HEIGHT + 12 + LEGEND_ROW * len(parts)
    desc = "; ".join(f"{p.label} {p.count}" for p in parts)
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'role="img" aria-labelledby="{chart_id}-t {chart_id}-d" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#a15c00"/><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2"/>'
        '</pattern></defs>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{BAR_HEIGHT}" fill="#eceff1" rx="4"/>',
    ]
    x = 0.0
    for part in parts:
        if not total or not part.count:
            continue
        width = WIDTH * part.count / total
        fill = "url(#hatch)" if part.pattern == "hatch" else part.colour
        out.append(f'<rect x="{x:.1f}" y="0" width="{max(width, 2.0):.1f}" height="{BAR_HEIGHT}" fill="{fill}"/>')
        x += width
    for i, part in enumerate(parts):
        y = BAR_HEIGHT + 12 + i * LEGEND_ROW
        share = f"{100 * part.count / total:.1f}%" if total else "—"
        fill = "url(#hatch)" if part.pattern == "hatch" else part.colour
        out.append(f'<rect x="0" y="{y}" width="16" height="16" fill="{fill}" rx="2"/>')
        out.append(f'<text x="24" y="{y + 13}" font-size="15" fill="#1b1f24">{escape(part.label)}</text>')
        out.append(f'<text x="{WIDTH}" y="{y + 13}" font-size="15" text-anchor="end" fill="#1b1f24">'
                   f'{part.count:,} · {share}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text above went through escape()


__all__ = ["Part", "progress_bar"]
