"""Time the admin's pages on PostgreSQL with a million messages.

    .venv/bin/python bench/admin_bench.py [--messages 1000000] [--runs 5]

It uses BENCH_DATABASE_URL, or postgres://postgres@127.0.0.1:5432/officialaccount_bench (created
if missing; never point it at data you keep: it adds a million rows), migrates it, fills it with realistic messages up to --messages (a bulk COPY; existing
rows are kept, so a second run starts timing at once), then times each page server side, in
process, through Django's test client: the median of --runs, after one warm-up. Goal: each page
under 300 ms on 2 cores.

Before the pages it builds the chart's rollup from scratch (``officialaccount_rollup
--rebuild``: its time and peak Python memory), then times a refresh after 100 messages stored
late for five closed days, and one with nothing to do. ``--without-rollup`` drops the rollup
afterwards, to time the chart counting the messages instead.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import start_django  # noqa: E402  # after the path is set

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/officialaccount_bench"
WORDS = [
    *("sale", "spring", "summer", "coupon", "order", "shipped", "welcome", "update"),
    *("event", "news", "price", "launch", "reminder", "member", "points", "gift"),
    *("flash", "weekend", "store", "app", "new", "hello", "thanks", "delivery"),
]


def sample_bodies() -> list[list[object]]:
    folder = ROOT / "officialaccount_webhook" / "samples"
    return [json.loads(path.read_text())["MsgBody"] for path in sorted(folder.glob("*.json"))]


def fill(target: int) -> None:
    from django.db import connection

    from officialaccount_webhook.models import OfficialAccountMessage, derived_columns

    present = OfficialAccountMessage.objects.count()
    if present >= target:
        print(f"{present:,} messages present")
        return
    rng = random.Random(present)
    bodies = sample_bodies()
    accounts = [f"@TOA#_BENCH{n:03d}" for n in range(50)]
    start = datetime(2025, 11, 1, tzinfo=UTC)
    columns = (
        "sdk_app_id, official_account, msg_key, msg_time, online_only, msg_body, "
        "cloud_custom_data, event_time, client_ip, opt_platform, extra, received_at, "
        "recall_reason, recall_requested_by, receiver_error, text_content, element_types, "
        "backfilled, signalled_at"
    )
    table = OfficialAccountMessage._meta.db_table
    began = time.monotonic()
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor() as raw,
        raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for n in range(present, target):
            body = json.loads(json.dumps(rng.choice(bodies)))
            if body[0]["MsgType"] == "TIMTextElem":
                body[0]["MsgContent"]["Text"] = " ".join(rng.choices(WORDS, k=rng.randint(3, 12)))
            when = start + timedelta(seconds=n * 31_536_000 // target)
            account = accounts[n % len(accounts)]
            derived = derived_columns(body)
            copy.write_row(
                (
                    1400000000,
                    account,
                    f"{n // len(accounts)}_1_{int(when.timestamp())}",
                    when,
                    n % 10 == 0,
                    json.dumps(body, ensure_ascii=False),
                    "",
                    when,
                    "203.0.113.7",
                    "RESTAPI",
                    "{}",
                    when,
                    "",
                    "",
                    "",
                    derived["text_content"],
                    derived["element_types"],
                    False,
                    when,
                )
            )
    print(f"inserted {target - present:,} messages in {time.monotonic() - began:.0f} s")


def analyze(table: str = "") -> None:
    """Fresh statistics, as autovacuum keeps them in production (expression indexes need them)."""
    from django.db import connection

    from officialaccount_webhook.models import OfficialAccountMessage

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table or OfficialAccountMessage._meta.db_table}")


def big_message() -> Any:
    """One message of 70,000 elements (DETAIL_MAX_ELEMENTS bounds its page), dated before the
    others so that no list page shows it."""
    from officialaccount_webhook.models import OfficialAccountMessage

    when = datetime(2025, 6, 1, tzinfo=UTC)
    body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}] * 70_000
    message, _ = OfficialAccountMessage.objects.get_or_create(
        sdk_app_id=1400000000,
        official_account="@TOA#_BENCHBIG",
        msg_key=f"1_1_{int(when.timestamp())}",
        defaults={"msg_time": when, "event_time": when, "msg_body": body},
    )
    return message


def time_rollup() -> None:
    """The rollup's first build, a refresh after messages stored late, and an idle refresh."""
    from django.core.management import call_command

    from officialaccount_webhook.models import (
        MessageVolume,
        MessageVolumeState,
        OfficialAccountMessage,
        derived_columns,
    )
    from officialaccount_webhook.volume import refresh

    print("\nthe chart's rollup:")
    tracemalloc.start()
    began = time.perf_counter()
    call_command("officialaccount_rollup", "--rebuild", stdout=io.StringIO())
    built = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    state = MessageVolumeState.objects.get()
    print(
        f"  first build (officialaccount_rollup --rebuild)  {built:8.1f} s   "
        f"{MessageVolume.objects.count():,} rows, days before {state.counted_until}, "
        f"peak Python memory {peak / 1e6:.1f} MB"
    )
    analyze(MessageVolume._meta.db_table)
    # Until a refresh has read the newest id at least SETTLE after the build, any message may
    # have been in flight: the window is the whole table, and the chart counts the messages.
    # Cron's next refresh settles it; played here with a clock SETTLE ahead.
    from django.utils import timezone

    from officialaccount_webhook.volume import SETTLE

    began = time.perf_counter()
    refresh(clock=lambda: timezone.now() + SETTLE)
    took = (time.perf_counter() - began) * 1000
    print(f"  {'the next refresh, SETTLE later (settles it)':<46} {took:8.1f} ms")
    # 100 messages stored late (a backfill, a spool drained) for five closed days of March.
    body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "late"}}]
    stamp = int(time.time())
    late = [
        OfficialAccountMessage(
            sdk_app_id=1400000000,
            official_account=f"@TOA#_BENCH{n % 50:03d}",
            msg_key=f"late_{stamp}_{n}",
            msg_time=datetime(2026, 3, 10 + n % 5, 12, n % 60, tzinfo=UTC),
            event_time=datetime(2026, 3, 10 + n % 5, 12, n % 60, tzinfo=UTC),
            msg_body=body,
            **derived_columns(body),
        )
        for n in range(100)
    ]
    OfficialAccountMessage.objects.bulk_create(late)
    for name in ("refresh after 100 late messages, 5 days", "refresh with nothing to do"):
        began = time.perf_counter()
        report = refresh()
        took = (time.perf_counter() - began) * 1000
        print(f"  {name:<46} {took:8.1f} ms   ({report.recounted} day(s) counted again)")
    same_chart()
    # Deleting them takes them off the rollup again, in the deleting transaction.
    began = time.perf_counter()
    OfficialAccountMessage.objects.filter(msg_key__startswith=f"late_{stamp}_").delete()
    took = (time.perf_counter() - began) * 1000
    print(f"  {'deleting those 100 through the ORM':<46} {took:8.1f} ms")


