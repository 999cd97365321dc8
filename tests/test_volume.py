"""Keeping the chart's rollup right: messages stored late or in transactions still in flight,
a changed time zone, the command, the chart's own bounded refresh, and a webhook that never
writes to it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from io import StringIO
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.db import DatabaseError, OperationalError, connection
from django.db.models import Q
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from officialaccount_webhook.admin import volume
from officialaccount_webhook.messages.retention import prune
from officialaccount_webhook.models import (
    AppGrant,
    MessageVolume,
    MessageVolumeState,
    OfficialAccountMessage,
)
from officialaccount_webhook.models import volume as volume_model
from officialaccount_webhook.volume import SETTLE, refresh, rollup
from tests.conftest import PostCallback, sample
from tests.settings import SIGNED_APP, UNSIGNED_APP
from tests.test_chart_rollup import MESSAGES, NOW, at, berlin, charts, local, messages, store

pytestmark = pytest.mark.django_db
__all__ = ["berlin", "messages"]  # fixtures


def state() -> MessageVolumeState:
    return MessageVolumeState.objects.get()


def rollup_rows() -> set[tuple[int, str, date, int]]:
    return set(MessageVolume.objects.values_list("sdk_app_id", "official_account", "day", "count"))


def test_a_message_committed_after_a_refresh_read_past_its_id_is_counted(
    berlin: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in (1, 2, 3):
        store(f"{day}", local(2024, 6, day, 12))
    refresh(clock=at(NOW))
    # A message that took its id before the next refresh read the newest id, and whose
    # transaction committed after that refresh: stood for by an id left free, used later.
    in_flight = store("in flight", local(2024, 6, 5, 12))
    free_id = in_flight.pk
    in_flight.delete()
    store("committed", local(2024, 6, 6, 12))
    refresh(clock=at(NOW + timedelta(minutes=5)))
    assert state().scan_from_id < free_id  # not SETTLE yet: nothing moves
    refresh(clock=at(NOW + SETTLE + timedelta(minutes=1)))
    assert state().scan_from_id < free_id < state().seen_id
    store("in flight", local(2024, 6, 5, 12), id=free_id)
    later = NOW + 2 * SETTLE + timedelta(minutes=2)
    _chart, days = charts(
        OfficialAccountMessage.objects.all(),
        local(2024, 6, 1),
        local(2024, 7, 1),
        monkeypatch,
        later,
    )
    assert days == 30
    assert MessageVolume.objects.get(day=date(2024, 6, 5)).count == 1
    assert state().scan_from_id >= free_id  # looked at once settled, and left behind


def test_another_time_zone_starts_the_rollup_over(
    messages: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(clock=at(NOW))
    every = OfficialAccountMessage.objects.all()
    year = (local(2024, 1, 1), local(2025, 1, 1))
    with timezone.override(ZoneInfo("UTC")):  # a zone activated for one request
        assert charts(every, *year, monkeypatch)[1] == 0
    settings.TIME_ZONE = "Asia/Shanghai"
    shanghai_year = (year[0].astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=0), None)
    assert charts(every, *shanghai_year, monkeypatch)[1] == 0
    assert not refresh(clock=at(NOW), limit=7).exact  # not the chart's job
    assert state().time_zone == "Europe/Berlin"
    assert refresh(clock=at(NOW)).started_over
    assert state().time_zone == "Asia/Shanghai"
    assert charts(every, *shanghai_year, monkeypatch)[1] == 319


@pytest.fixture
def forgotten(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many messages each call takes off the rollup."""
    calls: list[int] = []
    real_forget = volume_model.forget

    def forget(using: str, deleted: Any) -> None:
        deleted = list(deleted)
        calls.append(len(deleted))
        real_forget(using, deleted)

    monkeypatch.setattr(volume_model, "forget", forget)
    return calls


