"""SIGNAL_MODE "task": what is enqueued, and what the tasks do, with the framework's in-process
backends (dummy: keeps tasks; immediate: runs them at once). tests/test_task_worker.py runs the
real thing: a database backend and a worker process, on PostgreSQL."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import DatabaseError
from django.test import override_settings
from django.utils import timezone

import officialaccount_webhook
import officialaccount_webhook.notify
from officialaccount_webhook import signal_tasks
from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.notify import framework as task_framework
from officialaccount_webhook.notify.task import ReceiverFailed, deliver_signal
from officialaccount_webhook.signals import callback_received, message_recalled, message_received
from officialaccount_webhook.webhook.events import SentMessage
from officialaccount_webhook.webhook.ingest import store_backfilled
from officialaccount_webhook.webhook.wire import AFTER_MSG_WITHDRAW, AFTER_SEND_MSG
from tests.conftest import PostCallback, SignalLog, callback_query, sample
from tests.settings import OFFICIALACCOUNT_WEBHOOK, SIGNED_APP

pytestmark = pytest.mark.django_db

FRAMEWORK = task_framework.framework().__name__
DUMMY = f"{FRAMEWORK}.backends.dummy.DummyBackend"
IMMEDIATE = f"{FRAMEWORK}.backends.immediate.ImmediateBackend"
TASK_MODE = {**OFFICIALACCOUNT_WEBHOOK, "SIGNAL_MODE": "task"}
SECRET = "receiver-saw-a-secret"
ENQUEUE_FAILED = "Could not enqueue message_received for OfficialAccountMessage"


def task_mode(backend: str, **conf: str) -> override_settings:
    return override_settings(
        TASKS={"default": {"BACKEND": backend}}, OFFICIALACCOUNT_WEBHOOK=TASK_MODE | conf
    )


def enqueued() -> list[tuple[str, str, list[Any]]]:
    """The dummy backend's tasks: (name, queue, args)."""
    return [
        (result.task.name, result.task.queue_name, result.args)
        for result in task_framework.backend("default").results
    ]


@pytest.fixture
def finished() -> Iterator[list[Any]]:
    """The results of the tasks that ran (the immediate backend runs them on enqueue)."""
    results: list[Any] = []

    def record(task_result: Any, **kwargs: Any) -> None:
        results.append(task_result)

    signals = task_framework.framework().signals
    signals.task_finished.connect(record)
    yield results
    signals.task_finished.disconnect(record)


def test_on_commit_mode_sends_in_the_request_and_enqueues_nothing(
    post_callback: PostCallback, signal_log: SignalLog
) -> None:
    with override_settings(TASKS={"default": {"BACKEND": DUMMY}}):
        post_callback(sample("text"))
        assert enqueued() == []
    [call] = signal_log.received
    assert call["message"].signalled_at is not None
    assert len(signal_log.callbacks) == 1


def test_task_mode_enqueues_one_task_per_signal_and_sends_nothing_in_the_request(
    post_callback: PostCallback, signal_log: SignalLog
) -> None:
    with task_mode(DUMMY):
        assert post_callback(sample("doc-example")).status_code == 200
        message = OfficialAccountMessage.objects.get()
        delivery = CallbackDelivery.objects.get()
        assert enqueued() == [
            ("deliver_signal", "default", ["message_received", "default", message.pk]),
            ("deliver_signal", "default", ["callback_received", "default", delivery.pk]),
        ]
        # A duplicate: callback_received again (it is sent for duplicates), no message_received.
        post_callback(sample("doc-example"))
        duplicate = CallbackDelivery.objects.latest("pk")
        assert duplicate.outcome == CallbackDelivery.Outcome.DUPLICATE
        assert enqueued()[2:] == [
            ("deliver_signal", "default", ["callback_received", "default", duplicate.pk])
        ]
        post_callback(sample("withdraw"), callback_query(command=AFTER_MSG_WITHDRAW))
        withdrawal = CallbackDelivery.objects.latest("pk")
        assert enqueued()[3:] == [
            ("deliver_signal", "default", ["message_recalled", "default", message.pk]),
            ("deliver_signal", "default", ["callback_received", "default", withdrawal.pk]),
        ]
    assert (signal_log.received, signal_log.recalled, signal_log.callbacks) == ([], [], [])
    message.refresh_from_db()
    assert message.signalled_at is None  # the worker records it when it sends


def test_task_mode_enqueues_nothing_that_nobody_listens_to(post_callback: PostCallback) -> None:
    assert not message_received.has_listeners(OfficialAccountMessage)
    with task_mode(DUMMY):
        post_callback(sample("doc-example"))
        post_callback(sample("withdraw"), callback_query(command=AFTER_MSG_WITHDRAW))
        assert enqueued() == []
    # Stored as signalled, as in the on-commit mode: nobody was there to tell.
    assert OfficialAccountMessage.objects.get().signalled_at is not None