def same_chart() -> None:
    """The year's chart from the rollup is the chart from the messages (counted without a
    budget here), bar for bar."""
    from officialaccount_webhook.admin import volume
    from officialaccount_webhook.admin.chart import chart_context
    from officialaccount_webhook.models import OfficialAccountMessage

    year = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    rolled = chart_context(OfficialAccountMessage.objects.all(), *year)
    from_rollup = volume._from_rollup
    volume._from_rollup = lambda *args: None  # type: ignore[assignment]
    try:
        raw = chart_context(OfficialAccountMessage.objects.all(), *year)
    finally:
        volume._from_rollup = from_rollup
    days = rolled.pop("rollup_days")
    raw.pop("rollup_days")
    assert rolled == raw, "the rollup's chart differs from the messages'"
    print(f"  the year's chart from the rollup ({days} days) is the chart from the messages")


def time_lazy_refresh(runs: int) -> None:
    """The year's chart page when the rollup is behind and the page brings it up to date
    itself, at the most it does (LAZY_DAYS days of about 2,700 messages): seven days closed
    since the last refresh, or seven days to count again. Each run puts the rollup back first."""
    from datetime import date

    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from officialaccount_webhook.admin.volume import LAZY_DAYS
    from officialaccount_webhook.models import MessageVolume, MessageVolumeState
    from officialaccount_webhook.volume import refresh

    user = User.objects.get(username="bench")
    client = Client()
    client.force_login(user)
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_changelist")
    year = {
        "msg_time__gte": "2026-01-01T00:00:00+00:00",
        "msg_time__lt": "2027-01-01T00:00:00+00:00",
    }
    behind = date(2026, 10, 31) - timedelta(days=LAZY_DAYS - 1)
    dirty = [(date(2026, 3, 10) + timedelta(days=n)).isoformat() for n in range(LAZY_DAYS)]

    def closing() -> None:
        MessageVolume.objects.filter(day__gte=behind).delete()
        MessageVolumeState.objects.update(counted_until=behind)

    def closed() -> bool:
        return MessageVolumeState.objects.get().counted_until == behind + timedelta(LAZY_DAYS)

    def recounting() -> None:
        MessageVolumeState.objects.update(dirty_days=dirty)

    def recounted() -> bool:
        return MessageVolumeState.objects.get().dirty_days == []

    print("\nthe year's chart page when the page brings the rollup up to date:")
    for name, setback, done in (
        (f"{LAZY_DAYS} days closed since the last refresh", closing, closed),
        (f"{LAZY_DAYS} days to count again", recounting, recounted),
    ):
        refresh()
        timings = []
        for _ in range(runs):
            setback()
            began = time.perf_counter()
            response = client.get(url, year)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200 and done(), name
        median = statistics.median(timings)
        verdict = "ok" if median < 300 else "OVER 300 ms"
        print(f"  {name:<40} {median:8.1f} ms   ({verdict})")
    refresh()


