"""Sending the app's signals to receivers, robustly.

Called after commit (see ``signal_delivery``), in the request or in a task worker. A receiver
that raises is logged with its traceback; for ``message_received`` the failure is also recorded
on the message, so it can be sent again.
Nothing here raises: the answer to Tencent must not depend on a receiver.
"""

from __future__ import annotations

import logging
import traceback
from functools import cache
from typing import Any

from django.db import DatabaseError, connections, router
from django.db.models import Field
from django.dispatch import Signal
from django.utils import timezone

from .models import CallbackDelivery, OfficialAccountMessage
from .pg_ingest import statement_cursor
from .signals import callback_received, message_recalled, message_received

logger = logging.getLogger(__name__)


def send_message_received(message: OfficialAccountMessage) -> bool:
    """Send message_received; record (or clear) a receiver's failure. True if none failed."""
    failures = _send(
        message_received,
        "message_received",
        OfficialAccountMessage,
        message=message,
        backfilled=message.backfilled,
    )
    error = "\n".join(failures)
    now = timezone.now()
    failed_at = now if failures else None
    try:
        # Recorded even when every receiver succeeded: a message with no signalled_at is one
        # whose signal never went out (a crash after commit), for replay --unsignalled.
        _record_outcome(message, error, failed_at, now)
    except DatabaseError:
        logger.exception("Could not record the signal's outcome on message %s", message.pk)
        return not failures
    message.receiver_error, message.receiver_failed_at, message.signalled_at = error, failed_at, now
    return not failures


@cache
def _outcome_fields() -> list[Field[Any, Any]]:
    """The columns where a message_received sending is recorded."""
    fields = {field.name: field for field in OfficialAccountMessage._meta.concrete_fields}
    return [fields[name] for name in ("receiver_error", "receiver_failed_at", "signalled_at")]


@cache
def _outcome_statement(using: str) -> str:
    quote = connections[using].ops.quote_name
    columns = ", ".join(f"{quote(str(field.column))} = %s" for field in _outcome_fields())
    table = quote(OfficialAccountMessage._meta.db_table)
    primary_key = quote(str(OfficialAccountMessage._meta.pk.column))
    return f"UPDATE {table} SET {columns} WHERE {primary_key} = %s"  # noqa: S608


def _record_outcome(message: OfficialAccountMessage, *values: Any) -> None:
    """Set the ``_outcome_fields()`` to ``values``, with a statement built once, which
    PostgreSQL can keep prepared: with a receiver connected this runs for every new message,
    and the ORM's ``update()`` spends more building its SQL than the database spends running
    it."""
    # The message's own database: a worker may have read it through another alias.
    using = message._state.db or router.db_for_write(OfficialAccountMessage)
    connection = connections[using]
    params = [
        field.get_db_prep_save(value, connection)
        for field, value in zip(_outcome_fields(), values, strict=True)
    ]
    with statement_cursor(connection) as cursor:
        cursor.execute(_outcome_statement(using), [*params, message.pk])


def send_message_recalled(message: OfficialAccountMessage) -> bool:
    """Send message_recalled; True if no receiver failed (a failure is only logged)."""
    return not _send(message_recalled, "message_recalled", OfficialAccountMessage, message=message)


def send_callback_received(
    delivery: CallbackDelivery, sdk_app_id: int, payload: dict[str, Any]
) -> bool:
    """Send callback_received; True if no receiver failed (a failure is only logged)."""
    return not _send(
        callback_received,
        "callback_received",
        CallbackDelivery,
        command=delivery.command,
        payload=payload,
        sdk_app_id=sdk_app_id,
        delivery=delivery,
    )


def _send(signal: Signal, name: str, sender: type[Any], **kwargs: Any) -> list[str]:
    """Send ``signal``; return one formatted traceback per receiver that raised.

    Django's ``send_robust`` already logs each failure with its traceback on the
    ``django.dispatch`` logger; the line logged here says what it was about.
    """
    failures = []
    for receiver, result in signal.send_robust(sender, **kwargs):
        if isinstance(result, Exception):
            receiver_name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error(
                "Receiver %s of %s raised %r for %s",
                receiver_name,
                name,
                result,
                _subject(kwargs),
            )
            formatted = "".join(traceback.format_exception(result)).rstrip()
            failures.append(f"{receiver_name}: {formatted}")
    return failures


def _subject(kwargs: dict[str, Any]) -> str:
    if "message" in kwargs:
        message = kwargs["message"]
        return f"message {message.pk} ({message.official_account} {message.msg_key})"
    return f"delivery {kwargs['delivery'].pk} ({kwargs['command']})"
