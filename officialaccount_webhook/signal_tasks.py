"""The tasks that send the app's signals in a worker, when ``SIGNAL_MODE`` is ``"task"``.

Imported only in that mode (by ``signal_delivery`` in the web process, and by the task worker,
which finds each task by its path): importing it needs the Tasks framework and a valid
``TASK_BACKEND``. Not named ``tasks.py``, so that task runners which import every installed
app's ``tasks`` module (Celery's autodiscovery) never load it by accident.

A task carries only JSON values: the database alias, the row's primary key, the SDKAppID. It
looks the row up in the worker and calls the same senders as the on-commit mode (``dispatch``),
so a receiver's failure is recorded on the message the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model

from . import dispatch
from .conf import get_settings
from .models import CallbackDelivery, OfficialAccountMessage
from .task_framework import framework

logger = logging.getLogger(__name__)
_Row = TypeVar("_Row", bound=Model)


class ReceiverFailed(Exception):
    """A receiver raised. The task fails with this, so that the task backend shows it failed.

    The receiver's own exception was already logged with its traceback, and for
    ``message_received`` recorded on the message (``receiver_error``), where replay finds it.
    This one names only what was sent, and carries nothing of the receiver's exception (it is
    raised outside any ``except``, so it has no cause or context either), so that the task
    backend does not store or log the same traceback, and whatever it held, again. Failing the
    task does not retry it: the Tasks framework has no retries, and ``officialaccount_replay
    --failed`` is the way to send again.
    """


# The tasks' defaults, from the settings when first imported; signal_delivery sends each task to
# the TASK_BACKEND and TASK_QUEUE in force when it enqueues.
_conf = get_settings()
_task: Callable[[Callable[..., None]], Any] = framework().task(
    backend=_conf.task_backend, queue_name=_conf.task_queue
)


@_task
def send_message_received(using: str, message_id: int) -> None:
    message = _find(OfficialAccountMessage, using, message_id, "message_received")
    if message is not None and message.signalled_at is not None:
        # Sent meanwhile, by officialaccount_replay --unsignalled while this task waited in
        # its queue: the task is enqueued only for a message not yet signalled.
        logger.info("message_received was sent for message %s before its task ran", message_id)
        return
    if message is not None and not dispatch.send_message_received(message):
        raise _failed("message_received", f"message {message_id}", "the message's receiver_error")


@_task
def send_message_recalled(using: str, message_id: int) -> None:
    message = _find(OfficialAccountMessage, using, message_id, "message_recalled")
    if message is not None and not dispatch.send_message_recalled(message):
        raise _failed("message_recalled", f"message {message_id}", "the log")


@_task
def send_callback_received(using: str, delivery_id: int, sdk_app_id: int) -> None:
    # The payload is the delivery record's body, stored for every callback that is handed on:
    # the task stays a few bytes, however large the callback was.
    delivery = _find(CallbackDelivery, using, delivery_id, "callback_received")
    if delivery is not None and not dispatch.send_callback_received(
        delivery, sdk_app_id, delivery.body or {}
    ):
        raise _failed("callback_received", f"delivery {delivery_id}", "the log")


def _find(model: type[_Row], using: str, pk: int, signal: str) -> _Row | None:
    row = model._default_manager.using(using).filter(pk=pk).first()
    if row is None:
        # Pruned or deleted while the task waited: there is nothing left to tell receivers.
        logger.warning("%s %s was deleted before %s was sent", model.__name__, pk, signal)
    return row


def _failed(signal: str, subject: str, traceback_in: str) -> ReceiverFailed:
    return ReceiverFailed(f"a receiver of {signal} failed for {subject}; see {traceback_in}")
