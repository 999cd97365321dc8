"""The chart drawn from the rollup of messages per day is the chart drawn from the messages:
same bars, same totals, whatever happened to the messages since the rollup was built."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.models import QuerySet
from django.test import Client
from django.urls import reverse

from officialaccount_webhook.admin import volume
from officialaccount_webhook.admin.chart import chart_context
from officialaccount_webhook.messages.retention import prune
from officialaccount_webhook.models import (
    MessageVolume,
    MessageVolumeState,
    OfficialAccountMessage,
)
from officialaccount_webhook.volume import refresh
from tests.settings import SIGNED_APP, UNSIGNED_APP

pytestmark = pytest.mark.django_db

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2024, 11, 15, 12, tzinfo=BERLIN)
RECEIVED = NOW - timedelta(days=1)
MESSAGES = "admin:officialaccount_webhook_officialaccountmessage_changelist"


def at(moment: datetime) -> Any:
    return lambda: moment


def local(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN, fold=fold)


def store(
    key: str,
    when: datetime,
    account: str = "@TOA#_A",
    app: int = SIGNED_APP,
    received: datetime = RECEIVED,
    **extra: Any,
) -> OfficialAccountMessage:
    return OfficialAccountMessage.objects.create(
        sdk_app_id=app,
        official_account=account,
        msg_key=key,
        msg_time=when,
        event_time=when,
        received_at=received,
        msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": key}}],
        **extra,
    )


@pytest.fixture
def berlin(settings: Any) -> None:
    settings.TIME_ZONE = "Europe/Berlin"


@pytest.fixture
def messages(berlin: None) -> None:
    """Several accounts of two apps over 2024, around both of Berlin's clock changes."""
    store("1", local(2024, 3, 30, 23, 30))
    store("2", local(2024, 3, 31, 0, 30))  # still March 30 in UTC
    store("3", local(2024, 3, 31, 3, 30), "@TOA#_B")  # the hour after 02:00 did not exist
    store("4", local(2024, 3, 31, 23, 59))
    store("5", local(2024, 3, 31, 12), "@TOA#_C", UNSIGNED_APP)
    # The day to be pruned: its messages arrived long ago.
    store("6", local(2024, 4, 1), "@TOA#_B", received=local(2024, 4, 1, 0, 1))
    store("7", local(2024, 4, 1, 15), received=local(2024, 4, 1, 15, 1))
    store("8", local(2024, 4, 2, 10), "@TOA#_C", UNSIGNED_APP)
    store("9", local(2024, 7, 15, 8), "@TOA#_D")
    store("10", local(2024, 10, 26, 23, 30), "@TOA#_B")
    store("11", local(2024, 10, 27, 2, 30))  # 02:30 summer time
    store("12", local(2024, 10, 27, 2, 30, fold=1))  # 02:30 again, winter time
    store("13", local(2024, 10, 27, 23, 30), "@TOA#_B")
    store("14", local(2024, 11, 14, 10))
    store("15", local(2024, 11, 15, 9))  # today: not rolled up
    store("16", local(2024, 11, 15, 11), "@TOA#_B")
    store("17", local(2024, 12, 1, 10), "@TOA#_B")  # after today


def charts(
    queryset: QuerySet[Any],
    start: datetime | None,
    end: datetime | None,
    monkeypatch: pytest.MonkeyPatch,
    now: datetime = NOW,
) -> tuple[dict[str, Any], int]:
    """The chart from the rollup where it can, and the days it took from it, after checking
    that the chart from the messages alone is the same."""
    rolled = chart_context(queryset, start, end, now=now)
    with monkeypatch.context() as patched:
        patched.setattr(volume, "_from_rollup", lambda *args: None)
        raw = chart_context(queryset, start, end, now=now)
    days = rolled.pop("rollup_days")
    assert raw.pop("rollup_days") == 0
    assert rolled == raw
    return rolled, days


def totals(context: dict[str, Any]) -> dict[str, int]:
    return {series.label: series.total for series in context["series"]}


