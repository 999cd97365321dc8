"""When and where each signal is sent: the one place that decides.

Per signal, once the transaction that recorded its event commits (``transaction.on_commit``):

* nobody listens: nothing is sent or enqueued. ``message_received`` is the exception, since
  sending it records ``signalled_at``: a message stored while nobody listens is marked
  signalled as it is stored (:func:`presignal`), at no extra write;
* ``SIGNAL_MODE`` ``"on_commit"`` (the default): sent in this process, in the webhook's
  request before its answer goes out;
* ``SIGNAL_MODE`` ``"task"``: one task of Django's Tasks framework is enqueued (``task``); a
  worker sends it, so a slow receiver never holds up the answer to Tencent. Receivers must be
  connected in the web process as well as in the worker, which they are when connected in
  ``AppConfig.ready()``.

If an enqueue fails (the task store is down, the backend refuses the task), the error is
logged and the answer to Tencent is unchanged. The message keeps ``signalled_at`` empty, so
``officialaccount_replay --unsignalled`` sends ``message_received`` later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Model

from ..conf import SIGNAL_MODE_TASK, get_settings
from ..models import CallbackDelivery, OfficialAccount, OfficialAccountMessage
from ..values import epoch_ms
from .send import ROUTES

logger = logging.getLogger(__name__)


def presignal(message: OfficialAccountMessage, at: datetime) -> None:
    """Mark a message about to be stored as signalled if nobody listens for it: sending
    ``message_received`` to nobody is a no-op, and this spares the write that records it."""
    if not ROUTES["message_received"].signal.has_listeners(OfficialAccountMessage):
        message.signalled_at = at


def message_received(using: str, message: OfficialAccountMessage) -> None:
    """Send ``message_received`` for ``message`` once the transaction on ``using`` commits,
    unless it was sent (or marked sent) already."""
    if message.signalled_at is None:
        _after_commit(using, "message_received", message)


def message_recalled(using: str, message: OfficialAccountMessage) -> None:
    """Send ``message_recalled`` for ``message`` once the transaction on ``using`` commits."""
    _after_commit(using, "message_recalled", message)


def callback_received(
    using: str, delivery: CallbackDelivery, payload: dict[str, Any] | None = None
) -> None:
    """Send ``callback_received`` for ``delivery`` once the transaction on ``using`` commits.

    Pass ``payload`` when the delivery record keeps no body (another product's callback): a
    task then carries it, since the worker cannot read it back.
    """
    if delivery.body is not None:
        payload = None  # the worker reads it from the record: the task stays a few bytes
    _after_commit(using, "callback_received", delivery, payload)


def account_changed(
    using: str, account: OfficialAccount, change: str, event_time: datetime | None = None
) -> None:
    """Send ``account_changed`` for ``account`` (``change``: created, changed, destroyed or
    full) once the transaction on ``using`` commits."""
    payload = {"change": change, "event_time": None if event_time is None else epoch_ms(event_time)}
    _after_commit(using, "account_changed", account, payload)


def subscribers_changed(
    using: str, account: OfficialAccount, added: list[str], removed: list[str]
) -> None:
    """Send ``subscribers_changed`` for ``account`` once the transaction on ``using`` commits;
    nothing when neither list holds anyone."""
    if added or removed:
        _after_commit(using, "subscribers_changed", account, {"added": added, "removed": removed})


def _after_commit(using: str, name: str, row: Model, payload: dict[str, Any] | None = None) -> None:
    route = ROUTES[name]
    listened = route.signal.has_listeners(route.model)
    if not listened and not route.records_outcome:
        return  # every callback passes here: with nobody listening it costs nothing
    extra = () if payload is None else (payload,)
    send: Callable[[], object]
    if listened and get_settings().signal_mode == SIGNAL_MODE_TASK:
        send = partial(_enqueue, name, using, row.pk, *extra)
    else:
        send = partial(route.send, row, *extra)
    transaction.on_commit(send, using=using, robust=True)


def _enqueue(name: str, using: str, pk: int, *payload: dict[str, Any]) -> None:
    """Enqueue ``task.deliver_signal(name, using, pk[, payload])``; log, never raise, if that
    fails."""
    conf = get_settings()
    try:
        # Imported here: only the task mode needs the Tasks framework.
        from .task import deliver_signal

        task = deliver_signal
        if (task.backend, task.queue_name) != (conf.task_backend, conf.task_queue):
            task = task.using(backend=conf.task_backend, queue_name=conf.task_queue)
        task.enqueue(name, using, pk, *payload)
    except Exception:
        # Never raised: the event is stored and Tencent must get its answer.
        logger.exception(
            "Could not enqueue %s for %s %s on task backend %r; %s",
            name,
            ROUTES[name].model.__name__,
            pk,
            conf.task_backend,
            "officialaccount_replay --unsignalled sends it later"
            if ROUTES[name].records_outcome
            else "this signal is not sent",
        )
