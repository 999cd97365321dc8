"""Scheduled sends: the row and its task, cancelling, the task's claim under a row lock; and on
PostgreSQL, the real worker (``db_worker``) of the example project sending one and never the
cancelled one."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from pytest_httpserver import HTTPServer

from officialaccount_webhook.compose import SendError, send_message
from officialaccount_webhook.compose.schedule import cancel_scheduled, run_scheduled
from officialaccount_webhook.models import OfficialAccountMessage, ScheduledSend
from tests.conftest import ROOT, SignalLog, with_other_processes
from tests.gunicorn_process import project_environment
from tests.settings import SIGNED_APP
from tests.tencent import ACCOUNT, SECRET_KEY, error_reply
from tests.test_send import (
    SEND_PATH,
    bodies,
    send_reply,
    tencent_conf,
    tencent_fixture,  # noqa: F401  (the "tencent" fixture)
)

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
LATER = datetime(2030, 1, 1, 9, tzinfo=UTC)
TIMEOUT = 60.0


@pytest.fixture
def db_tasks(tencent: HTTPServer) -> Iterator[HTTPServer]:
    with override_settings(TASKS=DB_TASKS):
        yield tencent


def schedule(text: str = "later", when: datetime = LATER) -> ScheduledSend:
    return send_message(SIGNED_APP, ACCOUNT, [text], sent_by="ops", send_at=when)


@pytest.mark.django_db
def test_scheduling_stores_the_row_and_enqueues_its_task(db_tasks: HTTPServer) -> None:
    row = schedule(when=LATER)
    assert (row.status, row.send_at, row.requested_by) == ("scheduled", LATER, "ops")
    assert row.msg_body == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "later"}}]
    task = DBTaskResult.objects.get()
    assert str(task.id) == row.task_id
    assert task.task_path == "officialaccount_webhook.compose.task.send_scheduled"
    assert task.run_after == LATER
    assert task.args_kwargs == {"args": [row.pk, "default"], "kwargs": {}}
    assert db_tasks.log == []


@pytest.mark.django_db
def test_the_task_sends_it_with_the_random_chosen_when_scheduled(
    db_tasks: HTTPServer, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    db_tasks.expect_request(SEND_PATH).respond_with_json(send_reply("9_1_1717000000"))
    row = schedule()
    with django_capture_on_commit_callbacks(execute=True):
        message = run_scheduled(row.pk, "default")
    assert message is not None
    row.refresh_from_db()
    assert (row.status, row.msg_key, row.message_id) == ("sent", "9_1_1717000000", message.pk)
    assert row.finished_at is not None
    [body] = bodies(db_tasks)
    assert body["Random"] == row.random
    assert OfficialAccountMessage.objects.get().sent_by == "ops"
    assert len(signal_log.received) == 1
    # A second run of the task (a backend that delivers twice) finds it claimed.
    assert run_scheduled(row.pk, "default") is None
    assert len(db_tasks.log) == 1


@pytest.mark.django_db
def test_a_cancelled_send_is_never_sent(db_tasks: HTTPServer) -> None:
    row = schedule()
    assert cancel_scheduled(row, "admin:alice")
    assert (row.status, row.cancelled_by) == ("cancelled", "admin:alice")
    assert run_scheduled(row.pk, "default") is None
    assert db_tasks.log == []
    assert ScheduledSend.objects.get().status == "cancelled"
    assert not cancel_scheduled(row, "admin:bob")  # once


@pytest.mark.django_db
def test_a_claimed_send_can_no_longer_be_cancelled(db_tasks: HTTPServer) -> None:
    row = schedule()
    ScheduledSend.objects.filter(pk=row.pk).update(status=ScheduledSend.Status.SENDING)
    assert not cancel_scheduled(row, "admin:alice")
    assert ScheduledSend.objects.get().status == "sending"


@pytest.mark.django_db
def test_a_refused_scheduled_send_is_marked_failed(db_tasks: HTTPServer) -> None:
    db_tasks.expect_request(SEND_PATH).respond_with_json(error_reply(10010, "no such account"))
    row = schedule()
    assert run_scheduled(row.pk, "default") is None
    row.refresh_from_db()
    assert row.status == "failed"
    assert "no such account (ErrorCode 10010)" in row.error
    assert not OfficialAccountMessage.objects.exists()


@pytest.mark.django_db
def test_a_deleted_row_is_not_sent(db_tasks: HTTPServer) -> None:
    row = schedule()
    ScheduledSend.objects.all().delete()
    assert run_scheduled(row.pk, "default") is None
    assert db_tasks.log == []


@pytest.mark.django_db
def test_refused_when_the_backend_cannot_run_a_task_later(tencent: HTTPServer) -> None:
    immediate = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with override_settings(TASKS=immediate), pytest.raises(SendError, match="supports_defer"):
        schedule()
    assert not ScheduledSend.objects.exists()


@pytest.mark.django_db
def test_refused_without_a_time_zone(db_tasks: HTTPServer) -> None:
    with pytest.raises(SendError, match="time zone"):
        schedule(when=datetime(2030, 1, 1, 9))  # naive: the point of the test
    assert not ScheduledSend.objects.exists()


@pytest.mark.django_db
def test_a_message_tencent_would_refuse_is_not_scheduled(db_tasks: HTTPServer) -> None:
    with pytest.raises(SendError, match="12288"):
        schedule(text="x" * 13_000)
    assert not ScheduledSend.objects.exists()
    assert not DBTaskResult.objects.exists()


# ------------------------------------------------------------------ the real worker


@pytest.fixture
def worker(
    transactional_db: None, tmp_path: Path, httpserver: HTTPServer
) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start the example project's ``db_worker`` on the test database, with the app pointed at
    the local server that plays Tencent; stopped after."""
    processes: list[subprocess.Popen[bytes]] = []
    log = tmp_path / "worker.log"
    env = project_environment(
        tmp_path,
        TENCENT_CHAT_SECRET_KEY=SECRET_KEY,
        TENCENT_CHAT_API_BASE_URL=httpserver.url_for("/"),
    )

    def start() -> subprocess.Popen[bytes]:
        with log.open("wb") as output:
            process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "django", "db_worker"),
                    *("--interval", "0.2", "--no-startup-delay", "--no-reload"),
                ],
                cwd=ROOT,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        return process

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(what: str, condition: Callable[[], bool], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert process.poll() is None, "the worker exited"
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} after {TIMEOUT} s")
        time.sleep(0.1)


