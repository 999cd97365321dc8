"""Ingest speed: the webhook under gunicorn against a plain Django view, side by side.

    .venv/bin/python bench/ingest_bench.py [--workers 2] [--connections 16] [--duration 20]
                                           [--duplicates 0.1] [--prefill 1000000]

On PostgreSQL (BENCH_DATABASE_URL, default: a database of its own, which it creates and EMPTIES:
never point it at data you keep), for each server it:

1. starts gunicorn with --workers sync workers;
2. drives it with wrk from loopback: signed, realistic callbacks (the nine samples), unique
   MsgKeys, and a --duplicates share of repeats;
3. prints requests/s and p50/p99 latency;
4. checks that the rows stored equal the distinct MsgKeys acknowledged (for the webhook).

The servers: the example project's webhook; bench/baseline, the plain view that only does
Model.objects.create, as startproject sets it up (a database connection per request); and the
same plain view with the example project's connection settings (persistent connections), so
that only the views differ. It prints the webhook's ratio to each.

With --prefill N it measures the webhook only: on an empty table, then again with N more
messages in it, and prints both figures, to show whether the per-request cost stays flat as
the table grows. Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/officialaccount_ingest_bench"
TOKEN = "bench-token"
SDK_APP_ID = "1400000000"

WRK_SCRIPT = """
-- Each request: a sample body with a MsgKey of its own, or now and then one already sent.
local bodies = {BODIES}
local duplicates = {DUPLICATES}
threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("id", next_id)
  table.insert(threads, thread)
end

function init(args)
  run = tonumber(args[1]) or 0
  math.randomseed(id * 7919 + run)
  counter = 0
  sent = {}
end

