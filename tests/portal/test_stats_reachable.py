"""The public figures are linked from the home page and footer, and each chart has its table."""

from __future__ import annotations

import re

from litestar import Litestar
from litestar.testing import AsyncTestClient

from backoffice.charts import Bar, bar_chart

Client = AsyncTestClient[Litestar]


async def test_home_and_footer_link_the_figures(client: Client) -> None:
    home = (await client.get("/")).text
    main, foot = home.split('<footer class="foot">', 1)
    assert 'href="/stats"' in main.split('<main id="main">', 1)[1] and 'href="/stats"' in foot
    guide = (await client.get("/guide?lang=en")).text
    assert 'href="/stats">How long things take</a>' in guide


async def test_every_chart_on_the_figures_page_has_a_table(client: Client) -> None:
    page = (await client.get("/stats")).text
    drawn = [m for m in re.finditer(r'<svg class="chart".*?</svg>', page, re.S) if "<rect" in m.group(0)]
    assert drawn, "no chart with bars on the page"
    for m in drawn:
        assert page[m.end():].startswith('<details class="chart-table">')


def test_the_table_says_what_the_bars_say() -> None:
    html = str(bar_chart("Handling time", [Bar("Water <company>", 2.0, "2.0 days"), Bar("Tax", None, "—")]))
    table = html.split('<details class="chart-table">', 1)[1]
    assert "<caption>Handling time</caption>" in table
    assert '<th scope="row">Water &lt;company&gt;</th><td class="num">2.0 days</td>' in table
    assert '<th scope="row">Tax</th><td class="num">—</td>' in table
