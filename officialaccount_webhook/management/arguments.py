"""Argument types shared by the management commands, read as the webhook and the REST API read
the same values (``values``). A refusal says what is expected, in the active language; argparse
puts the argument's name before it."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from datetime import datetime

from django.utils.translation import gettext as _

from ..values import parse_moment, parse_sdk_app_id


def moment(value: str) -> datetime:
    """A date or an ISO date and time, in the project's time zone when it has no offset."""
    parsed = parse_moment(value, allow_date=True)
    if parsed is None:
        raise ArgumentTypeError(
            _("%(value)r is not a date or an ISO 8601 date and time between the years 2 and 9998.")
            % {"value": value}
        )
    return parsed


def sdk_app_id(value: str) -> int:
    """An SDKAppID, read as the webhook reads it: ASCII digits only, at most 18 of them (so
    that "+1", " 1" and a number past the database's column are refused here, not later)."""
    parsed = parse_sdk_app_id(value)
    if parsed is None:
        raise ArgumentTypeError(
            _("%(value)r is not an SDKAppID: digits 0 to 9 only, at most 18 of them.")
            % {"value": value}
        )
    return parsed


def add_sdk_app_id(
    parser: ArgumentParser, help_text: str | None = None, *, required: bool = False
) -> None:
    """``--sdkappid``, as every command that takes an app names it and reads it."""
    parser.add_argument("--sdkappid", type=sdk_app_id, required=required, help=help_text)
