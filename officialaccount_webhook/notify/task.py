"""The one task that sends the app's signals in a worker, when ``SIGNAL_MODE`` is ``"task"``.

Imported only in that mode (by ``schedule`` in the web process, and by the task worker, which
finds the task by its path): importing it needs the Tasks framework and a valid
``TASK_BACKEND``. Not named ``tasks.py``, so that task runners which import every installed
app's ``tasks`` module (Celery's autodiscovery) never load it by accident.

A task carries only JSON values: the signal's name, the database alias, the row's primary key,
and for another product's callback, whose record keeps no body, its payload.
It looks the row up in the worker and calls the same sender as the on-commit mode (``send``),
so a receiver's failure is recorded on the message the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..conf import get_settings
from ..models import OfficialAccountMessage
from .framework import framework
from .send import ROUTES

logger = logging.getLogger(__name__)


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


# The task's defaults, from the settings when first imported; schedule sends each task to the
# TASK_BACKEND and TASK_QUEUE in force when it enqueues.
_conf = get_settings()
task: Callable[[Callable[..., None]], Any] = framework().task(
    backend=_conf.task_backend, queue_name=_conf.task_queue
)


@task
def deliver_signal(name: str, using: str, pk: int, payload: dict[str, Any] | None = None) -> None:
    """Send the signal ``name`` (a key of ``send.ROUTES``) for the row ``pk`` on ``using``;
    ``payload`` only for a ``callback_received`` whose delivery record keeps no body."""
    route = ROUTES[name]
    row = route.model._default_manager.using(using).filter(pk=pk).first()
    if row is None:
        # Pruned or deleted while the task waited: there is nothing left to tell receivers.
        logger.warning("%s %s was deleted before %s was sent", route.model.__name__, pk, name)
        return
    if isinstance(row, OfficialAccountMessage) and route.records_outcome and row.signalled_at:
        # Sent meanwhile, by officialaccount_replay --unsignalled while this task waited in
        # its queue: the task is enqueued only for a message not yet signalled.
        logger.info("%s was sent for message %s before its task ran", name, pk)
        return
    if not (route.send(row) if payload is None else route.send(row, payload)):
        where = "the message's receiver_error" if route.records_outcome else "the log"
        subject = f"{route.model.__name__} {pk}"
        raise ReceiverFailed(f"a receiver of {name} failed for {subject}; see {where}")
