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

from collections.abc import Callable

from django.db import router, transaction
from django.utils import timezone

from .._itertools import batched
from ..accounts import mirror
from ..conf import get_settings
from ..messages import history
from ..models import CallbackDelivery, OfficialAccountMessage, derived_columns
from ..moderation import records as moderation_records
from ..moderation.events import BeforeAddSubscriber, BeforeCreateAccount, BeforeEvent, BeforeSend
from ..notify import schedule
from .account_events import AccountEvent, SubscriberEvent
from .events import CallbackEvent, MessageWithdrawal, OtherCallback, SentMessage
from .inbound import InboundRequest
from .query import CallbackQuery
from .records import new_delivery
from .store import StoreResult, store_message

Outcome = CallbackDelivery.Outcome

# Stays under every backend's limit on query parameters.
_IN_BATCH_SIZE = 500


def ingest(sdk_app_id: int, event: CallbackEvent, request: InboundRequest) -> CallbackDelivery:
    """Store an authenticated, well-formed callback and schedule its signals."""
    using = router.db_for_write(OfficialAccountMessage)
    if isinstance(event, SentMessage):
        return _store_sent(using, sdk_app_id, event, request)
    if isinstance(event, MessageWithdrawal):
        return withdraw(using, sdk_app_id, event, request)
    if isinstance(event, AccountEvent | SubscriberEvent):
        return _apply_to_mirror(using, sdk_app_id, event, request)
    if isinstance(event, BeforeSend | BeforeAddSubscriber | BeforeCreateAccount):
        return _moderated(using, sdk_app_id, event, request)
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
        schedule_new_message(using, result)
    return result.is_new


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


def _apply_to_mirror(
    using: str, sdk_app_id: int, event: AccountEvent | SubscriberEvent, request: InboundRequest
) -> CallbackDelivery:
    """An account or subscriber callback: the mirror's change and the delivery record commit
    together, and the delivery says whether the callback changed anything."""
    with transaction.atomic(using=using):
        changed = mirror.apply_event(using, sdk_app_id, event)
        outcome = Outcome.APPLIED if changed else Outcome.UNCHANGED
        return _record(using, sdk_app_id, event, request, outcome)


def _moderated(
    using: str, sdk_app_id: int, event: BeforeEvent, request: InboundRequest
) -> CallbackDelivery:
    """A before-callback: this app's command, so its body is kept, with the hooks' decision
    beside it (``moderation.records``); both commit together. An account the mirror does not
    know yet becomes known, as with every other callback that names one."""

    def decided(delivery: CallbackDelivery) -> None:
        moderation_records.record(using, delivery, event)

    return _record_for_account(using, sdk_app_id, event, request, Outcome.MODERATED, decided)


def _record_for_account(
    using: str,
    sdk_app_id: int,
    event: MessageWithdrawal | BeforeEvent,
    request: InboundRequest,
    outcome: str,
    then: Callable[[CallbackDelivery], object],
) -> CallbackDelivery:
    """``_record`` in a transaction of its own, the account the callback names joining the
    mirror first if it is new (a before-create names none yet)."""
    with transaction.atomic(using=using):
        if event.official_account:
            mirror.ensure_account(using, sdk_app_id, event.official_account)
        return _record(using, sdk_app_id, event, request, outcome, then=then)


def _record(
    using: str,
    sdk_app_id: int,
    event: MessageWithdrawal | AccountEvent | SubscriberEvent | BeforeEvent,
    request: InboundRequest,
    outcome: str,
    then: Callable[[CallbackDelivery], object] | None = None,
) -> CallbackDelivery:
    """The delivery record of one of this app's callbacks, its body kept; ``then`` records what
    the callback did, against it. Runs in the caller's transaction, and its signal waits for
    that to commit."""
    delivery = new_delivery(
        request, command=event.command, outcome=outcome, sdk_app_id=sdk_app_id, body=event.payload
    )
    delivery.save(using=using, force_insert=True)
    if then is not None:
        then(delivery)
    schedule.callback_received(using, delivery)
    return delivery


def _schedule_signals(
    using: str, result: StoreResult, delivery: CallbackDelivery, *, drained: bool
) -> None:
    if result.is_new:
        schedule_new_message(using, result)
    elif drained and result.message.signalled_at is None:
        # A drained duplicate whose signal never went out was stored by a request that died
        # after its commit (or lost the answer to it): the signal is due now.
        schedule.message_received(using, result.message)
    schedule.callback_received(using, delivery)


def schedule_new_message(using: str, result: StoreResult) -> None:
    """A message stored just now: recalled already if its withdrawal came first, then its
    signals, ``message_received`` before ``message_recalled``."""
    recalled = result.recall_pending and history.apply_pending(using, result.message)
    schedule.message_received(using, result.message)
    if recalled:
        schedule.message_recalled(using, result.message)


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
        repairs=list(event.repairs),
        **derived_columns(event.msg_body),
    )
    schedule.presignal(message, request.received_at)
    return message


def withdraw(
    using: str, sdk_app_id: int, event: MessageWithdrawal, request: InboundRequest
) -> CallbackDelivery:
    """A withdrawal callback: its delivery record, then what it did (``apply_withdrawal``)."""

    def applied(delivery: CallbackDelivery) -> None:
        apply_withdrawal(using, sdk_app_id, event, delivery)

    return _record_for_account(using, sdk_app_id, event, request, Outcome.WITHDRAWAL, applied)


def apply_withdrawal(
    using: str, sdk_app_id: int, event: MessageWithdrawal, delivery: CallbackDelivery
) -> None:
    """Mark the listed messages recalled, whoever recalled them, and record per MsgKey what the
    withdrawal did: recalled, already recalled, or not stored (yet: remembered for when the
    message arrives). Runs in the caller's transaction."""
    now = timezone.now()
    messages = OfficialAccountMessage.objects.using(using)
    for msg_keys in batched(event.msg_keys, _IN_BATCH_SIZE):
        # Locking the rows makes "recalled once" hold when two withdrawals of the same message
        # race: the second waits, then finds it recalled. (SQLite has no row locks; its
        # transactions are serialised whole, see the W006 check.)
        found = list(
            messages.select_for_update()
            .filter(
                sdk_app_id=sdk_app_id, official_account=event.official_account, msg_key__in=msg_keys
            )
            .defer("msg_body", "text_content", "extra")
        )
        unrecalled = [message for message in found if message.recalled_at is None]
        messages.filter(pk__in=[message.pk for message in unrecalled]).update(
            # Tencent's word settles a recall whose own answer never came.
            recalled_at=now,
            recall_unknown_at=None,
        )
        stored = {message.msg_key for message in found}
        history.record_withdrawal(
            using,
            delivery,
            event.official_account,
            found,
            recalled={message.pk for message in unrecalled},
            missing=[key for key in msg_keys if key not in stored],
            at=now,
        )
        for message in unrecalled:
            message.recalled_at = now
            schedule.message_recalled(using, message)


def _hand_on(
    using: str, sdk_app_id: int, event: OtherCallback, request: InboundRequest
) -> CallbackDelivery:
    """Another product's callback on the shared URL: acknowledged and handed on, its body kept
    only if ``KEEP_OTHER_COMMAND_BODIES`` says so (it is not this app's data)."""
    keep = get_settings().keep_other_command_bodies
    delivery = new_delivery(
        request,
        command=event.command,
        outcome=Outcome.OTHER_COMMAND,
        sdk_app_id=sdk_app_id,
        body=event.payload if keep else None,
    )
    delivery.save(using=using, force_insert=True)
    schedule.callback_received(using, delivery, event.payload)
    return delivery
