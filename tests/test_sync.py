"""``officialaccount_sync`` and ``sync_account`` against a local server that plays Tencent's
official-account API (tests/fake_tencent_oa.py)."""

from __future__ import annotations

import _thread
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer

from officialaccount_webhook.accounts.sync import SyncInterrupted, SyncReport, sync_account
from officialaccount_webhook.models import OfficialAccount, OfficialAccountSubscriber
from officialaccount_webhook.signals import account_changed, subscribers_changed
from tests.fake_tencent_oa import FakeTencentOA
from tests.settings import SIGNED_APP
from tests.tencent import calling_app

pytestmark = pytest.mark.django_db

NEWS = "@TOA#_news"
SPORTS = "@TOA#_sports"


@dataclass
class Signals:
    accounts: list[tuple[str, str, Any]] = field(default_factory=list)
    subscribers: list[tuple[str, list[str], list[str]]] = field(default_factory=list)

    def clear(self) -> None:
        self.accounts.clear()
        self.subscribers.clear()


@pytest.fixture
def signals() -> Iterator[Signals]:
    log = Signals()

    def on_account(account: OfficialAccount, change: str, event_time: Any, **_: Any) -> None:
        log.accounts.append((account.official_account, change, event_time))

    def on_subscribers(
        account: OfficialAccount, added: list[str], removed: list[str], **_: Any
    ) -> None:
        log.subscribers.append((account.official_account, sorted(added), sorted(removed)))

    account_changed.connect(on_account)
    subscribers_changed.connect(on_subscribers)
    yield log
    account_changed.disconnect(on_account)
    subscribers_changed.disconnect(on_subscribers)


def fake_for(httpserver: HTTPServer, **options: int) -> FakeTencentOA:
    return FakeTencentOA(**options).install(httpserver)


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeTencentOA:
    return fake_for(httpserver, page_cap=2)


