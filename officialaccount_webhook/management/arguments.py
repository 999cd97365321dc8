"""Argument types shared by the management commands."""

from __future__ import annotations

from datetime import datetime

from ..values import parse_moment, parse_sdk_app_id


def moment(value: str) -> datetime:
    """A date or an ISO date and time, in the project's time zone when it has no offset."""
    parsed = parse_moment(value, allow_date=True)
    if parsed is None:
        raise ValueError(value)  # argparse names the argument and the value
    return parsed


def sdk_app_id(value: str) -> int:
    """An SDKAppID, read as the webhook reads it: ASCII digits only, at most 18 of them (so
    that "+1", " 1" and a number past the database's column are refused here, not later)."""
    parsed = parse_sdk_app_id(value)
    if parsed is None:
        raise ValueError(value)  # argparse names the argument and the value
    return parsed
