"""Storing callbacks: each message once, a delivery record for every request, signals after commit.

The transaction contract (docs/signals.md tells users the same):

1. The webhook view is exempt from ``ATOMIC_REQUESTS``; the functions here own their
   transactions.
2. A message and its delivery record commit together. A duplicate is detected by the unique
   constraint on (SDKAppID, official account, MsgKey), never by a check before the insert, so
   concurrent deliveries of one message store one row.
3. Signals are sent, or enqueued as tasks, from ``transaction.on_commit``, never inside the
   transaction; a receiver that raises cannot roll anything back (see ``signal_delivery``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, OperationalError, connections, router, transaction
from django.utils import timezone

from ._itertools import batched
from .models import CallbackDelivery, OfficialAccountMessage, derived_columns
from .pg_ingest import insert_message_and_delivery
from .protocol import (
    MAX_COMMAND_LENGTH,
    CallbackError,
    CallbackEvent,
    CallbackQuery,
    MessageWithdrawal,
    OtherCallback,
    SentMessage,
    parse_event,
)
from .signal_delivery import (
    callback_received_after_commit,
    message_recalled_after_commit,
    message_received_after_commit,
)
from .signals import message_received
from .spool import SpooledCallback

Outcome = CallbackDelivery.Outcome

# Keeps a junk query string from bloating the delivery table; real ones are ~200 characters.
MAX_STORED_QUERY_LENGTH = 2048
# Stays under every backend's limit on query parameters.
_IN_BATCH_SIZE = 500


@dataclass(frozen=True)
class InboundRequest:
    """What the delivery record keeps of the HTTP request."""

    query: CallbackQuery
    remote_addr: str | None
    received_at: datetime = field(default_factory=timezone.now)
    spool_record: str = ""
    """For a callback drained from the spool: its record's name."""


def store_spooled(callback: SpooledCallback) -> CallbackDelivery | None:
    """Store a callback kept in the spool while the database was away, as it would have been.

    It was authenticated and validated before it was spooled. A record drained before (a crash
    between commit and removal) is recognised by its name on the delivery record: nothing is
    stored or signalled again, and None is returned.
    """
    deliveries = CallbackDelivery.objects.using(router.db_for_write(CallbackDelivery))
    if callback.record_id and deliveries.filter(spool_record=callback.record_id).exists():
        return None
    request = InboundRequest(
        query=CallbackQuery.from_query_string(callback.query_string),
        remote_addr=callback.remote_addr,
        received_at=datetime.fromtimestamp(callback.spooled_at, tz=UTC),
        spool_record=callback.record_id,
    )
    try:
        return ingest(callback.sdk_app_id, parse_event(callback.command, callback.payload), request)
    except IntegrityError:
        if deliveries.filter(spool_record=callback.record_id).exists():
            return None  # another drain stored it meanwhile
        raise


def ingest(sdk_app_id: int, event: CallbackEvent, request: InboundRequest) -> CallbackDelivery:
    """Store an authenticated, well-formed callback and schedule its signals."""
    using = router.db_for_write(OfficialAccountMessage)
    if isinstance(event, SentMessage):
        return _store_message(using, sdk_app_id, event, request)
    with transaction.atomic(using=using):
        if isinstance(event, MessageWithdrawal):
            _mark_recalled(using, sdk_app_id, event)
        return _hand_on(using, sdk_app_id, event, request)


def store_backfilled(sdk_app_id: int, event: SentMessage) -> bool:
    """Store a message fetched from Tencent's history; True if it was not stored before.

    The same insert, and so the same idempotency, as a callback's; ``message_received`` says
    ``backfilled=True``. There is no delivery record: nothing was delivered.
    """
    using = router.db_for_write(OfficialAccountMessage)
    request = InboundRequest(query=CallbackQuery.from_query_string(""), remote_addr=None)
    message = _new_message(sdk_app_id, event, request, backfilled=True)
    with transaction.atomic(using=using):
        message, created = _insert_once(using, message)
        if created and message.signalled_at is None:
            message_received_after_commit(using, message)
    return created


def record_rejection(request: InboundRequest, error: CallbackError) -> CallbackDelivery:
    """Record a refused request, without its body."""
    return _create_delivery(
        router.db_for_write(CallbackDelivery),
        request,
        command=request.query.command,
        outcome=Outcome.REJECTED,
        status_code=error.status_code,
        sdk_app_id=request.query.sdk_app_id,
        reason=error.info,
    )


