"""The chart's counts: from the rollup (``models.volume``) where it gives exactly the answer the
message table would, from the messages otherwise.

The rollup answers for bars of a day or longer, over whole local days, for a list filtered by
nothing but the period, the app (its filter and the user's scope) and the account, counted in
the time zone the chart draws in. Which filters the list applied is read from its query
itself, not from the URL: anything else there (a search, another filter) and the chart counts
the messages, as before, within its budget. Today, and any day not rolled up yet, are counted
from the messages; a rollup behind by a few days is brought up to date first, within the
chart's budget (``LAZY_DAYS``), and a larger backlog is left to ``officialaccount_rollup``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import DatabaseError, router, transaction
from django.db.models import Count, DateField, F, Lookup, QuerySet, Sum
from django.db.models.expressions import Col
from django.db.models.functions import Trunc, TruncDay, TruncHour, TruncMonth, TruncYear
from django.db.models.sql.where import AND, WhereNode
from django.utils import timezone

from ..models import MessageVolume, MessageVolumeState, OfficialAccountMessage
from ..query_budget import timed_out
from ..volume import refresh, stale_days
from ..volume.counting import day_start
from ..volume.rollup import up_to_date
from .buckets import local

# Days the chart may count itself (closed since, or a message came late for) before it leaves
# the rest to officialaccount_rollup: each is a day of messages grouped, within the budget.
LAZY_DAYS = 7
# Messages stored since the last refresh that the chart may count or look through for their
# days; more (a backfill, a long time since the last refresh, the first minutes after a first
# build) are left to officialaccount_rollup, and the chart counts the messages meanwhile.
LAZY_ROWS = 50_000
Counts = Counter[tuple[datetime, str]]


@dataclass
class _Conditions:
    """What the list's query filters by, when it is only what the rollup can answer."""

    model: Any
    apps: set[int] | None = None  # None: every app
    accounts: set[str] | None = None  # None: every account
    lower: list[datetime] = field(default_factory=list)
    upper: list[datetime] = field(default_factory=list)


def counts(
    queryset: QuerySet[Any],
    unit: str,
    since: datetime,
    until: datetime,
    *,
    field: str,
    now: datetime,
) -> tuple[Counts, int]:
    """Messages of ``queryset`` per (bar, account) from ``since`` to ``until``, and how many
    days of them the rollup gave."""
    try:
        # In a savepoint: a statement of the rollup's path stopped by the chart's budget, or
        # refused a lock, must leave the messages' count able to run.
        with transaction.atomic(queryset.db):
            rolled = _from_rollup(queryset, unit, since, until, field, now)
    except DatabaseError:
        rolled = None
    if rolled is None:
        return raw_counts(queryset, unit, since, until, field), 0
    counted, rest_from, days = rolled
    if rest_from < until:
        counted.update(raw_counts(queryset, unit, max(since, rest_from), until, field))
    return counted, days


def raw_counts(
    queryset: QuerySet[Any], unit: str, since: datetime, until: datetime, field: str
) -> Counts:
    """One grouped query of the messages (the message-time index bounds it)."""
    trunc = {"hour": TruncHour, "day": TruncDay, "month": TruncMonth, "year": TruncYear}[unit]
    output = None if unit == "hour" else DateField()
    rows = (
        queryset.order_by()
        .filter(**{f"{field}__gte": since, f"{field}__lt": until})
        .annotate(bucket=trunc(field, output_field=output))
        .values("bucket", "official_account")
        .annotate(messages=Count("pk"))
    )
    found: Counts = Counter()
    for row in rows:
        found[(local(row["bucket"]), row["official_account"])] += row["messages"]
    return found


