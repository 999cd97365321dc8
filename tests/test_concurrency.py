"""Idempotency under real concurrency: parallel deliveries, each on its own connection.

On PostgreSQL the unique constraint and row locks decide; on SQLite (a file, in IMMEDIATE
transaction mode, as the README advises) whole transactions are serialised.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.signals import message_recalled, message_received
from officialaccount_webhook.webhook.wire import AFTER_MSG_WITHDRAW
from tests.conftest import callback_query, callback_url, sample

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 8


def post_in_parallel(body: dict[str, Any], query: dict[str, str]) -> list[int]:
    """POST the same callback from PARALLEL threads at once, each on its own connection."""
    barrier = threading.Barrier(PARALLEL)
    statuses: list[int] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(
                callback_url(query), data=json.dumps(body), content_type="application/json"
            )
            statuses.append(response.status_code)
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return statuses


def counting(signal: Any) -> tuple[list[Any], Callable[[], None]]:
    calls: list[Any] = []
    lock = threading.Lock()

    def receiver(**kwargs: Any) -> None:
        with lock:
            calls.append(kwargs["message"].pk)

    signal.connect(receiver, weak=False)
    return calls, lambda: signal.disconnect(receiver)


def test_parallel_deliveries_of_one_message_store_one_row_and_send_one_signal() -> None:
    calls, disconnect = counting(message_received)
    try:
        statuses = post_in_parallel(sample("text"), callback_query())
    finally:
        disconnect()
    assert statuses == [200] * PARALLEL
    message = OfficialAccountMessage.objects.get()
    assert calls == [message.pk]
    outcomes = sorted(CallbackDelivery.objects.values_list("outcome", flat=True))
    assert outcomes == ["accepted"] + ["duplicate"] * (PARALLEL - 1)


def test_parallel_withdrawals_recall_once() -> None:
    Client().post(
        callback_url(callback_query()),
        data=json.dumps(sample("doc-example")),
        content_type="application/json",
    )
    calls, disconnect = counting(message_recalled)
    try:
        statuses = post_in_parallel(sample("withdraw"), callback_query(command=AFTER_MSG_WITHDRAW))
    finally:
        disconnect()
    assert statuses == [200] * PARALLEL
    message = OfficialAccountMessage.objects.get()
    assert message.recalled_at is not None
    assert calls == [message.pk]
