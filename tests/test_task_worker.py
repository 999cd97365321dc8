"""SIGNAL_MODE "task" for real: django-tasks-db's database backend on PostgreSQL and its worker
(``db_worker``) in a process of its own, with a receiver that sleeps five seconds.

The webhook answers before the receiver has run, and the worker then sends the signal. A
receiver that fails in the worker is recorded on the message, and ``officialaccount_replay
--failed`` sends it again once the receiver is fixed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django_tasks_db.models import DBTaskResult

from officialaccount_webhook.models import OfficialAccountMessage
from officialaccount_webhook.signals import message_received
from tests import taskmode_settings
from tests.conftest import (
    ROOT,
    callback_query,
    callback_url,
    sample,
    subprocess_database_url,
    with_other_processes,
)

RECEIVER_SLEEP = 5.0
# Generous: the worker starts Django, polls every 0.2 s, and the receiver sleeps 5 s.
TIMEOUT = 60.0

pytestmark = with_other_processes("a task worker sharing the webhook's database")


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    env: dict[str, str]
    marker: Path
    fail_switch: Path
    log: Path

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not condition():
            assert self.process.poll() is None, f"the worker exited:\n{self.log.read_text()}"
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no {what} after {TIMEOUT} s; the worker said:\n{self.log.read_text()}"
                )
            time.sleep(0.1)

    def marked(self) -> list[tuple[int, str]]:
        if not self.marker.exists():
            return []
        return [
            (int(pid), msg_key)
            for pid, msg_key in (line.split() for line in self.marker.read_text().splitlines())
        ]


@pytest.fixture
def start_worker(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start ``db_worker`` with tests.taskmode_settings on the test database; stopped after."""
    workers: list[Worker] = []

    def start(*, receiver_sleep: float) -> Worker:
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "tests.taskmode_settings",
            "DATABASE_URL": subprocess_database_url(),
            "RECEIVER_SLEEP": str(receiver_sleep),
            "RECEIVER_MARKER": str(tmp_path / "marker.txt"),
            "RECEIVER_FAIL": str(tmp_path / "receiver-is-broken"),
        }
        log = tmp_path / "worker.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "django", "db_worker"),
                    *("--queue-name", "officialaccount", "--interval", "0.2"),
                    *("--no-startup-delay", "--no-reload"),
                ],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        worker = Worker(process, env, Path(env["RECEIVER_MARKER"]), Path(env["RECEIVER_FAIL"]), log)
        workers.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in workers:
            worker.process.terminate()
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()


@pytest.fixture
def task_mode_web() -> Iterator[list[Any]]:
    """This process plays the web server in task mode, with a receiver as slow as the worker's
    connected (else nothing would be enqueued). Yields the calls it got: there must be none."""
    calls: list[Any] = []

    def in_the_request(**kwargs: Any) -> None:
        calls.append(kwargs)
        time.sleep(RECEIVER_SLEEP)  # would hold up the answer, were it called in the request

    message_received.connect(in_the_request)
    try:
        with override_settings(
            TASKS=taskmode_settings.TASKS,
            OFFICIALACCOUNT_WEBHOOK=taskmode_settings.OFFICIALACCOUNT_WEBHOOK,
        ):
            yield calls
    finally:
        message_received.disconnect(in_the_request)


def post(body: dict[str, Any]) -> int:
    response = Client().post(
        callback_url(callback_query()), data=body, content_type="application/json"
    )
    assert response.json()["ErrorCode"] == 0
    return response.status_code


def test_a_slow_receiver_runs_in_the_worker_after_the_answer(
    start_worker: Callable[..., Worker], task_mode_web: list[Any]
) -> None:
    worker = start_worker(receiver_sleep=RECEIVER_SLEEP)
    body = sample("doc-example")

    status = post(body)

    # Answered before the receiver finished (it has not: the worker has it), with no clock.
    assert status == 200
    assert worker.marked() == []
    message = OfficialAccountMessage.objects.get()
    assert message.signalled_at is None
    [task] = DBTaskResult.objects.all()
    assert (task.task_path, task.queue_name) == (
        "officialaccount_webhook.notify.task.deliver_signal",
        "officialaccount",
    )
    assert task.args_kwargs == {"args": ["message_received", "default", message.pk], "kwargs": {}}

    worker.wait_for("signal from the worker", lambda: bool(worker.marked()))
    [(pid, msg_key)] = worker.marked()
    assert (pid, msg_key) == (worker.process.pid, body["MsgKey"])
    worker.wait_for(
        "signalled_at", lambda: OfficialAccountMessage.objects.get().signalled_at is not None
    )
    worker.wait_for("task result", lambda: DBTaskResult.objects.get().status == "SUCCESSFUL")
    message.refresh_from_db()
    assert (message.receiver_error, message.receiver_failed_at) == ("", None)
    assert task_mode_web == []  # never sent in the request


def test_a_receiver_failing_in_the_worker_is_recorded_and_replayed(
    start_worker: Callable[..., Worker], task_mode_web: list[Any]
) -> None:
    worker = start_worker(receiver_sleep=0)
    worker.fail_switch.touch()
    body = sample("doc-example")

    assert post(body) == 200

    worker.wait_for(
        "recorded failure",
        lambda: OfficialAccountMessage.objects.get().receiver_failed_at is not None,
    )
    message = OfficialAccountMessage.objects.get()
    assert "RuntimeError: the receiver is broken" in message.receiver_error
    assert message.signalled_at is not None
    worker.wait_for("failed task", lambda: DBTaskResult.objects.get().status == "FAILED")
    task = DBTaskResult.objects.get()
    assert task.exception_class_path == "officialaccount_webhook.notify.task.ReceiverFailed"
    assert "the receiver is broken" not in task.traceback  # kept once, on the message
    assert worker.marked() == []

    # The receiver is fixed; the replay sends from its own process, not through the queue.
    worker.fail_switch.unlink()
    replay = subprocess.run(
        [sys.executable, "-m", "django", "officialaccount_replay", "--failed"],
        cwd=ROOT,
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.strip() == "1 of 1"
    message.refresh_from_db()
    assert (message.receiver_error, message.receiver_failed_at) == ("", None)
    [(pid, msg_key)] = worker.marked()
    assert msg_key == body["MsgKey"] and pid != worker.process.pid
    assert DBTaskResult.objects.count() == 1
    assert task_mode_web == []