def _from_rollup(
    queryset: QuerySet[Any], unit: str, since: datetime, until: datetime, field: str, now: datetime
) -> tuple[Counts, datetime, int] | None:
    """The rollup's counts, the moment from which the messages must be counted, and the days
    the rollup gave; None when it cannot give the messages' answer."""
    if unit == "hour" or field != "msg_time" or not settings.USE_TZ:
        return None
    if queryset.model is not OfficialAccountMessage:  # the rollup counts messages only
        return None
    found = _conditions(queryset, field)
    if found is None:
        return None
    low, high = max([since, *found.lower]), min([until, *found.upper])
    first, after = _whole_day(low), _whole_day(high)
    if low >= high or first is None or after is None:
        return None
    using = queryset.db
    state = MessageVolumeState.objects.using(using).filter(pk=1).first()
    if state is None or state.time_zone != timezone.get_current_timezone_name():
        return None
    state = _fresh(using, state, now)
    if state is None or state.counted_until is None:
        return None
    stop = min(after, state.counted_until)
    if first >= stop:
        return Counter(), low, 0
    rows = MessageVolume.objects.using(using).filter(day__gte=first, day__lt=stop)
    if found.apps is not None:
        rows = rows.filter(sdk_app_id__in=found.apps)
    if found.accounts is not None:
        rows = rows.filter(official_account__in=found.accounts)
    bucket = F("day") if unit == "day" else Trunc("day", unit, output_field=DateField())
    counted: Counts = Counter()
    grouped = rows.order_by().annotate(bucket=bucket).values("bucket", "official_account")
    for row in grouped.annotate(messages=Sum("count")):
        counted[(local(row["bucket"]), row["official_account"])] += row["messages"]
    # The rest of the list's period, if any, from the messages.
    rest_from = until if stop == after else day_start(stop, timezone.get_current_timezone())
    return counted, rest_from, (stop - first).days


def _fresh(using: str, state: MessageVolumeState, now: datetime) -> MessageVolumeState | None:
    """The state once the rollup is up to date for the chart, refreshed here if a few days
    are due; None if it is not right now and cannot be made so within the page."""
    late = stale_days(using, state, LAZY_DAYS, rows=LAZY_ROWS)
    if late is None:
        return None
    if not late and up_to_date(state, now):
        return state
    if router.db_for_write(MessageVolume) != using:  # a replica: the rollup is read only here
        return None if late else state
    try:
        with transaction.atomic(using):
            report = refresh(using, clock=lambda: now, limit=LAZY_DAYS, nowait=True)
    except DatabaseError as error:  # another refresh holds the lock
        if timed_out(error):
            raise  # counts() gives up on the rollup for this page
        return None if late else state
    if not report.exact:
        return None
    return MessageVolumeState.objects.using(using).filter(pk=1).first()


def _whole_day(moment: datetime) -> date | None:
    """The local day that ``moment`` starts, or None if it is not the start of one."""
    zone = timezone.get_current_timezone()
    day = timezone.localtime(moment, zone).date()
    return day if moment == day_start(day, zone) else None


def _conditions(queryset: QuerySet[Any], field: str) -> _Conditions | None:
    """The list's filters, read from its query, if they are all ones the rollup answers."""
    query = queryset.query
    if query.is_empty() or query.distinct or query.combinator or query.is_sliced:
        return None
    found = _Conditions(queryset.model)
    return found if _read(query.where, found, field) else None


def _read(node: Any, found: _Conditions, field: str) -> bool:
    if isinstance(node, WhereNode):
        if node.connector != AND or node.negated:
            return False
        return all(_read(child, found, field) for child in node.children)
    if not isinstance(node, Lookup) or not isinstance(node.lhs, Col):
        return False
    if node.lhs.target.model is not found.model:  # a field of another table, through a join
        return False
    name, kind, value = node.lhs.target.name, node.lookup_name, node.rhs
    if name == "sdk_app_id" and kind in ("exact", "in"):
        apps = _ints([value] if kind == "exact" else value)
        if apps is None:
            return False
        found.apps = apps if found.apps is None else found.apps & apps
        return True
    if name == "official_account" and kind == "exact" and isinstance(value, str):
        found.accounts = {value} if found.accounts is None else found.accounts & {value}
        return True
    if name == field and kind in ("gte", "lt") and isinstance(value, datetime):
        (found.lower if kind == "gte" else found.upper).append(value)
        return True
    return False


def _ints(values: Any) -> set[int] | None:
    """SDKAppIDs as the lookup holds them (prepared: plain integers), or None for anything
    else (a subquery, an expression)."""
    if not isinstance(values, Iterable) or isinstance(values, str | bytes):
        return None
    items = list(values)
    return set(items) if all(isinstance(item, int) for item in items) else None
