"""Storing callbacks: each message once, a delivery record for every request, signals after commit.

The transaction contract (docs/signals.md tells users the same):

1. The webhook view is exempt from ``ATOMIC_REQUESTS``; the functions here own their
   transactions.
2. A message and its delivery record commit together (``store.store_message``). A duplicate is
   detected by the unique constraint on (SDKAppID, official account, MsgKey), never by a check
   before the insert, so concurrent deliveries of one message store one row.
3. Signals are sent, or enqueued as tasks, from ``transaction.on_commit``, never inside the
   transaction; a receiver that raises cannot roll anything back (see ``notify``).
"""

from __future__ import annotations

from typing import Any

from django.db import router, transaction
from django.utils import timezone

from .._itertools import batched
from ..models import CallbackDelivery, OfficialAccountMessage, derived_columns
from ..notify import schedule
from .events import CallbackEvent, MessageWithdrawal, OtherCallback, SentMessage
from .inbound import InboundRequest
from .query import CallbackQuery
from .store import StoreResult, store_message
from .wire import MAX_COMMAND_LENGTH, CallbackError

Outcome = CallbackDelivery.Outcome

# Keeps a junk query string from bloating the delivery table; real ones are ~200 characters.
MAX_STORED_QUERY_LENGTH = 2048
# Stays under every backend's limit on query parameters.
_IN_BATCH_SIZE = 500


def ingest(sdk_app_id: int, event: CallbackEvent, request: InboundRequest) -> CallbackDelivery:
    """Store an authenticated, well-formed callback and schedule its signals."""
    using = router.db_for_write(OfficialAccountMessage)
    if isinstance(event, SentMessage):
        return _store_sent(using, sdk_app_id, event, request)
    with transaction.atomic(using=using):
        if isinstance(event, MessageWithdrawal):
            _mark_recalled(using, sdk_app_id, event)
        return _hand_on(using, sdk_app_id, event, request)


def store_backfilled(sdk_app_id: int, event: SentMessage) -> bool:
    """Store a message fetched from Tencent's history; True if it was not stored before.

    The same seam, and so the same idempotency, as a callback's; ``message_received`` says
    ``backfilled=True``. There is no delivery record: nothing was delivered.
    """
    using = router.db_for_write(OfficialAccountMessage)
    request = InboundRequest(query=CallbackQuery.from_query_string(""), remote_addr=None)
    message = new_message(sdk_app_id, event, request, backfilled=True)
    result = store_message(using, message, None)
    if result.is_new:
        schedule.message_received(using, result.message)
    return result.is_new


def record_rejection(request: InboundRequest, error: CallbackError) -> CallbackDelivery:
    """Record a refused request, without its body."""
    delivery = new_delivery(
        request,
        command=request.query.command,
        outcome=Outcome.REJECTED,
        status_code=error.status_code,
        sdk_app_id=request.query.sdk_app_id,
        reason=error.info,
    )
    delivery.save(using=router.db_for_write(CallbackDelivery), force_insert=True)
    return delivery


def _store_sent(
    using: str, sdk_app_id: int, event: SentMessage, request: InboundRequest
) -> CallbackDelivery:
    message = new_message(sdk_app_id, event, request)
    delivery = new_delivery(
        request, command=event.command, outcome="", sdk_app_id=sdk_app_id, body=event.payload
    )
    # The seam has committed by now (PostgreSQL's path runs in autocommit, the portable one in
    # a transaction of its own), so on_commit sends at once; inside a caller's transaction it
    # waits for that to commit.
    result = store_message(using, message, delivery)
    _schedule_signals(using, result, delivery, drained=bool(request.spool_record))
    return delivery


def _schedule_signals(
    using: str, result: StoreResult, delivery: CallbackDelivery, *, drained: bool
) -> None:
    # A drained duplicate whose signal never went out was stored by a request that died after
    # its commit (or lost the answer to it): the signal is due now.
    never_signalled = drained and result.message.signalled_at is None
    if result.is_new or never_signalled:
        schedule.message_received(using, result.message)
    schedule.callback_received(using, delivery)


def new_message(
    sdk_app_id: int, event: SentMessage, request: InboundRequest, *, backfilled: bool = False
) -> OfficialAccountMessage:
    """The row for ``event``, not saved yet."""
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
    schedule.presignal(message, request.received_at)
    return message


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
            schedule.message_recalled(using, message)


def _hand_on(
    using: str,
    sdk_app_id: int,
    event: MessageWithdrawal | OtherCallback,
    request: InboundRequest,
) -> CallbackDelivery:
    delivery = new_delivery(
        request,
        command=event.command,
        outcome=Outcome.OTHER_COMMAND,
        sdk_app_id=sdk_app_id,
        body=event.payload,
    )
    delivery.save(using=using, force_insert=True)
    schedule.callback_received(using, delivery)
    return delivery


def new_delivery(
    request: InboundRequest,
    *,
    command: str,
    outcome: str,
    sdk_app_id: int | None,
    status_code: int = 200,
    reason: str = "",
    body: dict[str, Any] | None = None,
) -> CallbackDelivery:
    """The delivery record of ``request``, not saved yet."""
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
    )