def test_prune_takes_each_batch_off_the_rollup_at_once(
    messages: None, forgotten: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(clock=at(NOW))
    assert prune(datetime(2024, 5, 1, tzinfo=UTC), messages=True, now=NOW).messages == 2
    assert forgotten == [2]  # one batch, one update of the rollup
    assert charts(OfficialAccountMessage.objects.all(), None, None, monkeypatch)[1] == 29


def test_the_command_builds_resumes_and_refreshes(
    messages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    real_count = rollup.count_days
    chunks: list[date] = []

    def interrupted(using: str, zone: ZoneInfo, first: date, after: date) -> int:
        chunks.append(first)
        if len(chunks) == 3:
            raise KeyboardInterrupt
        return real_count(using, zone, first, after)

    monkeypatch.setattr(rollup, "count_days", interrupted)
    with pytest.raises(KeyboardInterrupt):
        call_command("officialaccount_rollup", stdout=StringIO())
    assert state().counted_until == date(2024, 3, 30) + timedelta(days=62)  # two months kept
    monkeypatch.setattr(rollup, "count_days", real_count)
    out = StringIO()
    call_command("officialaccount_rollup", "-v", "2", stdout=out)
    assert "Counted 2024-05-31 to 2024-06-30." in out.getvalue()
    assert "rollup holds every day before 2024-11-15" in out.getvalue()
    resumed = rollup_rows()
    out = StringIO()
    call_command("officialaccount_rollup", stdout=out)
    assert "Counted 0 new day(s) and 0 day(s) again" in out.getvalue()
    store("late", local(2024, 7, 15, 20), "@TOA#_D")
    call_command("officialaccount_rollup", "-v", "2", stdout=out)
    assert "Counted 2024-07-15 to 2024-07-15 again." in out.getvalue()
    assert "Counted 0 new day(s) and 1 day(s) again" in out.getvalue()
    assert MessageVolume.objects.get(official_account="@TOA#_D").count == 2
    out = StringIO()
    call_command("officialaccount_rollup", "--rebuild", stdout=out)
    assert "Started the rollup in Europe/Berlin" in out.getvalue()
    assert rollup_rows() == resumed - {(SIGNED_APP, "@TOA#_D", date(2024, 7, 15), 1)} | {
        (SIGNED_APP, "@TOA#_D", date(2024, 7, 15), 2)
    }


def test_the_chart_refreshes_a_few_days_itself_and_leaves_more_to_the_command(
    messages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = OfficialAccountMessage.objects.all()
    year = (local(2024, 1, 1), local(2025, 1, 1))
    assert charts(every, *year, monkeypatch)[1] == 0  # no rollup: the page never builds one
    refresh(clock=at(NOW))
    # Twenty days later: seven more days closed by the chart, the rest counted from messages.
    later = NOW + timedelta(days=20)
    assert charts(every, *year, monkeypatch, later)[1] == 319 + volume.LAZY_DAYS
    assert state().counted_until == date(2024, 11, 15) + timedelta(days=volume.LAZY_DAYS)
    # Late messages for more days than the chart counts again itself: from the messages.
    for day in range(1, volume.LAZY_DAYS + 2):
        store(f"late {day}", local(2024, 8, day, 12))
    assert charts(every, *year, monkeypatch, later)[1] == 0
    refresh(clock=at(later))
    assert charts(every, *year, monkeypatch, later)[1] == 339


def test_the_chart_does_not_wait_for_another_refresh(
    messages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    every = OfficialAccountMessage.objects.all()
    year = (local(2024, 1, 1), local(2025, 1, 1))
    refresh(clock=at(NOW))

    def locked(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("could not obtain lock on row in relation")

    monkeypatch.setattr(volume, "refresh", locked)
    # Only days closed since: the rollup is right as far as it goes.
    assert charts(every, *year, monkeypatch, NOW + timedelta(days=3))[1] == 319
    store("late", local(2024, 8, 1, 12))  # a day it would have to count again
    assert charts(every, *year, monkeypatch, NOW + timedelta(days=3))[1] == 0

    class Canceled(Exception):
        sqlstate = "57014"  # statement_timeout

    def too_slow(*args: Any, **kwargs: Any) -> None:
        raise OperationalError("canceling statement") from Canceled()

    monkeypatch.setattr(volume, "refresh", too_slow)
    # Stopped by the chart's budget, the rollup's path gives way to counting the messages.
    counted, days = volume.counts(every, "month", *year, field="msg_time", now=NOW)
    assert days == 0
    assert counted == volume.raw_counts(every, "month", *year, "msg_time")
    in_year = every.filter(msg_time__gte=year[0], msg_time__lt=year[1])
    assert sum(counted.values()) == in_year.count()


def test_storing_a_message_never_touches_the_rollup(
    berlin: None, post_callback: PostCallback
) -> None:
    store("old", local(2024, 6, 1, 12))
    refresh(clock=at(NOW))
    before = rollup_rows()
    with CaptureQueriesContext(connection) as queries:
        assert post_callback(sample("text")).status_code == 200
    assert OfficialAccountMessage.objects.count() == 2
    assert not [q for q in queries.captured_queries if "messagevolume" in q["sql"].lower()]
    assert rollup_rows() == before


def test_the_list_page_charts_a_users_apps_from_the_rollup(
    messages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(clock=at(NOW))
    user = User.objects.create_user("alice", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_officialaccountmessage"))
    AppGrant.objects.create(sdk_app_id=SIGNED_APP, user=user)
    client = Client()
    client.force_login(user)
    year = {
        "msg_time__gte": "2024-01-01T00:00:00+01:00",
        "msg_time__lt": "2025-01-01T00:00:00+01:00",
    }

    def chart(**params: str) -> tuple[dict[str, int], int]:
        context = client.get(reverse(MESSAGES), {**year, **params}).context["volume_chart"]
        return {s.label: s.total for s in context["series"]}, context["rollup_days"]

    rolled, days = chart()
    assert days >= 319 and rolled == {"@TOA#_A": 8, "@TOA#_B": 6, "@TOA#_D": 1}
    assert chart(official_account="@TOA#_B")[0] == {"@TOA#_B": 6}
    assert chart(sdk_app_id=str(UNSIGNED_APP))[0] == {}  # outside the user's apps
    assert chart(q="@TOA#_B") == ({"@TOA#_B": 6}, 0)  # a search: from the messages
    assert chart(element_type="TIMTextElem") == (rolled, 0)
    monkeypatch.setattr(volume, "_from_rollup", lambda *args: None)
    assert chart() == (rolled, 0)


def test_a_list_the_rollup_cannot_answer_is_counted_from_the_messages(
    messages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    refresh(clock=at(NOW))
    every = OfficialAccountMessage.objects.all()
    year = (local(2024, 1, 1), local(2025, 1, 1))
    for other in (
        every.exclude(official_account="@TOA#_B"),
        every.filter(Q(official_account="@TOA#_B") | Q(official_account="@TOA#_C")),
        every.extra(where=["1 = 1"]),  # a condition the rollup cannot read
        every.filter(sdk_app_id__in=AppGrant.objects.values("sdk_app_id")),
    ):
        assert charts(other, *year, monkeypatch)[1] == 0
    # A period after the last day rolled up: all of it from the messages.
    assert charts(every, local(2024, 11, 15), local(2024, 12, 15), monkeypatch)[1] == 0
    # A database the chart only reads from may not refresh it.
    late = NOW + timedelta(days=2)

    def writes_elsewhere(model: Any, **hints: Any) -> str:
        return "replica" if model is MessageVolume else "default"

    monkeypatch.setattr(volume.router, "db_for_write", writes_elsewhere)
    assert charts(every, *year, monkeypatch, late)[1] == 319  # right as far as it goes
    store("late", local(2024, 8, 1, 12))
    assert charts(every, *year, monkeypatch, late)[1] == 0


def test_odd_cases(berlin: None, monkeypatch: pytest.MonkeyPatch) -> None:
    report = refresh(clock=at(NOW))  # no message at all
    assert report.started_over and report.counted == 0
    assert state().counted_until == date(2024, 11, 15)
    assert str(state()) == "Europe/Berlin, until 2024-11-15"
    assert not rollup.up_to_date(MessageVolumeState(time_zone="UTC"), NOW)
    store("1", local(2024, 6, 1, 12))
    refresh(clock=at(NOW))
    assert str(MessageVolume.objects.get()) == "@TOA#_A 2024-06-01: 1"
    # The chart's refresh finds the rollup not exact (another zone started it meanwhile).
    monkeypatch.setattr(volume, "refresh", lambda *args, **kwargs: rollup.Refreshed(exact=False))
    store("2", local(2024, 6, 2, 12))
    june = (local(2024, 6, 1), local(2024, 7, 1))
    assert charts(OfficialAccountMessage.objects.all(), *june, monkeypatch)[1] == 0
    # A deletion that does not say a message's day: the rollup starts over.
    OfficialAccountMessage.objects.only("pk").filter(msg_key="2").delete()
    assert not MessageVolumeState.objects.exists()
    assert refresh(clock=at(NOW)).started_over


def test_a_drain_in_flight_during_the_first_build_is_counted(
    berlin: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spool drain keeps the time the callback was spooled as its received_at, so no time
    tells that its transaction was still in flight when the rollup was first built: the
    window's count does, and the day is counted again once it commits."""
    for day in (1, 2, 3):
        store(f"{day}", local(2024, 6, day, 12))
    # The drain's insert has taken its id, and has not committed yet...
    reserved = store("drained", local(2024, 6, 4, 12))
    in_flight = reserved.pk
    reserved.delete()
    store("after", local(2024, 6, 6, 12))  # ...while a later one has committed.
    refresh(clock=at(NOW))  # the first build
    assert sum(MessageVolume.objects.values_list("count", flat=True)) == 4
    store("drained", local(2024, 6, 4, 12), id=in_flight, received=local(2024, 6, 4, 12, 1))
    for minutes in (5, 15, 30):
        refresh(clock=at(NOW + timedelta(minutes=minutes)))
    assert MessageVolume.objects.get(day=date(2024, 6, 4)).count == 1
    june = (local(2024, 6, 1), local(2024, 7, 1))
    every = OfficialAccountMessage.objects.all()
    counted, days = volume.counts(every, "day", *june, field="msg_time", now=NOW)
    assert days == 30
    assert counted == volume.raw_counts(every, "day", *june, "msg_time")


def test_a_large_backfill_leaves_the_chart_counting_the_messages_until_the_command_runs(
    messages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More late messages than the chart may look through (LAZY_ROWS) cost it one bounded
    count, not a scan of them all: it counts the messages until officialaccount_rollup has
    counted their days and settled past them, and then reads the rollup again."""
    refresh(clock=at(NOW))
    refresh(clock=at(NOW + SETTLE))  # settled: the window is empty
    monkeypatch.setattr(volume, "LAZY_ROWS", 3)
    for n in range(4):  # a backfill of last year's history
        store(f"old-{n}", local(2024, 2, 10 + n, 12))
    every = OfficialAccountMessage.objects.all()
    year = (local(2024, 1, 1), local(2025, 1, 1))
    looked: list[int | None] = []
    real = rollup.stale_days

    def stale_days(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        looked.append(None if found is None else len(found))
        return found

    monkeypatch.setattr(volume, "stale_days", stale_days)
    later = NOW + SETTLE
    counted, days = volume.counts(every, "month", *year, field="msg_time", now=later)
    assert (days, looked) == (0, [None])  # too many to look through: the messages counted
    assert counted == volume.raw_counts(every, "month", *year, "msg_time")
    for settling in (2, 3):  # what officialaccount_rollup does from cron
        refresh(clock=at(NOW + settling * SETTLE))
    later = NOW + 3 * SETTLE
    counted, days = volume.counts(every, "month", *year, field="msg_time", now=later)
    assert days == 319 and counted == volume.raw_counts(every, "month", *year, "msg_time")
    assert MessageVolume.objects.filter(day__range=(date(2024, 2, 10), date(2024, 2, 13))).count()


def test_the_admins_delete_action_takes_its_selection_off_the_rollup_at_once(
    messages: None, admin_client: Client, forgotten: list[int]
) -> None:
    refresh(clock=at(NOW))
    doomed = OfficialAccountMessage.objects.filter(msg_key__in=["3", "9", "11"])
    selected = list(doomed.values_list("pk", flat=True))
    action = {"action": "delete_selected", "_selected_action": selected, "post": "yes"}
    assert admin_client.post(reverse(MESSAGES), action).status_code == 302
    assert not doomed.exists()
    assert forgotten == [3]
    every = OfficialAccountMessage.objects.all()
    year = (local(2024, 1, 1), local(2025, 1, 1))
    counted, days = volume.counts(every, "month", *year, field="msg_time", now=NOW)
    assert days == 319 and counted == volume.raw_counts(every, "month", *year, "msg_time")


def test_a_first_build_settles_before_the_chart_reads_a_large_window(
    messages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after a first build every message is in the window (any may have been in
    flight): the chart does not count them all on a page; it counts the messages until a
    refresh SETTLE later has moved the window up. A rebuild starts from the settled id."""
    monkeypatch.setattr(volume, "LAZY_ROWS", 3)
    refresh(clock=at(NOW))
    assert state().scan_from_id == 0 and state().window_rows > 3
    every = OfficialAccountMessage.objects.all()
    year = (local(2024, 1, 1), local(2025, 1, 1))
    assert volume.counts(every, "month", *year, field="msg_time", now=NOW)[1] == 0
    later = NOW + SETTLE
    refresh(clock=at(later))
    settled = state().seen_id
    assert state().scan_from_id == settled and state().window_rows == 0
    counted, days = volume.counts(every, "month", *year, field="msg_time", now=later)
    assert days == 319 and counted == volume.raw_counts(every, "month", *year, "msg_time")
    call_command("officialaccount_rollup", "--rebuild", stdout=StringIO())
    assert state().scan_from_id == settled  # read SETTLE ago: settled, kept by the rebuild


@pytest.mark.parametrize("race", [False, True], ids=["after", "between"])
def test_a_deletion_between_a_refreshs_transactions_leaves_a_late_commit_counted(
    berlin: None, race: bool
) -> None:
    """A refresh counts its window in one transaction and saves the count in a later one; a
    deletion in between lowers the window. Had the refresh saved its older count, a message
    committed later would bring the window back to that count and never be looked at."""
    for n in range(5):
        store(f"m{n}", local(2024, 6, 1, 12))
    reserved = store("y", local(2024, 6, 3, 12))
    in_flight = reserved.pk
    reserved.delete()  # an id taken by a transaction still in flight
    store("after", local(2024, 6, 4, 12))
    refresh(clock=at(NOW))  # the first build
    store("late", local(2024, 6, 2, 12))  # a day for the next refresh to count again
    deleted: list[int] = []

    def progress(_line: str) -> None:  # called between the refresh's transactions
        if race and not deleted:
            deleted.append(OfficialAccountMessage.objects.filter(msg_key="m0").delete()[0])

    refresh(clock=at(NOW + timedelta(minutes=1)), progress=progress)
    if not race:
        OfficialAccountMessage.objects.filter(msg_key="m0").delete()
    store("y", local(2024, 6, 3, 12), id=in_flight)  # the transaction in flight commits
    for minutes in (2, 15, 30, 45):
        refresh(clock=at(NOW + timedelta(minutes=minutes)))
    days = dict(MessageVolume.objects.values_list("day", "count"))
    assert (days[date(2024, 6, 1)], days.get(date(2024, 6, 3))) == (4, 1)