def time_pages(runs: int, only: str = "") -> None:
    from django.contrib.auth.models import User
    from django.test import Client
    from django.urls import reverse

    from officialaccount_webhook.models import OfficialAccountMessage

    user, _ = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    changelist = reverse("admin:officialaccount_webhook_officialaccountmessage_changelist")
    some = OfficialAccountMessage.objects.order_by("-msg_time")[12345]
    big = big_message()
    pages = {
        "list": (changelist, {}),
        "list filtered by account": (changelist, {"official_account": some.official_account}),
        "MsgKey search": (changelist, {"q": some.msg_key}),
        "text search": (changelist, {"q": "flash"}),
        "text search, two letters": (changelist, {"q": "ne"}),  # refused: no index serves it
        "text search, ten one-letter words": (changelist, {"q": "a b c d e f g h i j"}),
        "text search, no match": (changelist, {"q": "zebra"}),
        "list filtered by element type": (changelist, {"element_type": "TIMImageElem"}),
        "list of recalled messages": (changelist, {"recalled": "yes"}),
        "drill-down, one month": (
            changelist,
            {
                "msg_time__gte": "2026-03-01T00:00:00+00:00",
                "msg_time__lt": "2026-04-01T00:00:00+00:00",
            },
        ),
        # The chart follows the drill-down: bars of hours, days or months over its range.
        "chart, drill-down one day": (
            changelist,
            {
                "msg_time__gte": "2026-03-10T00:00:00+00:00",
                "msg_time__lt": "2026-03-11T00:00:00+00:00",
            },
        ),
        "chart, drill-down one year": (
            changelist,
            {
                "msg_time__gte": "2026-01-01T00:00:00+00:00",
                "msg_time__lt": "2027-01-01T00:00:00+00:00",
            },
        ),
        "chart, one year, one account": (
            changelist,
            {
                "official_account": some.official_account,
                "msg_time__gte": "2026-01-01T00:00:00+00:00",
                "msg_time__lt": "2027-01-01T00:00:00+00:00",
            },
        ),
        # Every message: the data's twelve months (November 2025 to October 2026).
        "chart, the data's twelve months": (
            changelist,
            {
                "msg_time__gte": "2025-11-01T00:00:00+00:00",
                "msg_time__lt": "2026-11-01T00:00:00+00:00",
            },
        ),
        # A search or another filter: the messages are counted, within the chart's budget.
        "chart, one year, element type filter": (
            changelist,
            {
                "element_type": "TIMImageElem",
                "msg_time__gte": "2026-01-01T00:00:00+00:00",
                "msg_time__lt": "2027-01-01T00:00:00+00:00",
            },
        ),
        "detail page": (
            reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[some.pk]),
            {},
        ),
        "detail page, 70,000 elements": (
            reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[big.pk]),
            {},
        ),
    }
    total = OfficialAccountMessage.objects.count()
    print(f"\n{total:,} messages; median of {runs} runs after a warm-up, server side:")
    for name, (url, params) in pages.items():
        if only not in name:
            continue
        client.get(url, params)
        timings = []
        for _ in range(runs):
            began = time.perf_counter()
            response = client.get(url, params)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        median = statistics.median(timings)
        verdict = "ok" if median < 300 else "OVER 300 ms"
        print(f"  {name:<40} {median:8.1f} ms   ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="time only the pages whose name holds this")
    parser.add_argument(
        "--without-rollup",
        action="store_true",
        help="time the pages with no rollup: the chart counts the messages",
    )
    args = parser.parse_args()
    start_django(DEFAULT_URL, 1400000000)
    fill(args.messages)
    analyze()
    time_rollup()
    if args.without_rollup:
        from officialaccount_webhook.models import MessageVolumeState

        MessageVolumeState.objects.all().delete()
    time_pages(args.runs, args.only)
    if not args.without_rollup:
        time_lazy_refresh(args.runs)


if __name__ == "__main__":
    main()