def _store_message(
    using: str, sdk_app_id: int, event: SentMessage, request: InboundRequest
) -> CallbackDelivery:
    message = _new_message(sdk_app_id, event, request)
    delivery = _new_delivery(
        request, command=event.command, outcome="", sdk_app_id=sdk_app_id, body=event.payload
    )
    if connections[using].vendor == "postgresql" and not request.spool_record:
        created = insert_message_and_delivery(using, message, delivery)
        if created is not None:
            _schedule_signals(using, message, created, delivery, event.payload)
            return delivery
    with transaction.atomic(using=using):
        message, created = _insert_once(using, message)
        delivery.outcome = Outcome.ACCEPTED if created else Outcome.DUPLICATE
        delivery.message = message
        delivery.save(using=using, force_insert=True)
        # A drained duplicate whose signal never went out was stored by a request that died
        # after its commit (or lost the answer to it): the signal is due now.
        never_signalled = bool(request.spool_record) and message.signalled_at is None
        _schedule_signals(using, message, created or never_signalled, delivery, event.payload)
    return delivery


def _schedule_signals(
    using: str,
    message: OfficialAccountMessage,
    send_received: bool,
    delivery: CallbackDelivery,
    payload: dict[str, Any],
) -> None:
    # A message that no receiver listens for was marked signalled when it was stored.
    if send_received and message.signalled_at is None:
        message_received_after_commit(using, message)
    callback_received_after_commit(using, delivery, message.sdk_app_id, payload)


def _new_message(
    sdk_app_id: int, event: SentMessage, request: InboundRequest, *, backfilled: bool = False
) -> OfficialAccountMessage:
    message = OfficialAccountMessage(
        sdk_app_id=sdk_app_id,
        official_account=event.official_account,
        msg_key=event.msg_key,
        msg_time=event.msg_time,
        online_only=event.online_only,
        msg_body=event.msg_body,
        cloud_custom_data=event.cloud_custom_data,
        event_time=event.event_time,
        client_ip=request.query.client_ip,
        opt_platform=request.query.opt_platform,
        extra=event.extra,
        received_at=request.received_at,
        backfilled=backfilled,
        **derived_columns(event.msg_body),
    )
    # With nobody listening, sending message_received is a no-op: it counts as sent now, and
    # costs no second write later.
    if not message_received.has_listeners(OfficialAccountMessage):
        message.signalled_at = request.received_at
    return message


def _insert_once(
    using: str, message: OfficialAccountMessage
) -> tuple[OfficialAccountMessage, bool]:
    """Insert ``message``, or find the one stored before under its key; True if inserted."""
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
            return message, True
        except IntegrityError:
            message.pk = None
            existing = OfficialAccountMessage.objects.using(using).filter(**key).first()
            if existing is not None:
                return existing, False
    # Not about the data: another transaction kept winning and losing the row. Raised as an
    # operational error, so that the webhook spools the callback to try again.
    raise OperationalError(f"could not store or find message {key} after three tries")


def _mark_recalled(using: str, sdk_app_id: int, event: MessageWithdrawal) -> None:
    messages = OfficialAccountMessage.objects.using(using)
    now = timezone.now()
    for msg_keys in batched(event.msg_keys, _IN_BATCH_SIZE):
        # Locking the rows makes "recalled once" hold when two withdrawals of the same
        # message race: the second waits, then no longer finds it unrecalled. (SQLite has no
        # row locks; its transactions are serialised whole, see the W006 check.)
        candidates = list(
            messages.select_for_update().filter(
                sdk_app_id=sdk_app_id,
                official_account=event.official_account,
                msg_key__in=msg_keys,
                recalled_at__isnull=True,
            )
        )
        messages.filter(pk__in=[message.pk for message in candidates]).update(recalled_at=now)
        for message in candidates:
            message.recalled_at = now
            message_recalled_after_commit(using, message)


def _hand_on(
    using: str,
    sdk_app_id: int,
    event: MessageWithdrawal | OtherCallback,
    request: InboundRequest,
) -> CallbackDelivery:
    delivery = _create_delivery(
        using,
        request,
        command=event.command,
        outcome=Outcome.OTHER_COMMAND,
        sdk_app_id=sdk_app_id,
        body=event.payload,
    )
    callback_received_after_commit(using, delivery, sdk_app_id, event.payload)
    return delivery


def _create_delivery(using: str, request: InboundRequest, **fields: Any) -> CallbackDelivery:
    delivery = _new_delivery(request, **fields)
    delivery.save(using=using, force_insert=True)
    return delivery


def _new_delivery(
    request: InboundRequest,
    *,
    command: str,
    outcome: str,
    sdk_app_id: int | None,
    status_code: int = 200,
    reason: str = "",
    body: dict[str, Any] | None = None,
    message: OfficialAccountMessage | None = None,
) -> CallbackDelivery:
    return CallbackDelivery(
        command=command[:MAX_COMMAND_LENGTH],
        outcome=outcome,
        status_code=status_code,
        sdk_app_id=sdk_app_id,
        reason=reason,
        query_string=request.query.redacted_query[:MAX_STORED_QUERY_LENGTH],
        remote_addr=request.remote_addr,
        received_at=request.received_at,
        spool_record=request.spool_record,
        body=body,
        message=message,
    )
