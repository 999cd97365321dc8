"""The chart's time buckets: truncating a moment to its hour, day, month or year, the next
bucket, and the database's buckets as the naive local datetimes that key the bars."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone


def local(value: date | datetime) -> datetime:
    """A bucket from the database as a naive local datetime, the key of the bars."""
    if isinstance(value, datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return datetime(value.year, value.month, value.day)


def truncate(moment: datetime, unit: str) -> datetime:
    moment = moment.replace(minute=0, second=0, microsecond=0)
    if unit != "hour":
        moment = moment.replace(hour=0)
    if unit in ("month", "year"):
        moment = moment.replace(day=1)
    return moment.replace(month=1) if unit == "year" else moment


def step(bucket: datetime, unit: str) -> datetime:
    if unit == "hour":
        return bucket + timedelta(hours=1)
    if unit == "day":
        return bucket + timedelta(days=1)
    if unit == "month":
        return bucket.replace(year=bucket.year + bucket.month // 12, month=bucket.month % 12 + 1)
    return bucket.replace(year=bucket.year + 1)


def day(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day))
