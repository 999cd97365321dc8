"""The recall history: every recall of a message, whoever asked, and the withdrawals that came
before their message.

Tencent's withdrawal callback may overtake the message it recalls (two web workers, one slow;
a spool drain; a backfill days later). Its MsgKey is then remembered as ``not_stored``, and the
message is stored recalled when it arrives: ``apply_pending`` runs wherever a new message is
stored, and ``apply_stranded`` repairs the one race it cannot see (a withdrawal and its message
committing at the same moment), from ``officialaccount_reprocess``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from ..models import CallbackDelivery, MessageRecall, OfficialAccountMessage
from ..notify import schedule

Result = MessageRecall.Result
Source = MessageRecall.Source


def pending(
    using: str, sdk_app_id: int, official_account: str, msg_key: str
) -> QuerySet[MessageRecall]:
    """The withdrawals of this key that came before its message and wait for it."""
    return MessageRecall.objects.using(using).filter(
        sdk_app_id=sdk_app_id,
        official_account=official_account,
        msg_key=msg_key,
        result=Result.NOT_STORED,
        applied_at__isnull=True,
    )


def apply_pending(using: str, message: OfficialAccountMessage) -> bool:
    """Mark a message stored just now recalled if a withdrawal of it came first; True if so.

    The caller sends ``message_recalled`` (after ``message_received``).
    """
    with transaction.atomic(using=using):
        waiting = list(
            pending(using, message.sdk_app_id, message.official_account, message.msg_key)
            .select_for_update()
            .order_by("at")
        )
        if not waiting:
            return False
        now = timezone.now()
        recalled_at = waiting[0].at
        marked = (
            OfficialAccountMessage.objects.using(using)
            .filter(pk=message.pk, recalled_at__isnull=True)
            .update(recalled_at=recalled_at)
        )
        MessageRecall.objects.using(using).filter(pk__in=[r.pk for r in waiting]).update(
            applied_at=now, message=message
        )
    if marked:
        message.recalled_at = recalled_at
    return bool(marked)


def stranded(using: str) -> QuerySet[MessageRecall]:
    """Pending withdrawals whose message is stored after all: the race ``apply_pending`` cannot
    see, where both committed at once."""
    stored = OfficialAccountMessage.objects.using(using).filter(
        sdk_app_id=OuterRef("sdk_app_id"),
        official_account=OuterRef("official_account"),
        msg_key=OuterRef("msg_key"),
    )
    return (
        MessageRecall.objects.using(using)
        .filter(result=Result.NOT_STORED, applied_at__isnull=True)
        .filter(Exists(stored))
    )


def record_withdrawal(
    using: str,
    delivery: CallbackDelivery,
    official_account: str,
    found: Iterable[OfficialAccountMessage],
    recalled: set[int],
    missing: Iterable[str],
    at: datetime,
) -> None:
    """One history row per MsgKey of a withdrawal callback: what it did to each."""
    sdk_app_id = delivery.sdk_app_id or 0
    rows = [
        MessageRecall(
            sdk_app_id=sdk_app_id,
            official_account=official_account,
            msg_key=message.msg_key,
            at=at,
            source=Source.CALLBACK,
            result=Result.RECALLED if message.pk in recalled else Result.ALREADY_RECALLED,
            message=message,
            delivery=delivery,
        )
        for message in found
    ]
    rows.extend(
        MessageRecall(
            sdk_app_id=sdk_app_id,
            official_account=official_account,
            msg_key=msg_key,
            at=at,
            source=Source.CALLBACK,
            result=Result.NOT_STORED,
            delivery=delivery,
        )
        for msg_key in missing
    )
    MessageRecall.objects.using(using).bulk_create(rows)


def apply_stranded(using: str) -> int:
    """Apply the stranded withdrawals (see :func:`stranded`); how many messages they recalled.
    Each is sent ``message_recalled`` once, like any message that becomes recalled."""
    recalled = 0
    keys = stranded(using).values_list("sdk_app_id", "official_account", "msg_key").distinct()
    for sdk_app_id, official_account, msg_key in list(keys):
        message = (
            OfficialAccountMessage.objects.using(using)
            .filter(sdk_app_id=sdk_app_id, official_account=official_account, msg_key=msg_key)
            .first()
        )
        if message is not None and apply_pending(using, message):
            schedule.message_recalled(using, message)
            recalled += 1
    return recalled
