"""How the app's signals reach receivers once the transaction commits: ``SIGNAL_MODE``.

``"on_commit"`` (the default) sends them in the process that stored the event, from
``transaction.on_commit``: in the webhook's request, before its answer goes out.

``"task"`` enqueues, from ``transaction.on_commit``, one task of Django's Tasks framework per
signal (``signal_tasks``); a worker sends it, so a slow receiver never holds up the answer to
Tencent. A signal nobody listens to in this process is not enqueued: it is sent here as in
``"on_commit"`` mode, where sending to nobody costs nothing (for ``message_received``, only the
record that it was sent). So receivers must be connected in the web process as well as in the
worker, which they are when connected in ``AppConfig.ready()``.

If the enqueue fails (the task store is down, the backend refuses the task), the error is
logged and the answer to Tencent is unchanged. The message keeps ``signalled_at`` empty, so
``officialaccount_replay --unsignalled`` sends ``message_received`` later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.db import transaction
from django.dispatch import Signal

from .conf import SIGNAL_MODE_TASK, get_settings
from .dispatch import send_callback_received, send_message_recalled, send_message_received
from .models import CallbackDelivery, OfficialAccountMessage
from .signals import callback_received, message_recalled, message_received

logger = logging.getLogger(__name__)


def message_received_after_commit(using: str, message: OfficialAccountMessage) -> None:
    """Send ``message_received`` for ``message`` once the transaction on ``using`` commits."""
    _after_commit(
        using,
        message_received,
        OfficialAccountMessage,
        partial(send_message_received, message),
        "send_message_received",
        message.pk,
    )


def message_recalled_after_commit(using: str, message: OfficialAccountMessage) -> None:
    """Send ``message_recalled`` for ``message`` once the transaction on ``using`` commits."""
    if not message_recalled.has_listeners(OfficialAccountMessage):
        return  # sending to nobody: nothing to do, now or after the commit
    _after_commit(
        using,
        message_recalled,
        OfficialAccountMessage,
        partial(send_message_recalled, message),
        "send_message_recalled",
        message.pk,
    )


def callback_received_after_commit(
    using: str, delivery: CallbackDelivery, sdk_app_id: int, payload: dict[str, Any]
) -> None:
    """Send ``callback_received`` for ``delivery`` once the transaction on ``using`` commits.

    A task carries no payload: the worker reads it from the delivery record's ``body``.
    """
    if not callback_received.has_listeners(CallbackDelivery):
        return  # every callback passes here: with nobody listening it costs nothing
    _after_commit(
        using,
        callback_received,
        CallbackDelivery,
        partial(send_callback_received, delivery, sdk_app_id, payload),
        "send_callback_received",
        delivery.pk,
        sdk_app_id,
    )


def _after_commit(
    using: str,
    signal: Signal,
    sender: type[Any],
    send: Callable[[], object],
    task_name: str,
    *task_args: int,
) -> None:
    if get_settings().signal_mode == SIGNAL_MODE_TASK and signal.has_listeners(sender):
        send = partial(_enqueue, task_name, using, *task_args)
    transaction.on_commit(send, using=using, robust=True)


def _enqueue(task_name: str, using: str, *args: int) -> None:
    """Enqueue ``signal_tasks.<task_name>(using, *args)``; log, never raise, if that fails."""
    conf = get_settings()
    try:
        # Imported here: only the task mode needs the Tasks framework.
        from . import signal_tasks

        task = getattr(signal_tasks, task_name)
        if (task.backend, task.queue_name) != (conf.task_backend, conf.task_queue):
            task = task.using(backend=conf.task_backend, queue_name=conf.task_queue)
        task.enqueue(using, *args)
    except Exception:
        # Never raised: the event is stored and Tencent must get its answer.
        logger.exception(
            "Could not enqueue %s%r on task backend %r; %s",
            task_name,
            (using, *args),
            conf.task_backend,
            "officialaccount_replay --unsignalled sends message_received later"
            if task_name == "send_message_received"
            else "this signal is not sent",
        )
