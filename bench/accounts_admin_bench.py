"""Time the admin's account and subscriber pages on PostgreSQL with 1,000 official accounts and
1,000,000 subscriber rows.

    .venv/bin/python bench/accounts_admin_bench.py [--subscribers 1000000] [--runs 5]

It uses BENCH_DATABASE_URL, or postgres://postgres@127.0.0.1:5432/adminbench (created if
missing; never point it at data you keep: it adds a million rows), migrates it, fills it (a
bulk COPY; existing rows are kept, so a second run starts timing at once) with:

- 1,000 accounts in two apps (900 and 100), a few destroyed, a few full;
- subscribers spread unevenly: one account with 200,000, the others a few hundred to a
  thousand and more each, up to --subscribers rows in all; one row in ten a former subscriber;
  user IDs shared between accounts, as people follow several;
- 100,000 messages over the accounts, for the list's last message times.

Then it times each page server side, in process, through Django's test client: the median of
--runs, after one warm-up. Goal: each page under 300 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.database import start_django  # noqa: E402  # after the path is set

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/adminbench"
APPS = (1400000000, 1400000001)
ACCOUNTS = 1000
BIG_ACCOUNT = 200_000
MESSAGES = 100_000
USERS = 400_000
START = datetime(2025, 1, 1, tzinfo=UTC)


def account_id(n: int) -> str:
    return f"@TOA#_BENCH{n:04d}"


def fill_accounts() -> None:
    from officialaccount_webhook.models import OfficialAccount

    if OfficialAccount.objects.count() >= ACCOUNTS:
        return
    OfficialAccount.objects.bulk_create(
        [
            OfficialAccount(
                sdk_app_id=APPS[0] if n < 900 else APPS[1],
                official_account=account_id(n),
                name=f"Bench store {n}",
                owner_account=f"owner{n % 20}",
                introduction="A store of the benchmark.",
                created_at=START + timedelta(hours=n),
                destroyed_at=START + timedelta(days=300) if n % 97 == 0 else None,
                is_full=n % 89 == 0,
            )
            for n in range(ACCOUNTS)
        ],
        ignore_conflicts=True,
    )


def sizes(target: int) -> list[int]:
    """How many subscribers each account has: one big one, the rest uneven, summing to
    ``target``."""
    rng = random.Random(7)
    rest = target - BIG_ACCOUNT
    weights = [rng.paretovariate(2.0) for _ in range(ACCOUNTS - 1)]
    total = sum(weights)
    counts = [int(rest * weight / total) for weight in weights]
    counts[0] += rest - sum(counts)
    return [BIG_ACCOUNT, *counts]


def fill_subscribers(target: int) -> None:
    from django.db import connection

    from officialaccount_webhook.models import OfficialAccount, OfficialAccountSubscriber

    present = OfficialAccountSubscriber.objects.count()
    if present >= target:
        print(f"{present:,} subscriber rows present")
        return
    OfficialAccountSubscriber.objects.all().delete()
    pks = dict(OfficialAccount.objects.values_list("official_account", "pk"))
    table = OfficialAccountSubscriber._meta.db_table
    columns = (
        "account_id, subscriber_account, subscribed_at, unsubscribed_at, custom_string, "
        "msg_flag, event_time"
    )
    began = time.monotonic()
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor() as raw,
        raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for n, count in enumerate(sizes(target)):
            pk = pks[account_id(n)]
            for j in range(count):
                # Distinct within the account (count < USERS), shared between accounts.
                user = f"user{(n * 7919 + j) % USERS:06d}"
                subscribed = START + timedelta(seconds=(n * 7919 + j) % 31_536_000)
                former = j % 10 == 9
                unsubscribed = subscribed + timedelta(days=3) if former else None
                copy.write_row(
                    (pk, user, subscribed, unsubscribed, "", "AcceptAndNotify", subscribed)
                )
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {OfficialAccount._meta.db_table} AS a SET subscriber_count = s.n FROM "
            f"(SELECT account_id, count(*) AS n FROM {table} WHERE unsubscribed_at IS NULL "
            "GROUP BY account_id) AS s WHERE s.account_id = a.id"
        )
    print(f"inserted {target:,} subscriber rows in {time.monotonic() - began:.0f} s")


def fill_messages() -> None:
    import json

    from django.db import connection

    from officialaccount_webhook.models import OfficialAccountMessage

    if OfficialAccountMessage.objects.count() >= MESSAGES:
        return
    table = OfficialAccountMessage._meta.db_table
    columns = (
        "sdk_app_id, official_account, msg_key, msg_time, online_only, msg_body, "
        "cloud_custom_data, event_time, client_ip, opt_platform, extra, received_at, "
        "recall_reason, recall_requested_by, receiver_error, text_content, element_types, "
        "backfilled, signalled_at"
    )
    body = json.dumps([{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}])
    with (
        connection.cursor() as cursor,
        cursor.connection.cursor() as raw,
        raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
    ):
        for n in range(MESSAGES):
            # Most messages from the first accounts, as a few accounts send most of them.
            account = min(int(random.Random(n).paretovariate(1.2)) - 1, ACCOUNTS - 1)
            when = START + timedelta(seconds=n * 300)
            app = APPS[0] if account < 900 else APPS[1]
            copy.write_row(
                (
                    *(app, account_id(account), f"{n}_1_{int(when.timestamp())}", when),
                    *(False, body, "", when, "203.0.113.7", "RESTAPI", "{}", when),
                    *("", "", "", "hello", " TIMTextElem ", False, when),
                )
            )


def analyze() -> None:
    """Fresh statistics, as autovacuum keeps them in production."""
    from django.db import connection

    from officialaccount_webhook.models import (
        OfficialAccount,
        OfficialAccountMessage,
        OfficialAccountSubscriber,
    )

    with connection.cursor() as cursor:
        for model in (OfficialAccount, OfficialAccountSubscriber, OfficialAccountMessage):
            cursor.execute(f"ANALYZE {model._meta.db_table}")


def time_pages(runs: int) -> list[tuple[str, float]]:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from officialaccount_webhook.models import OfficialAccount, OfficialAccountSubscriber

    user, _ = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    accounts = reverse("admin:officialaccount_webhook_officialaccount_changelist")
    subscribers = reverse("admin:officialaccount_webhook_officialaccountsubscriber_changelist")
    messages = reverse("admin:officialaccount_webhook_officialaccountmessage_changelist")
    big = OfficialAccount.objects.get(official_account=account_id(0))
    middle = OfficialAccount.objects.get(official_account=account_id(500))
    user_id = OfficialAccountSubscriber.objects.filter(account=middle).first().subscriber_account
    pages: dict[str, tuple[str, dict[str, Any]]] = {
        "accounts list": (accounts, {}),
        "accounts, full": (accounts, {"state": "full"}),
        "accounts, app filter": (accounts, {"sdk_app_id": APPS[1]}),
        "accounts, name search": (accounts, {"q": "store 77"}),
        "account detail": (
            reverse("admin:officialaccount_webhook_officialaccount_change", args=[big.pk]),
            {},
        ),
        "subscribers list": (subscribers, {}),
        "subscribers, current": (subscribers, {"current": "yes"}),
        "subscribers, former": (subscribers, {"current": "no"}),
        "subscribers, app filter": (subscribers, {"sdk_app_id": APPS[1]}),
        "subscribers, by subscriber": (subscribers, {"q": user_id}),
        "subscribers, by account ID": (subscribers, {"q": middle.official_account}),
        "subscribers, no match": (subscribers, {"q": "nobody-at-all"}),
        "an account's subscribers": (
            subscribers,
            {"sdk_app_id": middle.sdk_app_id, "official_account": middle.official_account},
        ),
        "200,000 subscribers' account": (
            subscribers,
            {"sdk_app_id": big.sdk_app_id, "official_account": big.official_account},
        ),
        "200,000 subscribers', former": (
            subscribers,
            {"official_account": big.official_account, "current": "no"},
        ),
        "messages list (names)": (messages, {}),
    }
    total = OfficialAccountSubscriber.objects.count()
    load = os.getloadavg()[0]
    print(f"\n{total:,} subscriber rows; median of {runs} runs after a warm-up, server side")
    print(f"(load average {load:.1f} on {os.cpu_count()} cores):")
    results = []
    for name, (url, params) in pages.items():
        client.get(url, params)
        timings = []
        for _ in range(runs):
            began = time.perf_counter()
            response = client.get(url, params)
            timings.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, (name, response.status_code)
        median = statistics.median(timings)
        # The database's share, from one more run: the rest is Python (rendering).
        with CaptureQueriesContext(connection) as captured:
            client.get(url, params)
        sql = sum(float(query["time"]) for query in captured.captured_queries) * 1000
        verdict = "ok" if median < 300 else "OVER 300 ms"
        print(
            f"  {name:<30} {median:8.1f} ms   (SQL {sql:6.1f} ms, {len(captured)} queries; {verdict})"
        )
        results.append((name, median))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--subscribers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    start_django(DEFAULT_URL, APPS[0])
    fill_accounts()
    fill_subscribers(args.subscribers)
    fill_messages()
    analyze()
    time_pages(args.runs)


if __name__ == "__main__":
    main()
