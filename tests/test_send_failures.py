"""Sending when something fails after Tencent has sent, or in between: storing that fails (the
MsgKey still reaches the caller, and the after-send callback stores the message), a scheduled
send that never stays "sending", the REST API's keys that always get an answer and are pruned,
and an answer that follows an uncertain attempt."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import OperationalError
from django.db.models.signals import pre_save
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer

from officialaccount_webhook.api.send import _fingerprint
from officialaccount_webhook.compose import send_message
from officialaccount_webhook.compose.schedule import cancel_scheduled, run_scheduled
from officialaccount_webhook.compose.send import SentNotStored
from officialaccount_webhook.models import (
    OfficialAccountMessage,
    ScheduledSend,
    SendIdempotencyKey,
)
from officialaccount_webhook.models.sending import (
    IDEMPOTENCY_CLAIM_TIMEOUT,
    IDEMPOTENCY_KEY_RETENTION,
)
from tests.conftest import SignalLog
from tests.settings import SIGNED_APP
from tests.tencent import ACCOUNT, error_reply
from tests.test_send import (
    MSG_TIME,
    SEND_PATH,
    after_send_callback,
    bodies,
    send_reply,
    tencent_fixture,  # noqa: F401  (the "tencent" fixture)
)
from tests.test_send_api import BODY, api_client, post

pytestmark = pytest.mark.django_db

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
LATER = datetime(2030, 1, 1, 9, tzinfo=UTC)
MSG_KEY = "90_1_1717000000"


@pytest.fixture
def storing_fails(request: pytest.FixtureRequest) -> Iterator[type[Exception]]:
    """Make storing a message fail, with the parameter's exception (the database by default)."""
    error: type[Exception] = getattr(request, "param", OperationalError)

    def refuse(sender: Any, **kwargs: Any) -> None:
        raise error("the database went away")

    pre_save.connect(refuse, sender=OfficialAccountMessage, dispatch_uid="storing_fails")
    yield error
    pre_save.disconnect(sender=OfficialAccountMessage, dispatch_uid="storing_fails")


# ------------------------------------------------------------------ storing after Tencent sent


def test_storing_that_fails_after_the_send_reports_the_msgkey(
    tencent: HTTPServer, storing_fails: type[Exception], caplog: pytest.LogCaptureFixture
) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply(MSG_KEY))
    with caplog.at_level(logging.ERROR), pytest.raises(SentNotStored) as caught:
        send_message(SIGNED_APP, ACCOUNT, ["red packet"])
    assert (caught.value.msg_key, caught.value.msg_time) == (MSG_KEY, MSG_TIME)
    assert isinstance(caught.value.__cause__, OperationalError)
    assert "after-send callback will store it" in str(caught.value)
    [record] = [r for r in caplog.records if r.name == "officialaccount_webhook.compose.send"]
    assert MSG_KEY in record.getMessage() and str(MSG_TIME) in record.getMessage()
    assert len(tencent.log) == 1


def test_the_callback_stores_what_storing_after_the_send_could_not(
    tencent: HTTPServer, signal_log: SignalLog, post_callback: Any
) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply(MSG_KEY))
    pre_save.connect(_refuse, sender=OfficialAccountMessage, dispatch_uid="once")
    try:
        with pytest.raises(SentNotStored):
            send_message(SIGNED_APP, ACCOUNT, ["red packet"])
    finally:
        pre_save.disconnect(sender=OfficialAccountMessage, dispatch_uid="once")
    assert post_callback(after_send_callback(MSG_KEY)).status_code == 200
    assert OfficialAccountMessage.objects.get().msg_key == MSG_KEY
    assert len(signal_log.received) == 1


def _refuse(sender: Any, **kwargs: Any) -> None:
    raise OperationalError("the database went away")


# ------------------------------------------------------------------ scheduled sends


@pytest.mark.parametrize(
    "storing_fails",
    [pytest.param(OperationalError, id="database"), pytest.param(RuntimeError, id="bug")],
    indirect=True,
)
def test_a_scheduled_send_that_fails_after_tencent_sent_ends_failed_with_its_msgkey(
    tencent: HTTPServer, storing_fails: type[Exception]
) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply(MSG_KEY))
    with override_settings(TASKS=DB_TASKS):
        row = send_message(SIGNED_APP, ACCOUNT, ["later"], send_at=LATER)
        assert run_scheduled(row.pk, "default") is None  # not raised: nothing to run again
    row.refresh_from_db()
    assert (row.status, row.msg_key) == ("failed", MSG_KEY)
    assert "the database went away" in row.error and storing_fails.__name__ in row.error
    assert row.finished_at is not None
    assert not cancel_scheduled(row, "ops")  # finished, not cancellable
    assert len(tencent.log) == 1


