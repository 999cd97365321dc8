"""The example project under gunicorn, several worker processes, on PostgreSQL: parallel
deliveries with distinct and repeated MsgKeys are stored once each, with one signal each."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from tests.conftest import (
    TOKEN,
    callback_query,
    element_samples,
    sample,
    subprocess_database_url,
    with_other_processes,
)

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 4
DELIVERIES = 240

pytestmark = with_other_processes("several processes writing at once")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    counter = tmp_path / "signals.txt"
    listen = free_port()
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "tests.gunicorn_settings",
        "DATABASE_URL": subprocess_database_url(),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "gunicorn-test-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "TENCENT_CHAT_SDKAPPID": "1400000000",
        "TENCENT_CHAT_CALLBACK_TOKEN": TOKEN,
        "OFFICIALACCOUNT_SPOOL_DIR": str(tmp_path / "spool"),
        "SIGNAL_COUNT_FILE": str(counter),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "project.wsgi:application",
            "--workers",
            str(WORKERS),
            "--bind",
            f"127.0.0.1:{listen}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", listen), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, "gunicorn exited"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{listen}/webhooks/tencent-chat/", counter
    finally:
        process.terminate()
        process.wait(timeout=30)


def deliver(url: str, body: dict[str, object]) -> int:
    request = urllib.request.Request(
        f"{url}?{urlencode(callback_query())}", data=json.dumps(body).encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["ActionStatus"] == "OK"
        return int(response.status)


def test_parallel_deliveries_under_gunicorn(server: tuple[str, Path]) -> None:
    url, counter = server
    rng = random.Random(7)
    templates = [sample(name) for name in element_samples()]
    # 80 distinct messages over two accounts, each delivered about three times, shuffled.
    distinct = [
        templates[n % len(templates)] | {"MsgKey": f"{n}_1_1717000000", "Official_Account": account}
        for n in range(40)
        for account in ("@TOA#_A", "@TOA#_B")
    ]
    bodies = [rng.choice(distinct) for _ in range(DELIVERIES)]
    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(lambda body: deliver(url, body), bodies))
    assert statuses == [200] * DELIVERIES
    delivered = {(body["Official_Account"], body["MsgKey"]) for body in bodies}
    stored = set(OfficialAccountMessage.objects.values_list("official_account", "msg_key"))
    assert stored == delivered
    signalled = counter.read_text().split("\n")[:-1]
    assert sorted(signalled) == sorted(f"{account} {key}" for account, key in delivered)
    outcomes = list(CallbackDelivery.objects.values_list("outcome", flat=True))
    assert outcomes.count("accepted") == len(delivered)
    assert outcomes.count("duplicate") == DELIVERIES - len(delivered)