def with_marks(marks: list[pytest.MarkDecorator]) -> Callable[[Any], Any]:
    def apply(test: Any) -> Any:
        for mark in marks:
            test = mark(test)
        return test

    return apply


@with_marks(with_other_processes("a task worker sharing the test database"))
def test_the_worker_sends_it_and_never_the_cancelled_one(
    worker: Callable[[], subprocess.Popen[bytes]], httpserver: HTTPServer
) -> None:
    httpserver.expect_request(SEND_PATH).respond_with_json(send_reply("12_1_1717000000"))
    soon = timezone.now() + timedelta(seconds=2)
    with override_settings(TASKS=DB_TASKS, OFFICIALACCOUNT_WEBHOOK=tencent_conf(httpserver)):
        kept = schedule("the release is out", when=soon)
        cancelled = schedule("never mind", when=soon)
        assert cancel_scheduled(cancelled, "command")
    process = worker()

    def finished() -> bool:
        return not DBTaskResult.objects.exclude(status__in=["SUCCESSFUL", "FAILED"]).exists()

    wait_for("finished tasks", finished, process)
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}
    kept.refresh_from_db()
    cancelled.refresh_from_db()
    assert (kept.status, kept.msg_key) == ("sent", "12_1_1717000000")
    assert cancelled.status == "cancelled"
    [body] = bodies(httpserver)
    assert body["MsgBody"][0]["MsgContent"]["Text"] == "the release is out"
    assert body["Random"] == kept.random
    message = OfficialAccountMessage.objects.get()
    assert (message.sent_by, message.msg_key) == ("ops", "12_1_1717000000")
