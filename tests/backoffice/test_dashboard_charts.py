"""Dashboard charts: nothing drawn for zero, an all-zero chart is one line, the headline
"sale to certificate" figure comes from finished transfers (the demo data has some) or
says there is no data yet, and every figure chart has a table alternative."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.ext.asyncio import AsyncSession

from backoffice.charts import Bar, bar_chart
from portal.demo import load_demo_data
from portal.settings import Settings
from tests.backoffice.helpers import Client, sign_in
from tests.conftest import Factory
from title_transfer.service import move_step
from title_transfer.stats import transfer_times


def test_zero_draws_no_bar_and_all_zero_is_one_line() -> None:
    chart = str(bar_chart("Open", [Bar("A", 0, "0"), Bar("B", 4, "4")]))
    widths = re.findall(r'<rect x="0" y="\d+" width="([\d.]+)" height="16" fill="#b3261e"', chart)
    assert widths == ["480.0"]  # B's bar only; A (zero) has none, not a 2 px sliver
    empty = str(bar_chart("Overdue", [Bar("A", 0, "0"), Bar("B", None, "—")], empty_text="none"))
    assert "<svg" not in empty and empty == '<p class="empty-chart">Overdue: none</p>'
    table = str(bar_chart("Days", [Bar("Now", 2.0, "2.0 days")]))
    assert '<details class="chart-table"><summary>' in table and '<caption>Days</caption>' in table
    assert '<th scope="row">Now</th><td class="num">2.0 days</td>' in table


async def test_the_headline_says_no_data_yet_without_history(client: Client, factory: Factory) -> None:
    await sign_in(client, await factory.user("staff", "court"))
    board = (await client.get("/staff/dashboard")).text
    headline = board.split("从成交到领取不动产权证书", 1)[1].split("<h2", 1)[0]
    assert "暂无数据" in headline and "20.0 天" in headline


async def test_finished_transfers_give_the_headline_figure_with_a_table(client: Client, factory: Factory,
                                                                        session: AsyncSession) -> None:
    admin = factory.principal(await factory.user("admin"))
    sold = dt.date.today() - dt.timedelta(days=30)
    new, _ = await factory.transfer(confirmed_on=sold)
    for step in list(new.transfer.steps):
        when = dt.datetime.combine(sold + dt.timedelta(days=3), dt.time(3), tzinfo=dt.UTC)
        await move_step(session, new.transfer, step.key, "complete", admin, expected_revision=step.revision, now=when)
    await session.commit()
    await sign_in(client, await factory.user("staff", "court"))
    board = (await client.get("/staff/dashboard")).text
    headline = board.split("从成交到领取不动产权证书", 1)[1].split("<h2", 1)[0]
    assert "3.0 天" in headline and "暂无数据" not in headline
    assert '<details class="chart-table"><summary>以表格查看数据</summary>' in headline


async def test_the_demo_data_has_finished_transfers_with_realistic_durations(session: AsyncSession,
                                                                             settings: Settings) -> None:
    created = await load_demo_data(session, settings.secret_key)
    await session.commit()
    assert sum(1 for line in created if line.startswith("past transfer")) == 5
    times = await transfer_times(session, today=dt.date(2026, 11, 30))
    assert times.certificates == 5 and times.sale_to_certificate_days == 2
    assert await load_demo_data(session, settings.secret_key) == []  # idempotent
