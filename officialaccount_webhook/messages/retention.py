"""Deleting old rows in small batches, so that no long lock holds up the webhook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import router, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..conf import get_settings
from ..models import CallbackDelivery, OfficialAccountMessage, PrunedMessage, SendIdempotencyKey
from ..models.sending import IDEMPOTENCY_KEY_RETENTION
from ..models.volume import deleting
from . import tombstones


@dataclass(frozen=True)
class PruneReport:
    deliveries: int
    messages: int
    other_bodies: int
    """Bodies of other products' callbacks cleared (``OTHER_COMMAND_BODY_RETENTION_DAYS``)."""
    tombstones: int
    """Tombstones deleted (``TOMBSTONE_RETENTION_DAYS``)."""
    idempotency_keys: int = 0
    """The send API's idempotency keys deleted (``models.sending.IDEMPOTENCY_KEY_RETENTION``)."""


def prune(
    cutoff: datetime,
    *,
    messages: bool = False,
    batch_size: int = 1000,
    now: datetime | None = None,
) -> PruneReport:
    """Delete delivery records (and, if asked, messages) received before ``cutoff``; clear the
    kept bodies of other products' callbacks, and delete tombstones and the send API's
    idempotency keys, past their own retentions.

    Each batch is its own short transaction. A deleted message leaves a tombstone, in the same
    transaction, so that backfill does not store it again.
    """
    conf = get_settings()
    now = now or timezone.now()
    deliveries = _in_batches(
        CallbackDelivery.objects.filter(received_at__lt=cutoff), batch_size, _delete
    )
    other_bodies = _in_batches(
        CallbackDelivery.objects.filter(
            outcome=CallbackDelivery.Outcome.OTHER_COMMAND,
            body__isnull=False,
            received_at__lt=_days_before(now, conf.other_command_body_retention_days),
        ),
        batch_size,
        _clear_body,
    )
    deleted_messages = 0
    if messages:
        # A deleted message's remaining delivery records keep their row, with no message.
        deleted_messages = _in_batches(
            OfficialAccountMessage.objects.filter(received_at__lt=cutoff),
            batch_size,
            _delete_messages,
        )
    buried = _in_batches(
        PrunedMessage.objects.filter(
            pruned_at__lt=_days_before(now, conf.tombstone_retention_days)
        ),
        batch_size,
        _delete,
    )
    keys = _in_batches(
        SendIdempotencyKey.objects.filter(created_at__lt=now - IDEMPOTENCY_KEY_RETENTION),
        batch_size,
        _delete,
    )
    return PruneReport(deliveries, deleted_messages, other_bodies, buried, keys)


def _days_before(now: datetime, days: int) -> datetime:
    """``days`` before ``now``; a retention longer than the calendar keeps everything."""
    try:
        return now - timedelta(days=days)
    except OverflowError:
        return datetime.min.replace(tzinfo=now.tzinfo)


def _in_batches(queryset: QuerySet[Any], batch_size: int, act: Any) -> int:
    """Apply ``act(using, rows)`` to ``queryset`` a batch at a time; the rows acted on."""
    using = router.db_for_write(queryset.model)
    done = 0
    while True:
        pks = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not pks:
            return done
        with transaction.atomic(using=using):
            done += act(using, queryset.model._default_manager.using(using).filter(pk__in=pks))


def _delete(using: str, rows: QuerySet[Any]) -> int:
    _total, per_model = rows.delete()
    return int(per_model.get(rows.model._meta.label, 0))


def _delete_messages(using: str, rows: QuerySet[OfficialAccountMessage]) -> int:
    tombstones.bury(using, rows.values_list("sdk_app_id", "official_account", "msg_key"))
    # The chart's rollup loses the batch's messages in this transaction, in one go per day.
    with deleting(using):
        return _delete(using, rows)


def _clear_body(using: str, rows: QuerySet[CallbackDelivery]) -> int:
    return int(rows.update(body=None))
