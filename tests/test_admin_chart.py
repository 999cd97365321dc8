"""The message list's volume chart follows the list: its period, its filters, stable colours."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from officialaccount_webhook.admin import chart as chart_module
from officialaccount_webhook.admin.chart import PALETTE, account_colour, chart_context
from officialaccount_webhook.models import OfficialAccountMessage
from officialaccount_webhook.query_budget import QueryTimedOut
from tests.settings import SIGNED_APP

pytestmark = pytest.mark.django_db

MESSAGES = "admin:officialaccount_webhook_officialaccountmessage_changelist"
FEB = {"msg_time__gte": "2024-02-01T00:00:00+00:00", "msg_time__lt": "2024-03-01T00:00:00+00:00"}


def create(msg_key: str, when: datetime, account: str = "@TOA#_A") -> None:
    OfficialAccountMessage.objects.create(
        sdk_app_id=SIGNED_APP,
        official_account=account,
        msg_key=msg_key,
        msg_time=when,
        event_time=when,
        msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": msg_key}}],
    )


def chart(client: Client, **params: str) -> dict[str, Any]:
    response = client.get(reverse(MESSAGES), params)
    assert response.status_code == 200
    return dict(response.context["volume_chart"])


def figure(client: Client, **params: str) -> str:
    page = client.get(reverse(MESSAGES), params).text
    found = re.search(r'<figure class="officialaccount-volume".*?</figure>', page, re.S)
    assert found is not None
    return found.group(0)


def totals(context: dict[str, Any]) -> dict[str, int]:
    return {series.label: series.total for series in context["series"]}


@pytest.fixture
def year_2024() -> None:
    create("1_1_1717000000", datetime(2024, 2, 3, 8, tzinfo=UTC), "@TOA#_A")
    create("2_1_1717000000", datetime(2024, 2, 3, 9, tzinfo=UTC), "@TOA#_B")
    create("3_1_1717000000", datetime(2024, 2, 20, 8, tzinfo=UTC), "@TOA#_A")
    create("4_1_1717000000", datetime(2024, 7, 1, 8, tzinfo=UTC), "@TOA#_A")


def test_the_period_follows_the_drill_down(admin_client: Client, year_2024: None) -> None:
    # No period chosen: the last 30 days, where these old messages are not.
    assert chart(admin_client)["peak"] == 0
    assert "No messages in the last 30 days." in figure(admin_client)
    year = chart(
        admin_client,
        msg_time__gte="2024-01-01T00:00:00+00:00",
        msg_time__lt="2025-01-01T00:00:00+00:00",
    )
    assert year["unit"] == "month"
    assert len(year["bars"]) == 12
    assert totals(year) == {"@TOA#_A": 3, "@TOA#_B": 1}
    month = chart(admin_client, **FEB)
    assert month["unit"] == "day"
    assert len(month["bars"]) == 29  # a leap February
    assert month["first"] == datetime(2024, 2, 1) and month["last"] == datetime(2024, 2, 29)
    assert totals(month) == {"@TOA#_A": 2, "@TOA#_B": 1}
    assert month["peak"] == 2  # two messages on February 3
    day = chart(
        admin_client,
        msg_time__gte="2024-02-03T00:00:00+00:00",
        msg_time__lt="2024-02-04T00:00:00+00:00",
    )
    assert day["unit"] == "hour"
    assert len(day["bars"]) == 24
    assert [len(bar.segments) for bar in day["bars"]][8:10] == [1, 1]
    assert "Messages per hour in this list" in figure(
        admin_client,
        msg_time__gte="2024-02-03T00:00:00+00:00",
        msg_time__lt="2024-02-04T00:00:00+00:00",
    )


def test_the_chart_follows_the_filters_and_the_search(
    admin_client: Client, year_2024: None
) -> None:
    assert totals(chart(admin_client, official_account="@TOA#_B", **FEB)) == {"@TOA#_B": 1}
    assert totals(chart(admin_client, q="3_1_1717000000", **FEB)) == {"@TOA#_A": 1}
    assert chart(admin_client, official_account="@TOA#_NONE", **FEB)["peak"] == 0
    assert "No messages in this period." in figure(
        admin_client, official_account="@TOA#_NONE", **FEB
    )


def test_an_open_period_ends_now() -> None:
    now = datetime(2024, 2, 20, 12, tzinfo=UTC)
    create("1_1_1717000000", datetime(2024, 1, 10, tzinfo=UTC))
    create("2_1_1717000000", datetime(2024, 2, 19, tzinfo=UTC))
    since_january = chart_context(
        OfficialAccountMessage.objects.all(), datetime(2024, 1, 1, tzinfo=UTC), None, now=now
    )
    assert since_january["unit"] == "day"
    assert since_january["last"] == datetime(2024, 2, 20)
    assert totals(since_january) == {"@TOA#_A": 2}
    last_30_days = chart_context(OfficialAccountMessage.objects.all(), None, None, now=now)
    assert len(last_30_days["bars"]) == 30
    assert totals(last_30_days) == {"@TOA#_A": 1}


def test_a_long_crafted_range_is_cut_to_its_last_bars(admin_client: Client) -> None:
    create("1_1_1", datetime(1970, 1, 1, tzinfo=UTC))
    create("2_1_1717000000", datetime(2024, 6, 1, tzinfo=UTC))
    long = chart(
        admin_client,
        msg_time__gte="1000-01-01T00:00:00+00:00",
        msg_time__lt="2025-01-01T00:00:00+00:00",
    )
    assert long["unit"] == "year"
    assert len(long["bars"]) == 100
    assert totals(long) == {"@TOA#_A": 2}
    ends = chart(
        admin_client,
        msg_time__gte="9998-12-01T00:00:00+00:00",
        msg_time__lt="9998-12-31T23:00:00-12:00",
    )
    assert ends["unit"] == "day"


def test_colours_stay_with_their_accounts_across_views(admin_client: Client) -> None:
    now = timezone.now()
    accounts = [f"@TOA#_{n}" for n in range(8)]
    for n, account in enumerate(accounts):
        for m in range(n + 1):  # account 7 has the most messages, account 0 the fewest
            create(f"{n}_{m}_1", now - timedelta(hours=1), account)
    create("late_1_1", now - timedelta(days=3), "@TOA#_0")

    def colours(**params: str) -> dict[str, str]:
        return {series.label: series.colour for series in chart(admin_client, **params)["series"]}

    every = colours()
    assert list(every)[:5] == accounts[7:2:-1]  # the five busiest, then the rest together
    assert every["other accounts"] not in PALETTE
    alone = colours(official_account="@TOA#_0")
    assert alone == {"@TOA#_0": account_colour("@TOA#_0")}
    assert every["@TOA#_7"] == colours(official_account="@TOA#_7")["@TOA#_7"]
    for account, colour in every.items():
        if account != "other accounts":
            assert colour == account_colour(account)
    # The colour depends on the ID only: fixed values, not this run's hash seed.
    assert account_colour("@TOA#_A") == account_colour("@TOA#_A")
    assert len({account_colour(f"@TOA#_{n}") for n in range(50)}) == len(PALETTE)


def test_the_axes_are_labelled(admin_client: Client, year_2024: None) -> None:
    svg = figure(admin_client, **FEB)
    assert "<title>2024-02-03 @TOA#_A: 1</title>" in svg
    assert re.search(r'<text class="x-title"[^>]*>Time \(UTC\)</text>', svg)
    assert re.search(r'<text class="y-title"[^>]*>Messages</text>', svg)
    x_ticks = re.findall(r'<text class="x-tick"[^>]*>([^<]*)</text>', svg)
    assert x_ticks[0] == "02-01" and x_ticks[-1] == "02-29"
    assert 3 <= len(x_ticks) <= 6
    assert re.findall(r'<text class="y-tick"[^>]*>([^<]*)</text>', svg) == ["0", "1", "2"]
    assert "Messages per day in this list, 02/01/2024 to 02/29/2024 (highest: 2)" in svg


def test_the_axis_follows_the_time_zone(admin_client: Client, settings: Any) -> None:
    settings.TIME_ZONE = "Asia/Shanghai"
    # 23:30 UTC on February 2 is 07:30 on February 3 in Shanghai.
    create("1_1_1717000000", datetime(2024, 2, 2, 23, 30, tzinfo=UTC))
    month = chart(
        admin_client,
        msg_time__gte="2024-02-01T00:00:00+08:00",
        msg_time__lt="2024-03-01T00:00:00+08:00",
    )
    assert month["x_title"] == "Time (Asia/Shanghai)"
    counts = [sum(1 for _ in bar.segments) for bar in month["bars"]]
    assert counts.index(1) == 2  # the third day


def test_one_grouped_query_whatever_the_period(admin_client: Client, year_2024: None) -> None:
    def chart_queries(**params: str) -> list[str]:
        with CaptureQueriesContext(connection) as captured:
            chart(admin_client, **params)
        return [q["sql"] for q in captured.captured_queries if "GROUP BY" in q["sql"]]

    for params in (
        {},
        FEB,
        {"msg_time__gte": "2024-01-01T00:00:00+00:00", "msg_time__lt": "2025-01-01T00:00:00+00:00"},
        {"msg_time__gte": "2024-02-03T00:00:00+00:00", "msg_time__lt": "2024-02-04T00:00:00+00:00"},
    ):
        grouped = chart_queries(**params)
        assert len(grouped) == 1, grouped
        assert '"msg_time" >=' in grouped[0] and '"msg_time" <' in grouped[0]
    for n in range(20):
        create(f"more_{n}_1", datetime(2024, 2, 10, tzinfo=UTC), f"@TOA#_M{n}")
    with CaptureQueriesContext(connection) as few:
        chart(admin_client, **FEB)
    for n in range(20):
        create(f"yet_{n}_1", datetime(2024, 2, 11 + n % 5, tzinfo=UTC), f"@TOA#_N{n}")
    with CaptureQueriesContext(connection) as many:
        chart(admin_client, **FEB)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_chart_over_its_own_budget_says_to_choose_a_shorter_period(
    admin_client: Client, year_2024: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chart's query runs within CHART_TIME_BUDGET, not the page's whole budget; a query
    stopped there leaves the page and its list, and the chart says what to do."""
    budgets: list[float | None] = []
    real_budget = chart_module.query_budget

    def recorded(using: str = "default", seconds: float | None = None) -> Any:
        budgets.append(seconds)
        return real_budget(using, seconds)

    def too_slow(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise QueryTimedOut(chart_module.CHART_TIME_BUDGET)

    monkeypatch.setattr(chart_module, "query_budget", recorded)
    monkeypatch.setattr(chart_module, "chart_context", too_slow)
    response = admin_client.get(
        reverse(MESSAGES),
        {"msg_time__gte": "2024-01-01T00:00:00+00:00", "msg_time__lt": "2025-01-01T00:00:00+00:00"},
    )
    assert response.status_code == 200
    assert budgets == [chart_module.CHART_TIME_BUDGET]
    assert "drill down to a month or a day" in response.content.decode()
    assert response.context["cl"].result_count > 0  # the list itself is there
