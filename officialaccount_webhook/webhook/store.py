"""The storage seam: one function stores a new message and its delivery record, and says what
happened. Everything that stores a message (the webhook, a spool drain, a backfill) goes
through :func:`store_message`.

It has two implementations with the same contract. The portable one (here) runs on every
backend: a transaction, a savepoint around the insert, the delivery record. On PostgreSQL,
``store_pg`` does the same in one statement for a callback answered now; a drained record, a
backfill, or the rare race it cannot settle take the portable path.

Idempotency lives in the database: the unique constraint on (SDKAppID, official account,
MsgKey) decides between concurrent deliveries of one message, never a check before the insert.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from django.db import IntegrityError, OperationalError, connections, transaction

from ..accounts import mirror
from ..messages import history
from ..models import CallbackDelivery, OfficialAccountMessage
from . import store_pg


class Stored(enum.Enum):
    """What became of a message handed to :func:`store_message`."""

    NEW = "new"
    """It was not stored before; it is now."""
    DUPLICATE = "duplicate"
    """It was stored before, under the same key; nothing of it was written again."""


@dataclass(frozen=True)
class StoreResult:
    outcome: Stored
    message: OfficialAccountMessage
    """The stored row. For a duplicate on the portable path it is the row read back; on
    PostgreSQL's path only its primary key is (no caller needs more)."""
    recall_pending: bool = False
    """For a new message: a withdrawal of it came first and waits (``messages.history``)."""

    @property
    def is_new(self) -> bool:
        return self.outcome is Stored.NEW


def store_message(
    using: str, message: OfficialAccountMessage, delivery: CallbackDelivery | None
) -> StoreResult:
    """Store ``message`` once and, if given, ``delivery`` for it, in one transaction; a new
    message's account joins the accounts mirror if it is not there yet.

    Sets the primary keys, ``delivery.message`` and ``delivery.outcome``. Raises
    ``IntegrityError``/``DataError`` for what is wrong with the data itself, and
    ``OperationalError`` when the database cannot be reached or cannot settle a race: the
    webhook spools those (``spooling``).
    """
    if (
        delivery is not None
        and not delivery.spool_record
        and connections[using].vendor == "postgresql"
    ):
        try:
            created, recall_pending = store_pg.store_message(using, message, delivery)
            return StoreResult(Stored.NEW if created else Stored.DUPLICATE, message, recall_pending)
        except store_pg.StoredRowVanished:
            pass  # deleted between the two statements (a prune): store it again, portably
    with transaction.atomic(using=using):
        result = _insert_once(using, message)
        if result.is_new:
            mirror.ensure_account(using, message.sdk_app_id, message.official_account)
        if delivery is not None:
            delivery.outcome = (
                CallbackDelivery.Outcome.ACCEPTED
                if result.is_new
                else CallbackDelivery.Outcome.DUPLICATE
            )
            delivery.message = result.message
            delivery.save(using=using, force_insert=True)
    return result


def _insert_once(using: str, message: OfficialAccountMessage) -> StoreResult:
    """Insert ``message``, or find the one stored before under its key."""
    key = {
        "sdk_app_id": message.sdk_app_id,
        "official_account": message.official_account,
        "msg_key": message.msg_key,
    }
    # The loop covers a rare race: the row that made our insert conflict belonged to a
    # transaction that then rolled back, so it is gone by the time we look for it.
    for _attempt in range(3):
        try:
            with transaction.atomic(using=using):
                message.save(using=using, force_insert=True)
            waiting = history.pending(
                using, message.sdk_app_id, message.official_account, message.msg_key
            )
            return StoreResult(Stored.NEW, message, recall_pending=waiting.exists())
        except IntegrityError:
            message.pk = None
            existing = OfficialAccountMessage.objects.using(using).filter(**key).first()
            if existing is not None:
                return StoreResult(Stored.DUPLICATE, existing)
    # Not about the data: another transaction kept winning and losing the row. Raised as an
    # operational error, so that the webhook spools the callback to try again.
    raise OperationalError(f"could not store or find message {key} after three tries")
