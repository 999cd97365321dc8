"""Argument types shared by the management commands."""

from __future__ import annotations

from datetime import datetime

from ..values import parse_moment


def moment(value: str) -> datetime:
    """A date or an ISO date and time, in the project's time zone when it has no offset."""
    parsed = parse_moment(value, allow_date=True)
    if parsed is None:
        raise ValueError(value)  # argparse names the argument and the value
    return parsed
