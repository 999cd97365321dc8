"""The chart's rollup: how many messages each account has per local day, for days that are over.

Nothing here is written as a message is stored: the webhook's path stays as it is. The rollup
is counted from the message table (``volume.rollup``, by ``officialaccount_rollup`` or by the
chart), in the project's ``TIME_ZONE``, which ``MessageVolumeState`` records. A deleted message
comes off the rollup in its own transaction: ``prune`` hands its batches over through
``deleting()``, and any other deletion through the ORM (the admin's) is seen by
``message_deleted``, which ``AppConfig.ready`` connects to ``post_delete``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import models
from django.db.models import F

from ..webhook.wire import MAX_ACCOUNT_LENGTH
from .messages import OfficialAccountMessage

# (id, sdk_app_id, official_account, msg_time) of a deleted message.
Deleted = tuple[int, int, str, datetime]
_collecting: ContextVar[list[Deleted] | None] = ContextVar("volume_collecting", default=None)


class MessageVolume(models.Model):
    """The messages of one account on one local day (a closed day: before today)."""

    sdk_app_id = models.BigIntegerField()
    official_account = models.CharField(max_length=MAX_ACCOUNT_LENGTH)
    day = models.DateField()
    count = models.BigIntegerField()

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=("sdk_app_id", "official_account", "day"), name="officialaccount_volume_key"
            ),
        )
        # The chart reads a period of days, for every account or for one.
        indexes = (
            models.Index(fields=("day",), name="officialaccount_volume_day"),
            models.Index(fields=("official_account", "day"), name="officialaccount_volume_acct"),
        )

    def __str__(self) -> str:
        return f"{self.official_account} {self.day}: {self.count}"


class MessageVolumeState(models.Model):
    """What the rollup holds: one row (``pk`` 1), locked by whoever changes the rollup."""

    # The zone its days were counted in: another TIME_ZONE makes it start over, never mix.
    time_zone = models.CharField(max_length=64)
    # Every day before this one is counted; None until the first days are.
    counted_until = models.DateField(null=True)
    # Messages with a larger id may have been stored after their day was counted: a refresh
    # counts their days again. It moves up only past messages committed before a refresh read
    # them, so that a transaction still in flight is never skipped (volume.rollup).
    scan_from_id = models.BigIntegerField(default=0)
    seen_id = models.BigIntegerField(default=0)
    seen_at = models.DateTimeField(null=True)
    # The newest id the last refresh read, and how many messages it found above
    # scan_from_id up to it: while that many are still there, none came since and the next
    # look starts above recounted_id.
    recounted_id = models.BigIntegerField(null=True)
    window_rows = models.BigIntegerField(default=0)
    # Days to count again: a message was deleted that the rollup may or may not hold.
    dirty_days = models.JSONField(default=list)
    # Changed by every refresh that moves the ids above and by a deletion that makes them
    # unsure: a refresh saves its ids only if nothing changed them meanwhile.
    generation = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.time_zone}, until {self.counted_until}"

    def dirty(self) -> set[date]:
        return {date.fromisoformat(day) for day in self.dirty_days}


# The most messages a deletion counts to tell whether the rollup surely holds those it deletes.
MAX_WINDOW_COUNT = 50_000


def locked_state(using: str, *, nowait: bool = False) -> MessageVolumeState | None:
    """The rollup's state row, locked for the rest of the transaction (None: no rollup)."""
    states = MessageVolumeState.objects.using(using).select_for_update(nowait=nowait)
    return states.filter(pk=1).first()


def forget(using: str, deleted: Iterable[Deleted]) -> None:
    """Take deleted messages off the rollup, in the deleting transaction.

    A message the rollup has surely counted is subtracted: its id is at or below
    ``scan_from_id``, or up to ``recounted_id`` while the last refresh's window is intact (the
    messages there now, plus those deleted, are the number it counted: none came since). Any
    other may or may not be in it: its day is marked to be counted again (until then the chart
    counts it from the messages), and the next refresh looks at every message above
    ``scan_from_id`` again.
    """
    state = locked_state(using)
    if state is None:
        return
    rows = list(deleted)
    zone = ZoneInfo(state.time_zone)
    low, high = state.scan_from_id, state.recounted_id
    in_window = 0 if high is None else sum(1 for row in rows if low < row[0] <= high)
    # A window too large to count on every deletion (the first minutes after a first build)
    # is taken as unsure instead.
    window_sure = (
        high is not None
        and state.window_rows <= MAX_WINDOW_COUNT
        and _ids_between(using, low, high) + in_window == state.window_rows
    )
    surely_counted = high if window_sure and high is not None else low
    counted: Counter[tuple[int, str, date]] = Counter()
    unsure: set[date] = set()
    recent = False
    for pk, app, account, moment in rows:
        recent = recent or pk > surely_counted
        day = moment.astimezone(zone).date()
        if state.counted_until is None or day >= state.counted_until:
            continue  # not in the rollup: counted from the messages
        if pk <= surely_counted:
            counted[(app, account, day)] += 1
        else:
            unsure.add(day)
    if recent:
        state.recounted_id, state.generation = None, state.generation + 1
        state.dirty_days = sorted(day.isoformat() for day in state.dirty() | unsure)
        state.save(using=using, update_fields=("recounted_id", "generation", "dirty_days"))
    elif in_window:
        # Gone from the window: the next look stays above it. A refresh between its
        # transactions counted the window before this: the new generation keeps it from
        # saving that count over this one.
        state.window_rows -= in_window
        state.generation += 1
        state.save(using=using, update_fields=("window_rows", "generation"))
    volumes = MessageVolume.objects.using(using)
    for (app, account, day), messages in counted.items():
        key = {"sdk_app_id": app, "official_account": account, "day": day}
        volumes.filter(**key).update(count=F("count") - messages)
    if counted:
        days = {day for _app, _account, day in counted}
        volumes.filter(day__in=days, count__lte=0).delete()


def _ids_between(using: str, above: int, up_to: int) -> int:
    messages = OfficialAccountMessage.objects.using(using).filter(pk__gt=above, pk__lte=up_to)
    return messages.count()


@contextmanager
def deleting(using: str) -> Iterator[None]:
    """Within the block (inside a transaction), messages deleted through the ORM come off the
    rollup together when it ends, instead of one by one: for deletions in bulk."""
    collected: list[Deleted] = []
    token = _collecting.set(collected)
    try:
        yield
    finally:
        _collecting.reset(token)
    forget(using, collected)


def message_deleted(
    sender: Any, instance: OfficialAccountMessage, using: str, **kwargs: Any
) -> None:
    needed = {"id", "sdk_app_id", "official_account", "msg_time"}
    if needed & instance.get_deferred_fields():
        # Its day is unknown without a query of a row that is gone: start the rollup over.
        MessageVolumeState.objects.using(using).filter(pk=1).delete()
        return
    row = (instance.pk, instance.sdk_app_id, instance.official_account, instance.msg_time)
    collected = _collecting.get()
    if collected is not None:
        collected.append(row)
    else:
        forget(using, [row])