def test_a_scheduled_send_that_fails_before_the_call_ends_failed(tencent: HTTPServer) -> None:
    with override_settings(TASKS=DB_TASKS):
        row = send_message(SIGNED_APP, ACCOUNT, ["later"], send_at=LATER)
    # A row the code did not expect (here a Random out of range): a ValueError, not a SendError,
    # and the row must still end.
    ScheduledSend.objects.filter(pk=row.pk).update(random=-1)
    assert run_scheduled(row.pk, "default") is None
    row.refresh_from_db()
    assert (row.status, row.msg_key) == ("failed", "")
    assert "Random must be between" in row.error
    assert tencent.log == []


# ------------------------------------------------------------------ the REST API's keys


def test_an_unexpected_failure_keeps_a_maybe_sent_answer(tencent: HTTPServer) -> None:
    # Scheduling fails in a way nobody planned for: the key gets "maybe sent", for good, and
    # not a 409 for ever.
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    client = api_client("send_officialaccountmessage")
    body = {**BODY, "send_at": "2030-01-01T09:00:00Z"}
    pre_save.connect(broken, sender=ScheduledSend, dispatch_uid="broken")
    try:
        with override_settings(TASKS=DB_TASKS):
            first = post(client, body)
    finally:
        pre_save.disconnect(sender=ScheduledSend, dispatch_uid="broken")
    assert first.status_code == 504
    assert first.json()["maybe_sent"] is True
    retried = post(client, body)
    assert (retried.status_code, retried["Idempotent-Replayed"]) == (504, "true")
    assert SendIdempotencyKey.objects.get().status_code == 504


def test_a_claim_left_without_an_answer_becomes_maybe_sent(tencent: HTTPServer) -> None:
    client = api_client("send_officialaccountmessage")
    user = User.objects.get()
    fingerprint = _fingerprint(BODY)
    now = timezone.now()
    SendIdempotencyKey.objects.create(
        user=user, key="fresh", request_hash=fingerprint, created_at=now - timedelta(minutes=1)
    )
    SendIdempotencyKey.objects.create(
        user=user,
        key="dead",
        request_hash=fingerprint,
        created_at=now - IDEMPOTENCY_CLAIM_TIMEOUT - timedelta(seconds=1),
    )
    assert post(client, BODY, key="fresh").status_code == 409  # may still be sending
    answered = post(client, BODY, key="dead")
    assert answered.status_code == 504
    assert answered.json()["maybe_sent"] is True
    assert SendIdempotencyKey.objects.get(key="dead").status_code == 504
    assert tencent.log == []  # never sent again


def test_storing_that_fails_answers_the_msgkey(
    tencent: HTTPServer, storing_fails: type[Exception]
) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply(MSG_KEY))
    client = api_client("send_officialaccountmessage")
    first = post(client, BODY)
    assert first.status_code == 201
    answer = first.json()
    assert (answer["status"], answer["msg_key"]) == ("sent", MSG_KEY)
    assert answer["msg_time"].startswith("2024-05-29")
    assert "message_id" not in answer
    assert post(client, BODY).json() == answer
    assert len(tencent.log) == 1


def test_prune_deletes_old_idempotency_keys() -> None:
    user = User.objects.create_user("deploy")
    now = timezone.now()
    old = now - IDEMPOTENCY_KEY_RETENTION - timedelta(minutes=1)
    SendIdempotencyKey.objects.create(user=user, key="old", request_hash="h", created_at=old)
    SendIdempotencyKey.objects.create(user=user, key="new", request_hash="h", created_at=now)
    out = StringIO()
    call_command("officialaccount_prune", stdout=out)
    assert list(SendIdempotencyKey.objects.values_list("key", flat=True)) == ["new"]
    assert "deleted 1 send idempotency key(s) older than 7 days" in out.getvalue()


# ------------------------------------------------------------------ uncertain answers


def test_an_answer_after_an_uncertain_attempt_is_said(
    tencent: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The first attempt timed out on Tencent's side (it may have sent); the retry's answer is
    # taken to name the one message.
    tencent.expect_ordered_request(SEND_PATH).respond_with_json(error_reply(60008, "timeout"))
    tencent.expect_ordered_request(SEND_PATH).respond_with_json(send_reply(MSG_KEY))
    tencent.expect_ordered_request(SEND_PATH).respond_with_json(send_reply("91_1_1717000000"))
    with caplog.at_level(logging.WARNING):
        message = send_message(SIGNED_APP, ACCOUNT, ["hi"])
    assert message.sent_uncertain is True  # type: ignore[attr-defined]
    [record] = [r for r in caplog.records if "uncertain attempt" in r.getMessage()]
    assert MSG_KEY in record.getMessage()
    first, second = bodies(tencent)
    assert first["Random"] == second["Random"]
    # A send answered at once is certain, and says so.
    assert send_message(SIGNED_APP, ACCOUNT, ["hi"]).sent_uncertain is False  # type: ignore[attr-defined]


def test_the_api_says_an_uncertain_send(tencent: HTTPServer) -> None:
    tencent.expect_ordered_request(SEND_PATH).respond_with_data("bad gateway", status=502)
    tencent.expect_ordered_request(SEND_PATH).respond_with_json(send_reply(MSG_KEY))
    answer = post(api_client("send_officialaccountmessage"), BODY)
    assert answer.status_code == 201
    assert answer.json()["uncertain"] is True