@pytest.fixture(autouse=True)
def tencent(httpserver: HTTPServer) -> Iterator[None]:
    conf = {
        "APPS": {SIGNED_APP: calling_app(httpserver.url_for("/"))},
        "REST_RETRY_BACKOFF": 0,
        "REST_RATE_LIMIT": 100_000,
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        yield


@pytest.fixture
def sync(django_capture_on_commit_callbacks: Any) -> Callable[..., SyncReport]:
    """``sync_account`` for the signed app, its on-commit callbacks run when it returns."""

    def run(official_account: str = NEWS, **options: Any) -> SyncReport:
        with django_capture_on_commit_callbacks(execute=True):
            return sync_account(SIGNED_APP, official_account, **options)

    return run


def subscribers(official_account: str = NEWS) -> dict[str, OfficialAccountSubscriber]:
    return {
        row.subscriber_account: row
        for row in OfficialAccountSubscriber.objects.filter(
            account__official_account=official_account
        )
    }


def current(official_account: str = NEWS) -> list[str]:
    rows = subscribers(official_account).values()
    return sorted(row.subscriber_account for row in rows if row.unsubscribed_at is None)


def news(fake: FakeTencentOA) -> Any:
    return fake.add_account(
        NEWS, name="News", introduction="Daily", organization="Org", owner_account="107867"
    ).subscribe("alice", "bob", "carol", "dave", "erin", at=1_700_000_500, custom_string="c")


# ------------------------------------------------------------------ the four runs


def test_first_sync(
    fake: FakeTencentOA, signals: Signals, django_capture_on_commit_callbacks: Any
) -> None:
    news(fake)
    with django_capture_on_commit_callbacks(execute=True):
        report = sync_account(SIGNED_APP, NEWS)
        assert signals.accounts == signals.subscribers == []  # nothing before the commit
    account = OfficialAccount.objects.get(sdk_app_id=SIGNED_APP, official_account=NEWS)
    assert (account.name, account.introduction, account.organization, account.owner_account) == (
        "News",
        "Daily",
        "Org",
        "107867",
    )
    assert account.created_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert account.subscriber_count == 5
    assert account.synced_at is not None
    assert current() == ["alice", "bob", "carol", "dave", "erin"]
    alice = subscribers()["alice"]
    assert alice.subscribed_at == datetime.fromtimestamp(1_700_000_500, tz=UTC)
    assert (alice.custom_string, alice.msg_flag) == ("c", "AcceptAndNotify")
    assert alice.synced_at is not None
    assert (report.new, report.complete, report.pages, report.seen, report.added) == (
        True,
        True,
        3,
        5,
        5,
    )
    # Once each, after the commit: the account, and each page's new subscribers.
    assert signals.accounts == [(NEWS, "created", None)]
    assert signals.subscribers == [
        (NEWS, ["alice", "bob"], []),
        (NEWS, ["carol", "dave"], []),
        (NEWS, ["erin"], []),
    ]
    assert [body["Limit"] for body in fake.bodies("get_subscriber_info")] == [200, 200, 200]


def test_a_second_sync_changes_nothing(
    fake: FakeTencentOA, signals: Signals, sync: Callable[..., SyncReport]
) -> None:
    news(fake)
    sync()
    before = {name: (row.subscribed_at, row.custom_string) for name, row in subscribers().items()}
    signals.clear()
    report = sync()
    assert not report.changed
    assert (report.added, report.removed, report.updated, report.changed_fields) == (0, 0, 0, [])
    assert signals.accounts == signals.subscribers == []
    after = {name: (row.subscribed_at, row.custom_string) for name, row in subscribers().items()}
    assert after == before


def test_a_sync_after_changes_on_tencents_side(
    fake: FakeTencentOA, signals: Signals, sync: Callable[..., SyncReport]
) -> None:
    account = news(fake)
    sync()
    signals.clear()
    account.unsubscribe("bob", "dave").subscribe("frank", "gina")
    account.subscribers["alice"].custom_string = "vip"
    account.profile["Name"] = "Daily News"
    report = sync()
    assert (report.added, report.removed, report.updated) == (2, 2, 1)
    assert report.changed_fields == ["name"]
    assert current() == ["alice", "carol", "erin", "frank", "gina"]
    rows = subscribers()
    assert rows["bob"].unsubscribed_at is not None  # kept, marked
    assert rows["alice"].custom_string == "vip"
    account_row = OfficialAccount.objects.get(official_account=NEWS)
    assert (account_row.name, account_row.subscriber_count) == ("Daily News", 5)
    assert signals.accounts == [(NEWS, "changed", None)]
    added = sorted(name for _, names, _ in signals.subscribers for name in names)
    assert added == ["frank", "gina"]
    assert [removed for _, _, removed in signals.subscribers if removed] == [["bob", "dave"]]
    # Someone who comes back is subscribed again, on the same row.
    account.subscribe("bob")
    signals.clear()
    sync()
    assert "bob" in current()
    assert signals.subscribers == [(NEWS, ["bob"], [])]


def test_an_interrupted_sync_run_again_finishes_the_job(
    fake: FakeTencentOA, signals: Signals, sync: Callable[..., SyncReport]
) -> None:
    account = news(fake)
    sync()
    account.unsubscribe("erin").subscribe("abe", "zoe")
    signals.clear()

    def stop_after_two_pages(report: SyncReport) -> None:
        if report.pages == 2:
            raise KeyboardInterrupt

    with pytest.raises(SyncInterrupted) as caught:
        sync(progress=stop_after_two_pages)
    assert isinstance(caught.value, KeyboardInterrupt)
    assert (caught.value.report.pages, caught.value.report.complete) == (2, False)
    # The pages read are stored; erin is not marked yet: the listing did not reach its end.
    assert current() == ["abe", "alice", "bob", "carol", "dave", "erin"]
    assert signals.subscribers == [(NEWS, ["abe"], [])]
    signals.clear()
    report = sync()
    assert report.complete
    assert current() == ["abe", "alice", "bob", "carol", "dave", "zoe"]
    assert (report.added, report.removed) == (1, 1)
    assert signals.subscribers == [(NEWS, ["zoe"], []), (NEWS, [], ["erin"])]


# ------------------------------------------------------------------ edges


def test_an_account_tencent_no_longer_has_is_marked_destroyed(
    fake: FakeTencentOA, signals: Signals, sync: Callable[..., SyncReport]
) -> None:
    news(fake)
    sync()
    del fake.accounts[NEWS]
    signals.clear()
    report = sync()
    assert (report.gone, report.destroyed) == (True, True)
    account = OfficialAccount.objects.get(official_account=NEWS)
    assert account.destroyed_at is not None
    assert len(current()) == 5  # the subscriber rows stay as they were
    assert signals.accounts == [(NEWS, "destroyed", None)]
    signals.clear()
    assert not sync().destroyed
    assert signals.accounts == []
    # An account never known and not on Tencent gets no row.
    assert sync("@TOA#_never").gone
    assert not OfficialAccount.objects.filter(official_account="@TOA#_never").exists()


def test_a_whole_call_refusal_also_means_gone(
    fake: FakeTencentOA, sync: Callable[..., SyncReport]
) -> None:
    OfficialAccount.objects.create(sdk_app_id=SIGNED_APP, official_account=NEWS)
    fake.not_found_fails_whole_call = True
    assert sync().destroyed


def test_a_callback_newer_than_the_read_stands(
    fake: FakeTencentOA, sync: Callable[..., SyncReport]
) -> None:
    news(fake)
    sync()
    later = timezone.now() + timedelta(hours=1)
    # A callback said bob left, stamped after this sync reads: the sync does not undo it.
    OfficialAccountSubscriber.objects.filter(subscriber_account="bob").update(
        unsubscribed_at=later, event_time=later
    )
    # And one said frank joined, whom Tencent's listing does not have yet.
    account = OfficialAccount.objects.get(official_account=NEWS)
    OfficialAccountSubscriber.objects.create(
        account=account, subscriber_account="frank", subscribed_at=later, event_time=later
    )
    sync()
    assert current() == ["alice", "carol", "dave", "erin", "frank"]


def test_profiles_only(fake: FakeTencentOA, sync: Callable[..., SyncReport]) -> None:
    news(fake)
    report = sync(subscribers=False)
    assert (report.pages, report.subscriber_count) == (0, 5)
    assert fake.bodies("get_subscriber_info") == []
    assert OfficialAccount.objects.get(official_account=NEWS).subscriber_count == 5


# ------------------------------------------------------------------ the command


def test_command_syncs_every_known_account(fake: FakeTencentOA, signals: Signals) -> None:
    news(fake)
    fake.add_account(SPORTS, name="Sports").subscribe("zed")
    for name in (NEWS, SPORTS):
        OfficialAccount.objects.create(sdk_app_id=SIGNED_APP, official_account=name)
    OfficialAccount.objects.create(
        sdk_app_id=SIGNED_APP, official_account="@TOA#_old", destroyed_at=timezone.now()
    )
    out = StringIO()
    call_command("officialaccount_sync", "--sdkappid", str(SIGNED_APP), stdout=out)
    text = out.getvalue()
    assert f"{NEWS}: changed " in text
    assert "5 subscriber(s) read in 3 page(s): 5 added, 0 removed, 0 updated" in text
    assert f"{SPORTS}: changed" in text
    assert "Synced 2 account(s); 2 changed." in text
    assert "\r" not in text  # no progress when stdout is not a terminal
    assert "@TOA#_old" not in [body for body in map(str, fake.bodies("get_official_account_info"))]
    assert current(SPORTS) == ["zed"]


def test_command_progress_on_a_terminal(fake: FakeTencentOA) -> None:
    news(fake)

    class Terminal(StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    call_command(
        "officialaccount_sync", "--sdkappid", str(SIGNED_APP), "--account", NEWS, stdout=out
    )
    assert f"\r{NEWS}: 4 of 5 subscriber(s) read in 2 page(s)" in out.getvalue()
    assert f"\r{NEWS}: 5 of 5 subscriber(s) read in 3 page(s)\n{NEWS}: new" in out.getvalue()


def test_command_without_known_accounts(fake: FakeTencentOA) -> None:
    out = StringIO()
    call_command("officialaccount_sync", "--sdkappid", str(SIGNED_APP), stdout=out)
    assert "knows no account" in out.getvalue()
    assert fake.requests == []


def test_command_reports_tencents_refusal(fake: FakeTencentOA) -> None:
    news(fake)
    fake.fail("get_subscriber_info", 10007)
    with pytest.raises(CommandError, match=r"failed for @TOA#_news: .*10007.*run again"):
        call_command("officialaccount_sync", "--sdkappid", str(SIGNED_APP), "--account", NEWS)


def test_command_interrupted_by_ctrl_c_then_run_again(
    fake: FakeTencentOA, signals: Signals
) -> None:
    news(fake)

    def ctrl_c_on_the_second_page(command: str, body: dict[str, Any]) -> None:
        if command == "get_subscriber_info" and body["Next"] and fake.hook is not None:
            fake.hook = None
            _thread.interrupt_main()  # as the terminal's Ctrl-C: KeyboardInterrupt in the sync

    fake.hook = ctrl_c_on_the_second_page
    with pytest.raises(CommandError) as caught:
        call_command("officialaccount_sync", "--sdkappid", str(SIGNED_APP), "--account", NEWS)
    assert caught.value.returncode == 130
    assert f"Interrupted during {NEWS} (2 of 5 subscriber(s) read in 1 page(s))" in str(
        caught.value
    )
    assert "run the command again" in str(caught.value)
    assert current() == ["alice", "bob"]
    out = StringIO()
    call_command(
        "officialaccount_sync", "--sdkappid", str(SIGNED_APP), "--account", NEWS, stdout=out
    )
    assert current() == ["alice", "bob", "carol", "dave", "erin"]
    assert "3 added, 0 removed" in out.getvalue()


# ------------------------------------------------------------------ size


# Each page commits, as in production (and ANALYZE sees the rows).
@pytest.mark.django_db(transaction=True)
def test_a_hundred_thousand_subscribers_are_handled_a_page_at_a_time(
    httpserver: HTTPServer,
    signals: Signals,
    sync: Callable[..., SyncReport],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    total = 100_000
    fake = fake_for(httpserver)  # Tencent's own page size, 200
    fake.add_account(NEWS, name="Big").generate(total)
    # Peak of subscriber rows alive in this process at once: the sync must drop each page's.
    alive = [0, 0]  # now, peak

    def gone(_: object) -> None:
        alive[0] -= 1

    original_init = OfficialAccountSubscriber.__init__

    def counted_init(self: OfficialAccountSubscriber, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        alive[0] += 1
        alive[1] = max(alive)
        weakref.finalize(self, gone, None)

    monkeypatch.setattr(OfficialAccountSubscriber, "__init__", counted_init)
    largest: list[int] = [0]

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("SELECT") and "officialaccountsubscriber" in sql:
            largest[0] = max(largest[0], len(params or ()))
        return execute(sql, params, many, context)

    def analyze(report: SyncReport) -> None:
        # In production each page commits and autovacuum keeps the table's statistics; its
        # naptime is a minute, so the test analyzes itself. Without statistics PostgreSQL
        # takes a new account's rows for a few and scans them all for each page.
        if report.pages % 25 == 1:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {OfficialAccountSubscriber._meta.db_table}")

    with connection.execute_wrapper(watch):
        report = sync(progress=analyze)
    assert (report.complete, report.pages, report.seen, report.added) == (True, 500, total, total)
    assert OfficialAccountSubscriber.objects.filter(unsubscribed_at__isnull=True).count() == total
    assert alive[1] <= 2 * 200  # at most a page's rows, and the next page's as it is made
    assert 200 <= largest[0] <= 200 + 10  # no read names more than a page of subscribers
    assert len(signals.subscribers) == 500
    assert max(len(added) for _, added, _ in signals.subscribers) == 200
    assert OfficialAccount.objects.get(official_account=NEWS).subscriber_count == total
