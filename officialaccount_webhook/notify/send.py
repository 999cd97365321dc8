"""Sending the app's signals to receivers, robustly.

Called after commit (see ``schedule``), in the request or in a task worker. A receiver that
raises is logged with its traceback; for ``message_received`` the failure is also recorded on
the message, so it can be sent again. Nothing here raises: the answer to Tencent must not
depend on a receiver.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.db.models import Model
from django.dispatch import Signal
from django.utils import timezone

from ..models import CallbackDelivery, OfficialAccount, OfficialAccountMessage
from ..ops import metrics
from ..signals import (
    account_changed,
    callback_received,
    message_recalled,
    message_received,
    subscribers_changed,
)
from ..values import from_epoch_ms

logger = logging.getLogger(__name__)


def send_message_received(message: OfficialAccountMessage) -> bool:
    """Send message_received; record (or clear) a receiver's failure. True if none failed."""
    failures = _send("message_received", message=message, backfilled=message.backfilled)
    error = "\n".join(failures)
    now = timezone.now()
    failed_at = now if failures else None
    try:
        # Recorded even when every receiver succeeded: a message with no signalled_at is one
        # whose signal never went out (a crash after commit), for replay --unsignalled.
        OfficialAccountMessage.objects.record_signal(
            message, receiver_error=error, receiver_failed_at=failed_at, signalled_at=now
        )
    except DatabaseError:
        logger.exception("Could not record the signal's outcome on message %s", message.pk)
    return not failures


def send_message_recalled(message: OfficialAccountMessage) -> bool:
    """Send message_recalled; True if no receiver failed (a failure is only logged)."""
    return not _send("message_recalled", message=message)


def send_callback_received(
    delivery: CallbackDelivery, payload: dict[str, Any] | None = None
) -> bool:
    """Send callback_received; True if no receiver failed (a failure is only logged).

    ``payload`` defaults to the delivery record's body; another product's callback keeps none
    (``KEEP_OTHER_COMMAND_BODIES``), so its payload travels with the signal instead.
    """
    if payload is None:
        payload = delivery.body if delivery.body is not None else {}
    return not _send(
        "callback_received",
        command=delivery.command,
        payload=payload,
        sdk_app_id=delivery.sdk_app_id,
        delivery=delivery,
    )


def send_account_changed(account: OfficialAccount, change: dict[str, Any]) -> bool:
    """Send account_changed; ``change`` is what ``schedule.account_changed`` recorded."""
    event_time = change.get("event_time")
    return not _send(
        "account_changed",
        account=account,
        change=change["change"],
        event_time=None if event_time is None else from_epoch_ms(event_time),
    )


def send_subscribers_changed(account: OfficialAccount, change: dict[str, Any]) -> bool:
    """Send subscribers_changed; ``change`` holds the ``added`` and ``removed`` accounts."""
    return not _send(
        "subscribers_changed",
        account=account,
        added=list(change.get("added", ())),
        removed=list(change.get("removed", ())),
    )


@dataclass(frozen=True)
class Route:
    """How one signal reaches its receivers: sent for a row of ``model`` by ``send``."""

    signal: Signal
    model: type[Model]
    send: Callable[..., bool]
    records_outcome: bool
    """Whether sending leaves a mark on the row (``signalled_at``), even to nobody."""


ROUTES = {
    "message_received": Route(
        message_received, OfficialAccountMessage, send_message_received, records_outcome=True
    ),
    "message_recalled": Route(
        message_recalled, OfficialAccountMessage, send_message_recalled, records_outcome=False
    ),
    "callback_received": Route(
        callback_received, CallbackDelivery, send_callback_received, records_outcome=False
    ),
    "account_changed": Route(
        account_changed, OfficialAccount, send_account_changed, records_outcome=False
    ),
    "subscribers_changed": Route(
        subscribers_changed, OfficialAccount, send_subscribers_changed, records_outcome=False
    ),
}


def _send(name: str, **kwargs: Any) -> list[str]:
    """Send the signal ``name``; return one formatted traceback per receiver that raised.

    Django's ``send_robust`` already logs each failure with its traceback on the
    ``django.dispatch`` logger; the line logged here says what it was about.
    """
    route = ROUTES[name]
    failures = []
    for receiver, result in route.signal.send_robust(route.model, **kwargs):
        if isinstance(result, Exception):
            receiver_name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error(
                "Receiver %s of %s raised %r for %s",
                receiver_name,
                name,
                result,
                _subject(kwargs),
            )
            metrics.receiver_failed(name)
            formatted = "".join(traceback.format_exception(result)).rstrip()
            failures.append(f"{receiver_name}: {formatted}")
    return failures


def _subject(kwargs: dict[str, Any]) -> str:
    if "message" in kwargs:
        message = kwargs["message"]
        return f"message {message.pk} ({message.official_account} {message.msg_key})"
    if "account" in kwargs:
        account = kwargs["account"]
        return f"official account {account.pk} ({account.official_account})"
    return f"delivery {kwargs['delivery'].pk} ({kwargs['command']})"