def test_backfilled_message_is_enqueued(
    signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    event = SentMessage.from_payload(AFTER_SEND_MSG, sample("text"))
    with task_mode(DUMMY):
        with django_capture_on_commit_callbacks(execute=True):
            assert store_backfilled(SIGNED_APP, event)
        message = OfficialAccountMessage.objects.get()
        args = ["message_received", "default", message.pk]
        assert enqueued() == [("deliver_signal", "default", args)]


def test_task_backend_and_queue_come_from_the_settings(
    post_callback: PostCallback, signal_log: SignalLog
) -> None:
    tasks = {
        "default": {"BACKEND": IMMEDIATE},
        "signals": {"BACKEND": DUMMY, "QUEUES": ["officialaccount"]},
    }
    conf = TASK_MODE | {"TASK_BACKEND": "signals", "TASK_QUEUE": "officialaccount"}
    with override_settings(TASKS=tasks, OFFICIALACCOUNT_WEBHOOK=conf):
        post_callback(sample("text"))
        results = task_framework.backend("signals").results
        assert [(r.task.name, r.task.queue_name, r.backend) for r in results] == [
            ("deliver_signal", "officialaccount", "signals"),
            ("deliver_signal", "officialaccount", "signals"),
        ]
    assert signal_log.received == []  # not run by the immediate "default" backend


def test_tasks_send_the_same_signals_as_the_request_would(
    post_callback: PostCallback, signal_log: SignalLog, finished: list[Any]
) -> None:
    body = sample("doc-example")
    with task_mode(IMMEDIATE):
        post_callback(body)
        post_callback(sample("withdraw"), callback_query(command=AFTER_MSG_WITHDRAW))
    assert [result.args[0] for result in finished] == [
        "message_received",
        "callback_received",
        "message_recalled",
        "callback_received",
    ]
    assert {result.status for result in finished} == {"SUCCESSFUL"}
    [received] = signal_log.received
    assert (received["message"].msg_key, received["backfilled"]) == (body["MsgKey"], False)
    assert received["message"].signalled_at is not None
    [recalled] = signal_log.recalled
    assert recalled["message"].recalled_at is not None
    first = signal_log.callbacks[0]
    assert first["payload"] == body
    assert (first["command"], first["sdk_app_id"]) == (body["CallbackCommand"], SIGNED_APP)
    assert first["delivery"] == CallbackDelivery.objects.order_by("pk").first()
    message = OfficialAccountMessage.objects.get()
    assert message.signalled_at is not None and message.receiver_failed_at is None


def test_a_failing_receiver_is_recorded_and_fails_its_task(
    post_callback: PostCallback, finished: list[Any]
) -> None:
    def broken(**kwargs: Any) -> None:
        raise RuntimeError(SECRET)

    signals = (message_received, message_recalled, callback_received)
    for signal in signals:
        signal.connect(broken)
    try:
        with task_mode(IMMEDIATE):
            post_callback(sample("doc-example"))
            post_callback(sample("withdraw"), callback_query(command=AFTER_MSG_WITHDRAW))
    finally:
        for signal in signals:
            signal.disconnect(broken)
    message = OfficialAccountMessage.objects.get()
    assert message.receiver_failed_at is not None
    assert SECRET in message.receiver_error and "RuntimeError" in message.receiver_error
    assert message.signalled_at is not None
    assert [(r.args[0], r.status) for r in finished] == [
        ("message_received", "FAILED"),
        ("callback_received", "FAILED"),
        ("message_recalled", "FAILED"),
        ("callback_received", "FAILED"),
    ]
    for result in finished:
        [error] = result.errors
        assert error.exception_class is ReceiverFailed
        # The receiver's traceback is kept once, on the message, not again in the task store.
        assert SECRET not in error.traceback
    assert "receiver_error" in finished[0].errors[0].traceback


def test_a_queued_task_sends_nothing_once_replay_has_sent(
    post_callback: PostCallback, signal_log: SignalLog
) -> None:
    """officialaccount_replay --unsignalled may send a message whose task still waits in the
    queue; the task, when it runs, finds the message signalled and sends nothing."""
    with task_mode(DUMMY):
        post_callback(sample("text"))
        [(_name, _queue, args)] = [task for task in enqueued() if task[2][0] == "message_received"]
    OfficialAccountMessage.objects.update(received_at=timezone.now() - timedelta(hours=1))
    call_command("officialaccount_replay", "--unsignalled", stdout=StringIO())
    assert len(signal_log.received) == 1
    deliver_signal.call(*args)
    assert len(signal_log.received) == 1


def test_a_task_for_a_deleted_row_logs_and_finishes(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="officialaccount_webhook.notify.task"):
        assert deliver_signal.call("message_received", "default", 987654) is None
        assert deliver_signal.call("message_recalled", "default", 987654) is None
        assert deliver_signal.call("callback_received", "default", 987654) is None
    assert [record.getMessage() for record in caplog.records] == [
        "OfficialAccountMessage 987654 was deleted before message_received was sent",
        "OfficialAccountMessage 987654 was deleted before message_recalled was sent",
        "CallbackDelivery 987654 was deleted before callback_received was sent",
    ]


def test_a_failed_enqueue_leaves_the_answer_alone_and_replay_sends_later(
    post_callback: PostCallback,
    signal_log: SignalLog,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def task_store_down(*args: Any, **kwargs: Any) -> None:
        raise DatabaseError("the task database is down")

    with task_mode(DUMMY):
        monkeypatch.setattr(task_framework.backend("default"), "enqueue", task_store_down)
        with caplog.at_level(logging.ERROR, logger="officialaccount_webhook.notify.schedule"):
            response = post_callback(sample("text"))
        assert enqueued() == []
    assert response.status_code == 200
    assert response.json()["ErrorCode"] == 0
    message = OfficialAccountMessage.objects.get()
    assert message.signalled_at is None
    [received_error, callback_error] = caplog.records
    assert ENQUEUE_FAILED in received_error.getMessage()
    assert "officialaccount_replay --unsignalled" in received_error.getMessage()
    assert "the task database is down" in received_error.exc_text
    assert "this signal is not sent" in callback_error.getMessage()
    assert signal_log.received == []
    # Later, once settled: the replay sends it in its own process.
    OfficialAccountMessage.objects.update(received_at=timezone.now() - timedelta(minutes=5))
    out = StringIO()
    call_command("officialaccount_replay", "--unsignalled", stdout=out)
    assert out.getvalue().strip() == "1 of 1"
    assert [call["message"].pk for call in signal_log.received] == [message.pk]


def test_a_missing_task_backend_is_logged_not_raised(
    post_callback: PostCallback, signal_log: SignalLog, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        task_mode(DUMMY, TASK_BACKEND="nowhere"),
        caplog.at_level(logging.ERROR, logger="officialaccount_webhook.notify.schedule"),
    ):
        assert post_callback(sample("text")).status_code == 200
    assert len(caplog.records) == 2
    assert "on task backend 'nowhere'" in caplog.records[0].getMessage()
    assert OfficialAccountMessage.objects.get().signalled_at is None


def test_without_the_framework_the_task_mode_logs_and_stores(
    post_callback: PostCallback,
    signal_log: SignalLog,
    caplog: pytest.LogCaptureFixture,
    no_framework: None,
) -> None:
    with pytest.raises(task_framework.TasksFrameworkMissing, match="django-tasks backport"):
        task_framework.framework()
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK=TASK_MODE),
        caplog.at_level(logging.ERROR, logger="officialaccount_webhook.notify.schedule"),
    ):
        assert post_callback(sample("text")).status_code == 200
    assert ENQUEUE_FAILED in caplog.records[0].getMessage()
    assert OfficialAccountMessage.objects.get().signalled_at is None


