"""Tombstones: what pruning a message leaves, so that nothing stores it again.

``officialaccount_prune --messages`` deletes old messages; without a trace, the next backfill
would find them in Tencent's history and store them again, and signal them again. Each pruned
key is kept (``PrunedMessage``) until ``TOMBSTONE_RETENTION_DAYS`` later; backfill, spool drains
and ``officialaccount_reprocess`` skip a key that has one, unless told to include it.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from ..models import PrunedMessage

Key = tuple[int, str, str]
"""(SDKAppID, official account, MsgKey)."""


def is_pruned(using: str, sdk_app_id: int, official_account: str, msg_key: str) -> bool:
    return (
        PrunedMessage.objects.using(using)
        .filter(sdk_app_id=sdk_app_id, official_account=official_account, msg_key=msg_key)
        .exists()
    )


def bury(using: str, keys: Iterable[Key]) -> None:
    """Leave a tombstone for each key; one that has one already keeps its first."""
    now = timezone.now()
    PrunedMessage.objects.using(using).bulk_create(
        (
            PrunedMessage(sdk_app_id=app, official_account=account, msg_key=key, pruned_at=now)
            for app, account, key in keys
        ),
        ignore_conflicts=True,
    )
