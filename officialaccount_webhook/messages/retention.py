"""Deleting old rows in small batches, so that no long lock holds up the webhook."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import router, transaction
from django.db.models import QuerySet

from ..models import CallbackDelivery, OfficialAccountMessage


def prune(cutoff: datetime, *, messages: bool = False, batch_size: int = 1000) -> tuple[int, int]:
    """Delete delivery records (and, if asked, messages) received before ``cutoff``.

    Returns how many of each were deleted. Each batch is its own short transaction.
    """
    deliveries = _delete_in_batches(
        CallbackDelivery.objects.filter(received_at__lt=cutoff), batch_size
    )
    deleted_messages = 0
    if messages:
        # A deleted message's remaining delivery records keep their row, with no message.
        deleted_messages = _delete_in_batches(
            OfficialAccountMessage.objects.filter(received_at__lt=cutoff), batch_size
        )
    return deliveries, deleted_messages


def _delete_in_batches(queryset: QuerySet[Any], batch_size: int) -> int:
    using = router.db_for_write(queryset.model)
    deleted = 0
    while True:
        pks = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not pks:
            return deleted
        with transaction.atomic(using=using):
            _total, per_model = (
                queryset.model._default_manager.using(using).filter(pk__in=pks).delete()
            )
        deleted += per_model.get(queryset.model._meta.label, 0)