def test_the_rollup_draws_the_chart_the_messages_draw(
    messages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = refresh(clock=at(NOW))
    assert built.started_over and built.counted_until == date(2024, 11, 15)
    assert prune(datetime(2024, 5, 1, tzinfo=UTC), messages=True, now=NOW).messages == 2
    assert not MessageVolume.objects.filter(day=date(2024, 4, 1)).exists()
    # Stored after the rollup was built, for a closed day, with the time it was first
    # received (a drained spool record keeps it): the chart counts March 31 again.
    store("late", local(2024, 3, 31, 10), "@TOA#_B", received=local(2024, 3, 31, 10))
    every = OfficialAccountMessage.objects.all()
    year, days = charts(every, local(2024, 1, 1), local(2025, 1, 1), monkeypatch)
    assert year["unit"] == "month" and days == 319  # to November 15; the rest counted
    assert totals(year)["@TOA#_B"] == 6
    assert MessageVolume.objects.get(official_account="@TOA#_B", day=date(2024, 3, 31)).count == 2
    march, days = charts(every, local(2024, 3, 1), local(2024, 4, 1), monkeypatch)
    assert march["unit"] == "day" and days == 31
    peak_day = next(bar for bar in march["bars"] if len(bar.segments) == 3)  # A, B and C
    assert peak_day == march["bars"][30]  # March 31, as Berlin counts it
    october, days = charts(every, local(2024, 10, 1), local(2024, 11, 1), monkeypatch)
    assert days == 31 and october["peak"] == 3  # October 27, 25 hours long
    _chart, days = charts(every, local(2024, 10, 20), local(2024, 11, 20), monkeypatch)
    assert days == 26  # and from November 15 on, the messages
    last_30_days, days = charts(every, None, None, monkeypatch)
    assert days == 29 and totals(last_30_days) == {"@TOA#_A": 4, "@TOA#_B": 3}
    hours, days = charts(every, local(2024, 3, 30), local(2024, 4, 1), monkeypatch)
    assert hours["unit"] == "hour" and days == 0  # hours: never the rollup
    for filtered, rolled_up in (
        (every.filter(official_account="@TOA#_B"), 319),
        (every.filter(sdk_app_id=UNSIGNED_APP), 319),
        (every.filter(sdk_app_id__in={SIGNED_APP}), 319),  # a user's scope
        (every.filter(sdk_app_id__in={SIGNED_APP}, sdk_app_id=UNSIGNED_APP), 319),
        # The list's own period (the drill-down), within the chart's.
        (every.filter(official_account="@TOA#_B", msg_time__gte=local(2024, 3, 31)), 229),
    ):
        _chart, days = charts(filtered, local(2024, 1, 1), local(2025, 1, 1), monkeypatch)
        assert days == rolled_up
    for other in (
        every.filter(online_only=False),  # any other filter
        every.filter(msg_time__gte=local(2024, 3, 31, 6)),  # not a whole day
        every.filter(official_account__iexact="@toa#_b"),  # a search
        every.none(),
    ):
        _chart, days = charts(other, local(2024, 1, 1), local(2025, 1, 1), monkeypatch)
        assert days == 0


def test_deleted_messages_leave_the_rollup(
    messages: None, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(clock=at(NOW))
    # Stored after the build, then pruned before any refresh looked at it: its day is
    # counted again, since the rollup may not hold it.
    store("unseen", local(2024, 4, 2, 9), "@TOA#_C", UNSIGNED_APP, received=local(2024, 4, 2))
    assert prune(datetime(2024, 5, 1, tzinfo=UTC), messages=True, now=NOW).messages == 3
    assert MessageVolumeState.objects.get().dirty_days == ["2024-04-02"]
    # The admin's delete action.
    doomed = OfficialAccountMessage.objects.filter(msg_key__in=["3", "11", "15"])
    selected = list(doomed.values_list("pk", flat=True))
    response = admin_client.post(
        reverse(MESSAGES),
        {"action": "delete_selected", "_selected_action": selected, "post": "yes"},
    )
    assert response.status_code == 302
    assert not doomed.exists()
    # One from its own page.
    one = OfficialAccountMessage.objects.get(msg_key="9")
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_delete", args=[one.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    every = OfficialAccountMessage.objects.all()
    year, days = charts(every, local(2024, 1, 1), local(2025, 1, 1), monkeypatch)
    # Right after a first build nothing is settled yet: a deleted day is counted again rather
    # than subtracted; either way the rollup no longer holds it.
    assert not MessageVolume.objects.filter(official_account="@TOA#_D").exists()
    assert days == 319 and totals(year) == {"@TOA#_A": 5, "@TOA#_B": 4, "@TOA#_C": 2}
    assert sum(MessageVolume.objects.values_list("count", flat=True)) == 9
    assert MessageVolumeState.objects.get().dirty_days == []  # counted again by the chart
