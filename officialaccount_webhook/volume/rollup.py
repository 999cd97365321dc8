"""Keeping the chart's rollup (``models.volume``) right from the message table alone.

The rollup holds closed days only (before today, in ``TIME_ZONE``); the chart counts today and
any day not rolled up yet from the messages. A refresh:

1. starts over when there is no rollup, or it was counted in another time zone;
2. counts again every closed day that a message was stored for since the day was counted: the
   messages with an id above ``scan_from_id``. Every way a message is stored (a callback, a
   spool drain, a backfill, a reprocessed callback, a send) gives it a new id, whatever its
   ``received_at`` says (a drained callback keeps the time it was spooled). Those up to the
   last refresh's newest id were looked at then, unless one has been committed since: their
   number, unchanged, says that none has, and only the newer ones are read. Days a deletion
   left unsure (``dirty_days``) are counted again too;
3. counts the days that have closed since the last refresh;
4. moves ``scan_from_id`` up to the newest id that a refresh read at least ``SETTLE`` ago: a
   transaction still in flight then has ended since, and this refresh looked at its message.

Counting a day again is idempotent, so a message may be looked at twice, never missed. Each
batch of days is its own transaction under the state row's lock, so an interrupted refresh
leaves a right rollup and the next one carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import MessageVolume, MessageVolumeState, OfficialAccountMessage
from ..models.volume import locked_state
from .counting import DAY_EDGE, count_days, day_runs, day_start, ids_between, message_day
from .counting import newest_id as _newest_id

# Longer than any transaction that stores a message: the webhook's is one statement, a drain's
# or a backfill's one message.
SETTLE = timedelta(minutes=10)
# Days counted in one transaction: a month of messages at a time.
CHUNK_DAYS = 31

Clock = Callable[[], datetime]
Progress = Callable[[str], None] | None


@dataclass
class Refreshed:
    """What a refresh did."""

    started_over: bool = False
    recounted: int = 0
    """Closed days counted again: a message came for them after they were counted."""
    counted: int = 0
    """Days counted for the first time (closed since the last refresh)."""
    counted_until: date | None = None
    exact: bool = True
    """Every day the rollup holds is right; False: more days to count again than the limit,
    or no rollup in this time zone yet (left to ``officialaccount_rollup``)."""


def refresh(
    using: str = DEFAULT_DB_ALIAS,
    *,
    clock: Clock | None = None,
    limit: int | None = None,
    nowait: bool = False,
    progress: Progress = None,
    rebuild: bool = False,
) -> Refreshed:
    """Bring the rollup up to date; ``limit`` bounds the days counted (the chart's own refresh),
    ``nowait`` refuses to wait for another refresh's lock (a ``DatabaseError``), ``rebuild``
    counts every day again from scratch."""
    clock = clock or timezone.now
    zone = ZoneInfo(timezone.get_default_timezone_name())
    report = Refreshed(exact=False)
    with transaction.atomic(using):
        state = locked_state(using, nowait=nowait)
        if rebuild or state is None or state.time_zone != zone.key:
            if limit is not None:  # counting a whole table is a command's job, not a page's
                return report
            _start(using, state, zone.key, clock)
            report.started_over = True
    with transaction.atomic(using):
        state = _lock(using, zone, nowait)
        if state is None:  # started over in another zone meanwhile
            return report
        newest = _newest_id(using)
        moment = clock()  # after the newest id was read: SETTLE is counted from here
        generation = state.generation
        moves = state.seen_at is None or moment - state.seen_at >= SETTLE
        scan_from = state.seen_id if moves else state.scan_from_id
        # Counted before looking: a message committed in between is looked at, not counted,
        # so that the next refresh finds one more than this and looks again.
        window = ids_between(using, scan_from, newest)
        touched = stale_days(using, state, limit)
    if touched is None:
        return report
    for first, after in day_runs(touched, CHUNK_DAYS):
        with transaction.atomic(using):
            state = _lock(using, zone, nowait)
            if state is None:
                return report
            count_days(using, zone, first, after)
            # Counted after the deletions that made them unsure: sure again.
            state.dirty_days = [
                day for day in state.dirty_days if not first <= date.fromisoformat(day) < after
            ]
            state.save(using=using, update_fields=("dirty_days",))
        report.recounted += (after - first).days
        if progress:
            last = after - timedelta(days=1)
            progress(_("Counted %(first)s to %(last)s again.") % {"first": first, "last": last})
    report.counted_until = _close_days(using, zone, clock, limit, nowait, report, progress)
    with transaction.atomic(using):
        state = _lock(using, zone, nowait)
        if state is None:
            return report
        if state.generation == generation:  # nobody changed the ids meanwhile
            if moves:
                state.scan_from_id, state.seen_id, state.seen_at = scan_from, newest, moment
            state.recounted_id, state.window_rows = newest, window
            state.generation += 1
        state.refreshed_at = moment
        state.save(using=using)
    report.exact = True
    return report


def stale_days(
    using: str, state: MessageVolumeState, limit: int | None = None, *, rows: int | None = None
) -> list[date] | None:
    """The closed days the rollup holds that must be counted again, None if more than
    ``limit``: those a deletion left unsure, and those of the messages stored since the last
    refresh looked (above ``recounted_id`` while it is sure, else above ``scan_from_id``).
    With ``rows``, also None when more messages than that are to be looked at: the chart's
    bound, so that a backfill of a million messages costs it one bounded count."""
    if state.counted_until is None:
        return []
    if rows is not None and state.window_rows > rows:
        return None  # right after a first build: the window is the whole table until it settles
    zone = ZoneInfo(state.time_zone)
    above = state.scan_from_id
    recounted = state.recounted_id
    if recounted is not None and ids_between(using, above, recounted) == state.window_rows:
        above = recounted  # none stored up to it since the last refresh looked
    if rows is not None and _more_than(using, above, rows):
        return None
    days = (
        OfficialAccountMessage.objects.using(using)
        .order_by()
        .filter(pk__gt=above)
        .filter(msg_time__lt=day_start(state.counted_until, zone) + DAY_EDGE)
        .annotate(day=message_day(zone))
        .filter(day__lt=state.counted_until)
        .values_list("day", flat=True)
        .distinct()
    )
    found = set(days if limit is None else days[: limit + 1]) | state.dirty()
    return None if limit is not None and len(found) > limit else sorted(found)


def _more_than(using: str, above: int, rows: int) -> bool:
    """Whether more than ``rows`` messages have an id above ``above`` (reads at most rows + 1
    entries of the primary key's index)."""
    ids = OfficialAccountMessage.objects.using(using).order_by().filter(pk__gt=above)
    return ids.values("pk")[: rows + 1].count() > rows


def up_to_date(state: MessageVolumeState, now: datetime) -> bool:
    """Whether the state is due no refresh but for late messages: no day has closed since, and
    ``scan_from_id`` may not move yet."""
    if state.counted_until is None:
        return False
    today = timezone.localdate(now, ZoneInfo(state.time_zone))
    recent = state.seen_at is not None and now - state.seen_at < SETTLE
    return state.counted_until >= today and recent


def _lock(using: str, zone: ZoneInfo, nowait: bool) -> MessageVolumeState | None:
    """The state, locked, if it is still this zone's."""
    state = locked_state(using, nowait=nowait)
    return state if state is not None and state.time_zone == zone.key else None


def _start(using: str, state: MessageVolumeState | None, zone_name: str, clock: Clock) -> None:
    """An empty rollup in ``zone_name``; its days are counted next. The caller holds the lock
    (or there is no state row yet)."""
    MessageVolume.objects.using(using).all().delete()
    newest = _newest_id(using)
    moment = clock()
    # A transaction still in flight may hold any id up to the newest (a drained callback keeps
    # its old received_at, so no time tells which): nothing above the last settled id (none
    # yet on a first build) counts as looked at. What the build counts is what was committed
    # now; the window's count, taken now, tells the next refreshes whether anything up to the
    # newest id has been committed since, and they count its days again if so. The window
    # moves up once a refresh has read the newest id at least SETTLE ago.
    state = state or MessageVolumeState(pk=1)
    scan_from = state.scan_from_id or 0
    if state.seen_at is not None and moment - state.seen_at >= SETTLE:
        scan_from = max(scan_from, state.seen_id)  # read SETTLE ago: settled since
    state.time_zone, state.counted_until, state.dirty_days = zone_name, None, []
    state.scan_from_id, state.seen_id, state.seen_at = scan_from, newest, moment
    state.recounted_id, state.window_rows = newest, ids_between(using, scan_from, newest)
    state.refreshed_at = None
    state.generation = (state.generation or 0) + 1
    state.save(using=using)


def _close_days(
    using: str,
    zone: ZoneInfo,
    clock: Clock,
    limit: int | None,
    nowait: bool,
    report: Refreshed,
    progress: Progress,
) -> date | None:
    """Count the days that have closed since the last refresh, a chunk per transaction; the
    new ``counted_until``."""
    while True:
        with transaction.atomic(using):
            state = _lock(using, zone, nowait)
            if state is None:
                return None
            today = timezone.localdate(clock(), zone)
            start = state.counted_until or _first_day(using, zone, today)
            after = min(start + timedelta(days=CHUNK_DAYS), today)
            if limit is not None:
                left = limit - report.counted - report.recounted  # one bound for both
                after = min(after, start + timedelta(days=max(0, left)))
            if after <= start:
                if state.counted_until is None:  # no closed day holds a message yet
                    state.counted_until = start
                    state.save(using=using)
                return state.counted_until
            count_days(using, zone, start, after)
            state.counted_until = after
            state.save(using=using)
        report.counted += (after - start).days
        if progress:
            last = after - timedelta(days=1)
            progress(_("Counted %(first)s to %(last)s.") % {"first": start, "last": last})


def _first_day(using: str, zone: ZoneInfo, today: date) -> date:
    """The day of the oldest message (an index lookup), or today when none is older."""
    oldest = (
        OfficialAccountMessage.objects.using(using)
        .order_by("msg_time")
        .values_list("msg_time", flat=True)
        .first()
    )
    # Early by DAY_EDGE: the database may put the oldest message in the day before Python does.
    return today if oldest is None else min((oldest - DAY_EDGE).astimezone(zone).date(), today)