@pytest.fixture
def no_framework(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if neither django.tasks nor django_tasks were installed."""
    monkeypatch.setattr(task_framework, "CANDIDATES", ("no_such_tasks_framework",))
    for name in ("officialaccount_webhook.notify.task", "officialaccount_webhook.signal_tasks"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.delattr(officialaccount_webhook.notify, "task", raising=False)
    monkeypatch.delattr(officialaccount_webhook, "signal_tasks", raising=False)
    task_framework._find.cache_clear()
    yield
    task_framework._find.cache_clear()


def test_tasks_enqueued_under_their_old_names_still_run(
    post_callback: PostCallback, signal_log: SignalLog
) -> None:
    """A worker of this version runs tasks that the previous one enqueued, by their old paths."""
    with task_mode(DUMMY):
        post_callback(sample("doc-example"))
        post_callback(sample("withdraw"), callback_query(command=AFTER_MSG_WITHDRAW))
    message = OfficialAccountMessage.objects.get()
    first, _withdrawal = CallbackDelivery.objects.order_by("pk")
    assert signal_tasks.send_message_received.call("default", message.pk) is None
    assert signal_tasks.send_message_recalled.call("default", message.pk) is None
    assert signal_tasks.send_callback_received.call("default", first.pk, SIGNED_APP) is None
    assert [call["message"].pk for call in signal_log.received] == [message.pk]
    assert [call["message"].pk for call in signal_log.recalled] == [message.pk]
    assert [call["delivery"].pk for call in signal_log.callbacks] == [first.pk]
    assert signal_tasks.ReceiverFailed is ReceiverFailed
