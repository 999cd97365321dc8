"""Small parsers for values that reach the app as text: from Tencent's query string, the
admin's filters, the REST API's parameters and the management commands' arguments.

Each returns ``None`` for what it cannot accept, and each caller says so in its own way (a
refused callback, an empty list, a 400, a command error).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

# Eighteen digits always fit a bigint column (SDKAppIDs have ten).
MAX_SDK_APP_ID_DIGITS = 18
# A moment is kept well inside datetime's years 1 to 9999, so that turning it into UTC, or
# adding a day or a month to it, cannot overflow.
FIRST_YEAR, LAST_YEAR = 2, 9998


def parse_sdk_app_id(value: str) -> int | None:
    """An SDKAppID from text: ASCII digits only, at most 18 of them."""
    # isdigit() alone accepts non-ASCII digits such as "١٢"; int() would accept "+1" and " 1".
    if value.isascii() and value.isdigit() and len(value) <= MAX_SDK_APP_ID_DIGITS:
        return int(value)
    return None


def parse_moment(value: str, *, allow_date: bool = False) -> datetime | None:
    """An ISO 8601 date and time (or, with ``allow_date``, a date alone: its midnight), aware.

    Without an offset the time is in the project's ``TIME_ZONE``. Out-of-range fields
    ("2024-13-01") and years outside 2 to 9998 give ``None``. The result is in UTC: PostgreSQL
    refuses a parameter whose offset is beyond 15:59, which ISO 8601 allows up to 23:59.
    """
    try:
        parsed = parse_datetime(value)
        if parsed is None and allow_date:
            day: date | None = parse_date(value)
            parsed = datetime(day.year, day.month, day.day) if day is not None else None
    except ValueError:
        return None
    if parsed is None or not FIRST_YEAR <= parsed.year <= LAST_YEAR:
        return None
    aware = timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
    return aware.astimezone(UTC)


def epoch_ms(moment: datetime) -> int:
    """An aware moment as Unix milliseconds, as Tencent writes ``EventTime``: a JSON value."""
    return round(moment.timestamp() * 1000)


def from_epoch_ms(value: int) -> datetime:
    """Unix milliseconds as an aware moment in UTC."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)
