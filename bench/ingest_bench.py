"""Ingest speed: the webhook under gunicorn against a plain Django view, side by side.

    .venv/bin/python bench/ingest_bench.py [--workers 2] [--connections 16] [--duration 20]
                                           [--duplicates 0.1] [--prefill 1000000]

On PostgreSQL (BENCH_DATABASE_URL, default: a database of its own, which it creates and EMPTIES:
never point it at data you keep), for each server it:

1. starts gunicorn with --workers sync workers;
2. drives it with wrk from loopback: signed, realistic callbacks (the nine samples), unique
   MsgKeys, and a --duplicates share of repeats;
3. prints requests/s and p50/p99 latency;
4. for the webhook, checks key by key that every MsgKey answered with a 2xx is stored, once,
   with one accepted delivery record; that nothing else is stored but the requests in flight
   when wrk stopped; that every answer was a 2xx; and that nothing waits in the spool.

The servers: the example project's webhook, alone and with a message_received receiver
connected (bench/with_receiver.py); bench/baseline, the plain view that only does
Model.objects.create, as startproject sets it up (a database connection per request); and the
same plain view with the example project's connection settings (persistent connections), so
that only the views differ. It prints the webhook's ratio to each baseline.

With --prefill N it measures the webhook only, with one server throughout: on an empty table,
then again once N more messages are in it, and prints both figures, to show whether the
per-request cost stays flat as the table grows. Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/officialaccount_ingest_bench"
MESSAGES = "officialaccount_webhook_officialaccountmessage"
DELIVERIES = "officialaccount_webhook_callbackdelivery"
BASELINE = "baseline_baselinemessage"
TOKEN = "bench-token"
SDK_APP_ID = "1400000000"

WRK_SCRIPT = """
-- Each request: a sample body with a MsgKey of its own, or now and then one already sent.
-- One connection per thread, so that each answer is the answer to the thread's last request:
-- the MsgKey of every 2xx answer is written to a file of the thread's, for the audit.
local bodies = {BODIES}
local duplicates = {DUPLICATES}
local acked_dir = {ACKED_DIR}
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
  acked = io.open(string.format("%s/%d-%d.txt", acked_dir, run, id), "w")
  acked:setvbuf("line")
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
  pending = key
  local body = string.gsub(bodies[math.random(#bodies)], "__MSGKEY__", key)
  return wrk.format("POST", nil, nil, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    acked:write(pending, "\\n")
  end
end

function done(summary, latency, requests)
  local made = 0
  for _, thread in ipairs(threads) do
    made = made + thread:get("counter")
  end
  local errors = summary.errors
  io.write(string.format("KEYS_MADE %d\\n", made))
  io.write(string.format("ANSWERS %d\\n", summary.requests))
  io.write(string.format("SOCKET_ERRORS %d\\n", errors.connect + errors.read + errors.write + errors.timeout))
  io.write(string.format("P50_US %d\\nP99_US %d\\n", latency:percentile(50), latency:percentile(99)))
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
    env = os.environ | {"DATABASE_URL": url, "TENCENT_CHAT_SDKAPPID": SDK_APP_ID}
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
            "officialaccount_webhook_officialaccountmessage, baseline_baselinemessage "
            # and what refers to them (recalls, say)
            "CASCADE"
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


def key_pattern(wrk_run: int) -> str:
    """The MsgKeys the given wrk run made (see request() in the Lua script): the run, the
    thread's two digits, the counter's seven."""
    return f"^{wrk_run}[0-9]{{9}}_1_1717000000$"


def stored_keys(url: str, table: str, wrk_run: int) -> list[str]:
    """The MsgKeys of the rows the given wrk run left in ``table``, a key twice if stored twice."""
    import psycopg

    with psycopg.connect(url) as connection:
        rows = connection.execute(
            f"SELECT msg_key FROM {table} WHERE msg_key ~ %s", [key_pattern(wrk_run)]
        ).fetchall()
    return [row[0] for row in rows]


@dataclass
class Run:
    """One measured wrk run, and what it left in the database."""

    name: str
    wrk_run: int
    connections: int
    rate: float
    p50: float
    p99: float
    answers: int
    """Every answer wrk received, whatever its status."""
    answers_2xx: int
    socket_errors: int
    """Requests that got no answer: refused, cut or timed out (wrk's timeout is 2 s)."""
    keys_made: int
    """Distinct MsgKeys request() made: those sent, and at most one per thread not sent."""
    acknowledged: set[str]
    """The MsgKeys answered with a 2xx."""
    stored: list[str]


@contextmanager
def serve(settings: str, url: str, workers: int, spool: Path) -> Iterator[int]:
    """gunicorn serving ``settings`` with ``workers`` sync workers; yields its port."""
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
        # The default mode, whatever the caller's environment says: receivers in the request.
        "OFFICIALACCOUNT_SIGNAL_MODE": "on_commit",
    }
    application = (
        "django.core.wsgi:get_wsgi_application()"
        if settings.startswith("bench.baseline")
        else "project.wsgi:application"
    )
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", application, "--workers", str(workers)),
            *("--bind", f"127.0.0.1:{port}", "--log-level", "warning"),
            # Not the repository's gunicorn.conf.py, which turns the access log on.
            *("--config", str(ROOT / "bench" / "gunicorn.conf.py")),
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
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def wrk_script(duplicates: float, acked_dir: Path) -> Path:
    """The Lua script, written beside ``acked_dir``: the nine samples, each MsgKey replaced per
    request; the keys acknowledged go to files in ``acked_dir``."""
    bodies = []
    for path in sorted((ROOT / "officialaccount_webhook" / "samples").glob("*.json")):
        body = json.loads(path.read_text())
        body["MsgKey"] = "__MSGKEY__"
        bodies.append(json.dumps(body, ensure_ascii=False))
    script = WRK_SCRIPT.replace("{BODIES}", "{" + ",".join(map(lua_string, bodies)) + "}")
    script = script.replace("{DUPLICATES}", str(duplicates))
    script = script.replace("{ACKED_DIR}", lua_string(str(acked_dir)))
    lua = acked_dir.parent / "callbacks.lua"
    lua.write_text(script)
    return lua


def signed_query() -> str:
    request_time = str(int(time.time()))
    return urlencode(
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


def measure(
    name: str, port: int, table: str, url: str, args: argparse.Namespace, wrk_run: int
) -> Run:
    """A 3 s warm-up, then ``args.duration`` seconds measured; ``wrk_run`` keeps each run's
    keys apart (the warm-up's are another run's)."""
    # A thread per connection: see the Lua script.
    connections = str(args.connections)
    wrk = ["wrk", "-t", connections, "-c", connections, "-s", str(args.lua), "--latency"]
    target = f"http://127.0.0.1:{port}/webhooks/tencent-chat/?{signed_query()}"
    subprocess.run(
        [*wrk, "-d", "3", target, "--", str(wrk_run + 50)], capture_output=True, check=True
    )
    output = subprocess.run(
        [*wrk, "-d", str(args.duration), target, "--", str(wrk_run)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    time.sleep(1)  # the requests in flight when wrk stopped

    def field(label: str) -> float:
        return float(re.search(rf"{label}\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]

    # A line per 2xx answer: a duplicate's key comes twice.
    acknowledged_lines = [
        key for path in args.acked_dir.glob(f"{wrk_run}-*.txt") for key in path.read_text().split()
    ]
    run = Run(
        name=name,
        wrk_run=wrk_run,
        connections=args.connections,
        rate=field("Requests/sec:"),
        p50=field("P50_US") / 1000,
        p99=field("P99_US") / 1000,
        answers=int(field("ANSWERS")),
        answers_2xx=len(acknowledged_lines),
        socket_errors=int(field("SOCKET_ERRORS")),
        keys_made=int(field("KEYS_MADE")),
        acknowledged=set(acknowledged_lines),
        stored=stored_keys(url, table, wrk_run),
    )
    print(
        f"  {name:<34} {run.rate:7.1f} requests/s   p50 {run.p50:5.1f} ms   "
        f"p99 {run.p99:5.1f} ms   non-2xx {run.answers - run.answers_2xx}   keys made "
        f"{run.keys_made}, acknowledged {len(run.acknowledged)}, rows stored {len(run.stored)}"
    )
    return run


def key_problems(run: Run) -> list[str]:
    """What the MsgKeys acknowledged and stored show lost or doubled."""
    problems = []
    # Counted from the keys recorded, not from wrk's own error count, which leaves out 3xx.
    if run.answers != run.answers_2xx:
        problems.append(f"{run.answers - run.answers_2xx} answers were not 2xx")
    if not run.acknowledged:
        problems.append("no answer was a 2xx")
    if run.socket_errors:
        problems.append(f"{run.socket_errors} requests got no answer (refused, cut or timed out)")
    stored = set(run.stored)
    lost = run.acknowledged - stored
    if lost:
        problems.append(f"{len(lost)} acknowledged MsgKeys not stored, e.g. {min(lost)}")
    if len(run.stored) != len(stored):
        problems.append(f"{len(run.stored) - len(stored)} MsgKeys stored more than once")
    # A request still in flight when wrk stopped, at most one per connection, may have been
    # stored without its answer being counted.
    unanswered = stored - run.acknowledged
    if len(unanswered) > run.connections:
        problems.append(
            f"{len(unanswered)} MsgKeys stored that were never acknowledged, more than the "
            f"{run.connections} requests that can have been in flight"
        )
    return problems


def audit(url: str, run: Run, spool: Path) -> list[str]:
    """What would show a callback lost or stored twice in the webhook's run."""
    import psycopg

    problems = key_problems(run)
    parked = [path for path in spool.rglob("*") if path.is_file()]
    if parked:
        problems.append(f"{len(parked)} callbacks waiting in the spool, not stored")
    with psycopg.connect(url) as connection:
        row = connection.execute(
            f"""
            SELECT count(*) FROM {MESSAGES} m WHERE m.msg_key ~ %s AND (
                SELECT count(*) FROM {DELIVERIES} d
                WHERE d.message_id = m.id AND d.outcome = 'accepted'
            ) <> 1
            """,
            [key_pattern(run.wrk_run)],
        ).fetchone()
    if row and row[0]:
        problems.append(f"{row[0]} messages without exactly one accepted delivery record")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16, choices=range(1, 100))
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--duplicates", type=float, default=0.1)
    parser.add_argument("--prefill", type=int, default=0)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("This benchmark drives the servers with wrk: apt-get install wrk")
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    prepare_database(url)
    print(
        f"gunicorn {args.workers} sync workers, wrk {args.connections} connections (a thread "
        f"each), {args.duration} s, {args.duplicates:.0%} duplicates:"
    )
    with tempfile.TemporaryDirectory() as work_dir:
        spool = Path(work_dir) / "spool"
        args.acked_dir = Path(work_dir) / "acknowledged"
        spool.mkdir()
        args.acked_dir.mkdir()
        args.lua = wrk_script(args.duplicates, args.acked_dir)
        checked = []
        if args.prefill:
            # One server throughout: its workers and their connections live on while the
            # table grows.
            with serve("project.settings", url, args.workers, spool) as port:
                empty = measure("webhook, empty table", port, MESSAGES, url, args, 2)
                prefill(url, args.prefill)
                grown = measure(
                    f"webhook, {args.prefill:,} rows more", port, MESSAGES, url, args, 3
                )
            checked = [empty, grown]
            print(
                f"  with {args.prefill:,} more rows: {grown.rate / empty.rate:.2f} of the "
                f"rate, p99 {grown.p99:.1f} ms against {empty.p99:.1f} ms"
            )
        else:
            runs = (
                ("webhook", "project.settings", MESSAGES),
                ("webhook, a receiver connected", "bench.with_receiver", MESSAGES),
                ("baseline as startproject sets it up", "bench.baseline.settings", BASELINE),
                ("baseline with the same connections", "bench.baseline.same_connections", BASELINE),
            )
            results = []
            for wrk_run, (name, settings, table) in enumerate(runs, start=2):
                with serve(settings, url, args.workers, spool) as port:
                    results.append(measure(name, port, table, url, args, wrk_run))
            ours, with_receiver, naive, same = results
            checked = [ours, with_receiver]
            for name, baseline in (
                ("as startproject sets it up", naive),
                ("with the same connections", same),
            ):
                print(
                    f"  ratio to the baseline {name}: {ours.rate / baseline.rate:.2f} "
                    f"(with a receiver connected: {with_receiver.rate / baseline.rate:.2f})"
                )
        problems = [problem for run in checked for problem in audit(url, run, spool)]
    if problems:
        sys.exit("  webhook: " + "; ".join(problems))
    print(
        "  webhook: every acknowledged MsgKey stored once, with one accepted delivery record; "
        "all answers 2xx; the spool empty"
    )


if __name__ == "__main__":
    main()
