"""Scaled out: two web servers (gunicorn, two workers each, each with its own spool) and two
task workers (``db_worker``) on one PostgreSQL, SIGNAL_MODE "task". Every callback goes to
both servers at once, as a load balancer's retry or a second route might send it: each message
is stored once and signalled once, by whichever worker takes its task."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import pytest
from django_tasks_db.models import DBTaskResult

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.webhook import spool
from tests.conftest import ROOT, callback_query, sample, with_other_processes
from tests.gunicorn_process import SYNC, gunicorn, project_environment
from tests.test_gunicorn_logs import post_callback

pytestmark = with_other_processes("two web servers and two task workers on one database")

MESSAGES = 60
# How long the workers may take to signal everything; the test ends as soon as they have.
TIMEOUT = 120.0


def node_environment(tmp_path: Path, node: str, counter: Path) -> dict[str, str]:
    """One node's environment: the shared database and signal counter, a spool of its own."""
    return project_environment(
        tmp_path / node,
        DJANGO_SETTINGS_MODULE="tests.gunicorn_settings",
        OFFICIALACCOUNT_SIGNAL_MODE="task",
        SIGNAL_COUNT_FILE=str(counter),
    )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[list[int], Path, list[Path]]]:
    """Two servers' ports, the signal counter, and the two nodes' spools."""
    counter = tmp_path / "signals.txt"
    environments = [node_environment(tmp_path, node, counter) for node in ("a", "b")]
    with ExitStack() as stack:
        ports = [
            stack.enter_context(
                gunicorn((*SYNC, "--workers", "2", "--log-level", "warning"), environment)
            )
            for environment in environments
        ]
        for environment in environments:
            worker = subprocess.Popen(
                [
                    *(sys.executable, "-m", "django", "db_worker"),
                    *("--interval", "0.2", "--no-startup-delay", "--no-reload"),
                ],
                cwd=ROOT,
                env=environment,
            )
            stack.callback(worker.wait, timeout=30)
            stack.callback(worker.terminate)
        spools = [Path(environment["OFFICIALACCOUNT_SPOOL_DIR"]) for environment in environments]
        yield ports, counter, spools


def signalled(counter: Path) -> list[str]:
    return counter.read_text().splitlines() if counter.exists() else []


def test_the_same_callbacks_to_two_servers_are_stored_and_signalled_once(
    cluster: tuple[list[int], Path, list[Path]],
) -> None:
    ports, counter, spools = cluster
    template = sample("text")
    bodies = [
        template | {"MsgKey": f"{n}_1_1717000000", "Official_Account": "@TOA#_SCALE"}
        for n in range(MESSAGES)
    ]
    deliveries = [(port, body) for body in bodies for port in ports]
    random.Random(19).shuffle(deliveries)
    with ThreadPoolExecutor(16) as pool:
        statuses = list(
            pool.map(lambda item: post_callback(item[0], callback_query(), item[1]), deliveries)
        )
    assert statuses == [200] * len(deliveries)
    # The answers went out before any receiver ran; the workers signal meanwhile.
    deadline = time.monotonic() + TIMEOUT
    while (
        len(signalled(counter)) < MESSAGES
        or DBTaskResult.objects.exclude(status__in=("SUCCESSFUL", "FAILED")).exists()
    ):
        assert time.monotonic() < deadline, f"{len(signalled(counter))} of {MESSAGES} signalled"
        time.sleep(0.2)

    expected = sorted(f"@TOA#_SCALE {body['MsgKey']}" for body in bodies)
    assert OfficialAccountMessage.objects.count() == MESSAGES
    assert sorted(signalled(counter)) == expected
    outcomes = list(CallbackDelivery.objects.values_list("outcome", flat=True))
    assert (outcomes.count("accepted"), outcomes.count("duplicate")) == (MESSAGES, MESSAGES)
    tasks = DBTaskResult.objects.all()
    assert [task.status for task in tasks] == ["SUCCESSFUL"] * MESSAGES
    assert all(len(task.worker_ids) == 1 for task in tasks)
    assert [spool.pending(directory) for directory in spools] == [0, 0]
    assert OfficialAccountMessage.objects.filter(signalled_at__isnull=True).count() == 0