function request()
  local key
  if counter > 0 and math.random() < duplicates then
    key = sent[math.random(counter)]
  else
    counter = counter + 1
    key = string.format("%d_1_1717000000", (run * 100 + id) * 10000000 + counter)
    sent[counter] = key
  end
  local body = string.gsub(bodies[math.random(#bodies)], "__MSGKEY__", key)
  return wrk.format("POST", nil, nil, body)
end

function done(summary, latency, requests)
  local distinct = 0
  for _, thread in ipairs(threads) do distinct = distinct + thread:get("counter") end
  io.write(string.format("DISTINCT_SENT %d\\n", distinct))
  io.write(string.format("P50_US %d\\nP99_US %d\\n", latency:percentile(50), latency:percentile(99)))
  io.write(string.format("NON_2XX %d\\n", summary.errors.status))
end
"""


def lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare_database(url: str) -> None:
    """Create the database if need be, migrate it, and empty the tables the servers write."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    env = os.environ | {"DATABASE_URL": url}
    for settings in ("project.settings", "bench.baseline.settings"):
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env=env | {"DJANGO_SETTINGS_MODULE": settings},
            check=True,
        )
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "TRUNCATE officialaccount_webhook_callbackdelivery, "
            "officialaccount_webhook_officialaccountmessage, baseline_baselinemessage"
        )


def prefill(url: str, rows: int) -> None:
    """Add ``rows`` messages (the admin benchmark's), then ANALYZE, as autovacuum would."""
    import psycopg

    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    import django

    django.setup()
    from bench.admin_bench import fill
    from officialaccount_webhook.models import OfficialAccountMessage

    began = time.monotonic()
    fill(OfficialAccountMessage.objects.count() + rows)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("ANALYZE officialaccount_webhook_officialaccountmessage")
    print(f"  ({rows:,} messages added in {time.monotonic() - began:.0f} s)")


def count(url: str, table: str, run: int) -> int:
    """Rows whose MsgKey the given wrk run made (see request() in the Lua script)."""
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute(
            f"SELECT count(*) FROM {table} WHERE msg_key ~ %s",
            [f"^{run}0[0-9]{{8}}_1_1717000000$"],
        ).fetchone()
        return int(row[0]) if row else 0


def run(
    name: str, settings: str, url: str, args: argparse.Namespace, spool: Path, wrk_run: int = 2
) -> dict[str, float]:
    """Serve ``settings`` under gunicorn and measure it; ``wrk_run`` keeps each run's keys apart."""
    port = free_port()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": settings,
        "DATABASE_URL": url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "TENCENT_CHAT_SDKAPPID": SDK_APP_ID,
        "TENCENT_CHAT_CALLBACK_TOKEN": TOKEN,
        "OFFICIALACCOUNT_SPOOL_DIR": str(spool),
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "project.wsgi:application"
            if settings.startswith("project")
            else "django.core.wsgi:get_wsgi_application()",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        import hashlib

        request_time = str(int(time.time()))
        query = urlencode(
            {
                "SdkAppid": SDK_APP_ID,
                "CallbackCommand": "OfficialAccount.CallbackAfterSendMsg",
                "contenttype": "json",
                "ClientIP": "203.0.113.7",
                "OptPlatform": "RESTAPI",
                "Sign": hashlib.sha256(f"{TOKEN}{request_time}".encode()).hexdigest(),
                "RequestTime": request_time,
            }
        )
        samples = sorted((ROOT / "officialaccount_webhook" / "samples").glob("*.json"))
        bodies = []
        for path in samples:
            body = json.loads(path.read_text())
            body["MsgKey"] = "__MSGKEY__"
            bodies.append(json.dumps(body, ensure_ascii=False))
        script = WRK_SCRIPT.replace("{BODIES}", "{" + ",".join(map(lua_string, bodies)) + "}")
        script = script.replace("{DUPLICATES}", str(args.duplicates))
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(script)
        # Warm up the workers and their connections, then measure.
        wrk = [
            "wrk",
            "-t",
            "2",
            "-c",
            str(args.connections),
            "-s",
            lua.name,
            "--latency",
            f"http://127.0.0.1:{port}/webhooks/tencent-chat/?{query}",
        ]
        subprocess.run(
            [*wrk[:1], "-d", "3", *wrk[1:], "--", str(wrk_run + 50)],
            capture_output=True,
            check=True,
        )
        table = (
            "officialaccount_webhook_officialaccountmessage"
            if settings.startswith("project")
            else "baseline_baselinemessage"
        )
        output = subprocess.run(
            [*wrk[:1], "-d", str(args.duration), *wrk[1:], "--", str(wrk_run)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # Counted by key, so that warm-up requests still in flight cannot be mistaken for these.
        time.sleep(1)
        stored = count(url, table, wrk_run)
    finally:
        server.terminate()
        server.wait(timeout=30)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = int(re.search(r"P50_US (\d+)", output).group(1)) / 1000  # type: ignore[union-attr]
    p99 = int(re.search(r"P99_US (\d+)", output).group(1)) / 1000  # type: ignore[union-attr]
    non_2xx = int(re.search(r"NON_2XX (\d+)", output).group(1))  # type: ignore[union-attr]
    distinct = int(re.search(r"DISTINCT_SENT (\d+)", output).group(1))  # type: ignore[union-attr]
    print(
        f"  {name:<9} {rate:8.1f} requests/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
        f"non-2xx {non_2xx}   distinct keys sent {distinct}, rows stored {stored}"
    )
    return {
        "rate": rate,
        "p50": p50,
        "p99": p99,
        "distinct": distinct,
        "stored": stored,
        "non_2xx": non_2xx,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--prefill", type=int, default=0)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("This benchmark drives the servers with wrk: apt-get install wrk")
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    prepare_database(url)
    print(
        f"gunicorn {args.workers} sync workers, wrk {args.connections} connections, "
        f"{args.duration} s, {args.duplicates:.0%} duplicates:"
    )
    with tempfile.TemporaryDirectory() as spool:
        ours = run("webhook", "project.settings", url, args, Path(spool))
        runs = [ours]
        if args.prefill:
            prefill(url, args.prefill)
            grown = run(
                f"webhook, {args.prefill:,} rows more",
                "project.settings",
                url,
                args,
                Path(spool),
                3,
            )
            runs.append(grown)
            print(
                f"  with {args.prefill:,} more rows: {grown['rate'] / ours['rate']:.2f} of the "
                f"rate, p99 {grown['p99']:.1f} ms against {ours['p99']:.1f} ms"
            )
        else:
            naive = run(
                "baseline (startproject)", "bench.baseline.settings", url, args, Path(spool)
            )
            same = run(
                "baseline (same connections)",
                "bench.baseline.same_connections",
                url,
                args,
                Path(spool),
                5,
            )
            print(
                f"  ratio to the baseline as startproject sets it up: {ours['rate'] / naive['rate']:.2f}"
            )
            print(
                f"  ratio to the baseline with the same connections:  {ours['rate'] / same['rate']:.2f}"
            )
    # wrk counts a key when it builds a request; the last ones, one per connection at most,
    # may never be sent before the run ends. The unique constraint rules out doubles.
    for result in runs:
        unsent = result["distinct"] - result["stored"]
        if not (result["non_2xx"] == 0 and 0 <= unsent <= args.connections):
            sys.exit("  webhook: ROWS AND DISTINCT KEYS DIFFER, or some answers were not 2xx")
    print("  webhook: every distinct MsgKey sent was stored once")


if __name__ == "__main__":
    main()
