"""Time the admin's pages on PostgreSQL with a million messages.

    .venv/bin/python bench/admin_bench.py [--messages 1000000] [--runs 5]

It uses BENCH_DATABASE_URL, or postgres://postgres@127.0.0.1:5432/officialaccount_bench (created
if missing; never point it at data you keep: it adds a million rows), migrates it, fills it with realistic messages up to --messages (a bulk COPY; existing
rows are kept, so a second run starts timing at once), then times each page server side, in
process, through Django's test client: the median of --runs, after one warm-up. Goal: each page
under 300 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/officialaccount_bench"
WORDS = [
    *("sale", "spring", "summer", "coupon", "order", "shipped", "welcome", "update"),
    *("event", "news", "price", "launch", "reminder", "member", "points", "gift"),
    *("flash", "weekend", "store", "app", "new", "hello", "thanks", "delivery"),
]


def ensure_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


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


def analyze() -> None:
    """Fresh statistics, as autovacuum keeps them in production (expression indexes need them)."""
    from django.db import connection

    from officialaccount_webhook.models import OfficialAccountMessage

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OfficialAccountMessage._meta.db_table}")


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
        print(f"  {name:<26} {median:8.1f} ms   ({verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="time only the pages whose name holds this")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark is for PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("TENCENT_CHAT_SDKAPPID", "1400000000")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    fill(args.messages)
    analyze()
    time_pages(args.runs, args.only)


if __name__ == "__main__":
    main()
