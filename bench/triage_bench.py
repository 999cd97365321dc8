"""Time the delivery list's triage (summary, search) on PostgreSQL with a million deliveries.

    .venv/bin/python bench/triage_bench.py [--deliveries 1000000] [--runs 5] [--only NAME]
                                           [--explain]

It uses BENCH_DATABASE_URL, or postgres://postgres@127.0.0.1:5432/officialaccount_triage_bench
(created if missing; never point it at data you keep: it adds a million rows), migrates it, and
fills it up to --deliveries with deliveries shaped like a busy app's month, ending when it is
filled (a bulk COPY; existing rows are kept, so a second run starts timing at once):

- 85 % accepted CallbackAfterSendMsg callbacks, each with its message and its body, a few
  duplicates and withdrawals of those messages, subscriber and moderation callbacks, and other
  products' commands; all from a pool of 16 Tencent addresses;
- 5 % rejected, with a handful of reasons: mostly forged or missing Signs from 2,000 scanning
  addresses (a tenth of them IPv6), and 1 % of all deliveries (about 10,000) refused for a
  skewed clock, whose reason alone holds the word "clock";
- 0.5 % refused with their bodies kept, with a few malformed-callback reasons, of which about
  one in fifty (about 100 rows) names an unpaired "surrogate".

Then it times each page server side, in process, through Django's test client (its queries
within ``QUERY_TIMEOUT`` as in production): the median of --runs, after one warm-up. The summary
alone is ``admin.triage.summary`` called directly. --explain prints EXPLAIN ANALYZE of each
timed page's slowest queries. Goal: each page under 300 ms on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from array import array
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import start_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/officialaccount_triage_bench"
APP = 1400000000
SEND = "OfficialAccount.CallbackAfterSendMsg"
# A skewed clock's refusal says by how much: one text per drift, all holding the word "clock".
SKEW = (
    "RequestTime is {drift} s in the past, outside the 300 s window: this server's clock is "
    "{drift} s ahead of RequestTime"
)
SURROGATE = "MsgBody[0].MsgContent.Text: contains an unpaired surrogate"
FORGED = "Sign does not match any configured token"
# (kind, weight per 10,000 deliveries, command, outcome, status code, reason)
KINDS = [
    ("accepted", 8550, SEND, "accepted", 200, ""),
    ("duplicate", 200, SEND, "duplicate", 200, ""),
    ("withdrawal", 50, "OfficialAccount.CallbackAfterMsgWithDraw", "withdrawal", 200, ""),
    ("applied", 300, "OfficialAccount.CallbackAfterAddSubscriber", "applied", 200, ""),
    ("unchanged", 50, "OfficialAccount.CallbackAfterDeleteSubscriber", "unchanged", 200, ""),
    ("moderated", 100, "OfficialAccount.CallbackBeforeSendMsg", "moderated", 200, ""),
    ("other", 200, "Group.CallbackAfterSendMsg", "other_command", 200, ""),
    ("forged", 200, SEND, "rejected", 403, FORGED),
    ("skew", 100, SEND, "rejected", 403, SKEW),
    ("unknown app", 80, SEND, "rejected", 403, "SdkAppid 1400000009 is not configured"),
    ("no sign", 50, SEND, "rejected", 403, "Sign is missing"),
    ("no time", 20, SEND, "rejected", 403, "RequestTime is missing"),
    ("network", 50, SEND, "rejected", 403, "ALLOWED_NETWORKS"),  # reason made per address
    ("not a list", 20, SEND, "refused", 400, "MsgBody: must be an array, not object"),
    ("no key", 20, SEND, "refused", 400, "MsgKey: required field is missing"),
    ("not json", 9, SEND, "refused", 400, "the body is not valid JSON (Expecting value)"),
    ("surrogate", 1, SEND, "refused", 400, SURROGATE),
]
TENCENT = [f"203.0.113.{n}" for n in range(10, 26)]
SCANNERS = [
    f"2001:db8::{n:x}" if n % 10 == 0 else f"198.18.{n // 256}.{n % 256}" for n in range(2000)
]
SPAN = timedelta(days=30)
MESSAGE_COLUMNS = (
    "id, sdk_app_id, official_account, msg_key, msg_time, online_only, msg_body, "
    "cloud_custom_data, event_time, client_ip, opt_platform, extra, received_at, recall_reason, "
    "recall_requested_by, receiver_error, text_content, element_types, backfilled, signalled_at"
)
DELIVERY_COLUMNS = (
    "received_at, sdk_app_id, command, outcome, status_code, reason, query_string, remote_addr, "
    "body, message_id, spool_record, raw_body"
)


def query_string(command: str, when: datetime) -> str:
    return (
        f"SdkAppid={APP}&CallbackCommand={command}&contenttype=json&ClientIP=127.0.0.1"
        f"&OptPlatform=RESTAPI&Sign=[redacted]&RequestTime={int(when.timestamp())}"
    )


def message_of(pk: int, when: datetime) -> tuple[str, str, str, list[dict[str, Any]]]:
    """The account, MsgKey, text and body of message ``pk`` (the same in both passes)."""
    text = f"spring sale {pk % 997}: new points for members"
    body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    return f"@TOA#_BENCH{pk % 50:03d}", f"{pk}_1_{int(when.timestamp())}", text, body


def payload(pk: int, when: datetime) -> str:
    """The callback that stored message ``pk``, which its accepted delivery keeps."""
    account, key, _text, body = message_of(pk, when)
    return json.dumps(
        {
            "CallbackCommand": SEND,
            "Official_Account": account,
            "MsgKey": key,
            "MsgTime": int(when.timestamp()),
            "OnlineOnlyFlag": 0,
            "MsgBody": body,
            "CloudCustomData": "",
            "EventTime": int(when.timestamp() * 1000),
        }
    )


def fill(target: int) -> None:
    """Messages first (each accepted delivery's), then the deliveries that link to them."""
    from django.db import connection
    from django.utils import timezone

    from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage

    present = CallbackDelivery.objects.count()
    if present >= target:
        print(f"{present:,} deliveries present")
        return
    count = target - present
    rng = random.Random(present)
    kinds = rng.choices(KINDS, weights=[kind[1] for kind in KINDS], k=count)
    end = timezone.now()
    moments = [end - SPAN + SPAN * (n + 1) / count for n in range(count)]
    messages = OfficialAccountMessage._meta.db_table
    deliveries = CallbackDelivery._meta.db_table
    began = time.monotonic()
    links = array("q", bytes(8 * count))  # each delivery's message, 0 for none
    with connection.cursor() as cursor, cursor.connection.cursor() as raw:
        raw.execute(f"SELECT COALESCE(MAX(id), 0) FROM {messages}")
        pk = raw.fetchone()[0]
        with raw.copy(f"COPY {messages} ({MESSAGE_COLUMNS}) FROM STDIN") as copy:
            for n, kind in enumerate(kinds):
                if kind[0] in ("duplicate", "withdrawal"):
                    links[n] = pk  # Tencent's retry, or a recall, of a recent message
                if kind[0] != "accepted":
                    continue
                pk += 1
                links[n] = pk
                when = moments[n]
                account, key, text, body = message_of(pk, when)
                copy.write_row(
                    (
                        *(pk, APP, account, key, when, False, json.dumps(body), "", when),
                        *("203.0.113.7", "RESTAPI", "{}", when, "", "", "", text),
                        *(" TIMTextElem ", False, when),
                    )
                )
        with raw.copy(f"COPY {deliveries} ({DELIVERY_COLUMNS}) FROM STDIN") as copy:
            for n, (name, _weight, command, outcome, status, reason) in enumerate(kinds):
                when = moments[n]
                # Forged requests come from anywhere; a skewed clock's Sign matched: Tencent's.
                scanned = outcome == "rejected" and name != "skew"
                address = rng.choice(SCANNERS if scanned else TENCENT)
                if name == "network":
                    reason = (
                        f"source address {address} is not in ALLOWED_NETWORKS of SdkAppid {APP}"
                    )
                elif name == "skew":
                    reason = SKEW.format(drift=rng.randint(301, 900))
                kept: str | None = None  # the body kept: not of refusals nor other products'
                if name == "accepted":
                    kept = payload(links[n], when)
                elif status == 200 and outcome != "other_command":
                    kept = json.dumps({"CallbackCommand": command, "Official_Account": "@TOA#_X"})
                raw_body = None
                if outcome == "refused":
                    raw_body = b'{"CallbackCommand": "' + command.encode() + b'", "MsgBody": {}}'
                copy.write_row(
                    (
                        *(when, APP, command, outcome, status, reason),
                        *(query_string(command, when), address, kept, links[n] or None, ""),
                        raw_body,
                    )
                )
        raw.execute(
            f"SELECT setval(pg_get_serial_sequence('{messages}', 'id'), "
            f"(SELECT MAX(id) FROM {messages}))"
        )
    print(f"inserted {count:,} deliveries in {time.monotonic() - began:.0f} s")


def vacuum() -> None:
    """Fresh statistics and visibility map, as autovacuum keeps them in production."""
    from django.db import connection

    from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage

    with connection.cursor() as cursor:
        for model in (CallbackDelivery, OfficialAccountMessage):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def pages() -> dict[str, dict[str, str]]:
    """Each page's query string, with values taken from the filled table."""
    from officialaccount_webhook.models import CallbackDelivery

    rows = CallbackDelivery.objects.order_by("-received_at")
    duplicate = rows.filter(outcome="duplicate").select_related("message")[12]
    assert duplicate.message is not None
    scanner = rows.filter(outcome="rejected", reason=FORGED)[21]
    return {
        "list with summary": {},
        "filtered to rejected": {"outcome__exact": "rejected"},
        "command search": {"q": "OfficialAccount.CallbackAfterAddSubscriber"},
        "command search, rare command": {"q": "OfficialAccount.CallbackBeforeSendMsg"},
        "reason word (few matches)": {"q": "surrogate"},
        "reason word, ~10,000 refusals": {"q": "clock"},
        "reason word, two words": {"q": "sign match"},
        "reason word, no match": {"q": "zebra"},
        "reason link (reason__exact)": {"outcome__exact": "rejected", "reason__exact": FORGED},
        "IP search (a scanner)": {"q": str(scanner.remote_addr)},
        "IP search (a Tencent address)": {"q": TENCENT[3]},
        "MsgKey search": {"q": duplicate.message.msg_key},
    }


def explain(queries: list[dict[str, Any]]) -> None:
    """EXPLAIN ANALYZE of the page's three slowest queries."""
    from django.db import connection

    slowest = sorted(queries, key=lambda query: float(query["time"]), reverse=True)[:3]
    with connection.cursor() as cursor:
        for query in slowest:
            if not query["sql"].lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            plan = "\n      ".join(row[0] for row in cursor.fetchall())
            print(f"    {float(query['time']) * 1000:.0f} ms: {query['sql'][:300]}\n      {plan}")


def median_ms(runs: int, call: Any) -> float:
    call()  # warm-up
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        timings.append((time.perf_counter() - began) * 1000)
    return statistics.median(timings)


def report(name: str, median: float) -> None:
    verdict = "ok" if median < 300 else "OVER 300 ms"
    print(f"  {name:<32} {median:8.1f} ms   ({verdict})")


def time_pages(runs: int, only: str, show_plans: bool) -> None:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    from officialaccount_webhook.admin import triage
    from officialaccount_webhook.models import CallbackDelivery

    user, _ = User.objects.get_or_create(
        username="bench", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    changelist = reverse("admin:officialaccount_webhook_callbackdelivery_changelist")
    total = CallbackDelivery.objects.count()
    newest = CallbackDelivery.objects.values_list("received_at", flat=True)[0]
    if timezone.now() - newest > timedelta(hours=1):
        # The list's summary counts up to now: it sees less of the data than it would live.
        print(f"note: the deliveries end {timezone.now() - newest} ago; for the summary's")
        print("figures as filled, run on a new database (BENCH_DATABASE_URL).")
    print(f"\n{total:,} deliveries; median of {runs} runs after a warm-up, server side:")

    def summary() -> None:
        # As of the newest delivery, so that its windows hold what a live summary's would.
        found = triage.summary(CallbackDelivery.objects.all(), newest)
        assert found["rows"], "the summary counts the last week's deliveries"

    if only in "summary alone":
        report("summary alone", median_ms(runs, summary))
    for name, params in pages().items():
        if only not in name:
            continue

        def page(params: dict[str, str] = params, name: str = name) -> None:
            response = client.get(changelist, params)
            assert response.status_code == 200, (name, response.status_code)
            assert b"took too long" not in response.content, name

        report(name, median_ms(runs, page))
        if show_plans:
            with CaptureQueriesContext(connection) as captured:
                page()
            explain(captured.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="", help="time only the pages whose name holds this")
    parser.add_argument("--explain", action="store_true", help="print the slowest queries' plans")
    args = parser.parse_args()
    start_django(DEFAULT_URL, APP)
    fill(args.deliveries)
    vacuum()
    time_pages(args.runs, args.only, args.explain)


if __name__ == "__main__":
    main()
