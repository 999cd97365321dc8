"""Argument types shared by the management commands."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime


def moment(value: str) -> datetime:
    """A date or an ISO date and time, in the project's time zone when it has no offset."""
    parsed = parse_datetime(value)
    if parsed is None and (day := parse_date(value)) is not None:
        parsed = datetime(day.year, day.month, day.day)
    if parsed is None:
        raise ValueError(value)
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed
