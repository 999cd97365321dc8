"""Counting a run of days from the message table into the rollup, in the database.

A day is a local day of the rollup's time zone, as the database computes it for the chart
(``message_day``): the rollup and the chart's own query put each message in the same day.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from django.db import connections, models
from django.db.models import Count, Max
from django.db.models.functions import TruncDay

from ..models import MessageVolume, OfficialAccountMessage

# Where Python's time-zone data and the database's could put a day's edge differently (they
# may disagree on a transition), a day is read with a margin, and each message counted in
# the day the database gives it.
DAY_EDGE = timedelta(hours=3)


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first moment of a local day (also where its midnight does not exist)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def message_day(zone: ZoneInfo) -> TruncDay:
    """A message's local day, computed by the database as the chart's query computes it."""
    return TruncDay("msg_time", output_field=models.DateField(), tzinfo=zone)


def count_days(using: str, zone: ZoneInfo, first: date, after: date) -> int:
    """Count the messages of each day from ``first`` to ``after`` (excluded) again, replacing
    the rollup's rows of those days; the rows written. The caller holds the state's lock.

    One ``INSERT ... SELECT``: the grouped rows go from table to table without passing
    through Python, so memory stays the same however many accounts and days there are.
    """
    counts = (
        OfficialAccountMessage.objects.using(using)
        .order_by()
        .filter(msg_time__gte=day_start(first, zone) - DAY_EDGE)
        .filter(msg_time__lt=day_start(after, zone) + DAY_EDGE)
        .annotate(day=message_day(zone))
        .filter(day__gte=first, day__lt=after)
        .values_list("sdk_app_id", "official_account", "day")
        .annotate(messages=Count("pk"))
    )
    MessageVolume.objects.using(using).filter(day__gte=first, day__lt=after).delete()
    connection = connections[using]
    select, params = counts.query.get_compiler(using).as_sql()
    quote = connection.ops.quote_name
    fields = {field.name: str(field.column) for field in MessageVolume._meta.concrete_fields}
    names = ("sdk_app_id", "official_account", "day", "count")
    columns = ", ".join(quote(fields[name]) for name in names)
    table = quote(MessageVolume._meta.db_table)
    with connection.cursor() as cursor:
        # Quoted names from the model and the ORM's own SELECT; every value is a parameter.
        cursor.execute(f"INSERT INTO {table} ({columns}) {select}", params)
        return max(int(cursor.rowcount), 0)


def day_runs(days: Iterable[date], longest: int) -> Iterator[tuple[date, date]]:
    """``days`` as runs of consecutive days, ``(first, after)``, each at most ``longest``."""
    ordered = sorted(set(days))
    for _key, run in groupby(enumerate(ordered), lambda item: item[1] - timedelta(item[0])):
        run_days = [day for _index, day in run]
        for start in range(0, len(run_days), longest):
            part = run_days[start : start + longest]
            yield part[0], part[-1] + timedelta(days=1)


def ids_between(using: str, above: int, up_to: int) -> int:
    """How many messages have an id above ``above`` and up to ``up_to``."""
    messages = OfficialAccountMessage.objects.using(using).filter(pk__gt=above, pk__lte=up_to)
    return messages.count()


def newest_id(using: str) -> int:
    newest = OfficialAccountMessage.objects.using(using).aggregate(newest=Max("pk"))["newest"]
    return int(newest or 0)
