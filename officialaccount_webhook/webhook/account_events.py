"""The account and subscriber callbacks as typed events (protocol notes, section 3; Tencent's
pages 60796 to 60802; samples ``oa-after-*.json``).

Every one carries ``Official_Account`` and ``EventTime`` (milliseconds), both required here:
without the account there is nothing to update, and without the time the mirror could not tell
a late event from a new one. The other fields are read when present and kept as sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import event_fields, fields
from .wire import MAX_ACCOUNT_LENGTH, MalformedCallback

AFTER_CREATE = "OfficialAccount.CallbackAfterCreateOfficialAccount"
AFTER_INFO_CHANGED = "OfficialAccount.CallbackAfterOfficialAccountInfoChanged"
AFTER_DESTROYED = "OfficialAccount.CallbackAfterOfficialAccountDestroyed"
AFTER_FULL = "OfficialAccount.CallbackAfterOfficialAccountFull"
AFTER_ADD_SUBSCRIBER = "OfficialAccount.CallbackAfterAddSubscriber"
AFTER_DELETE_SUBSCRIBER = "OfficialAccount.CallbackAfterDeleteSubscriber"

# What each account command tells, in the words of the account_changed signal.
ACCOUNT_CHANGES = {
    AFTER_CREATE: "created",
    AFTER_INFO_CHANGED: "changed",
    AFTER_DESTROYED: "destroyed",
    AFTER_FULL: "full",
}
SUBSCRIBER_COMMANDS = frozenset({AFTER_ADD_SUBSCRIBER, AFTER_DELETE_SUBSCRIBER})

# The profile's fields, Tencent's name to the model's. The info-changed callback sends the
# fields that changed (page 60797 lists Introduction, Name, FaceUrl, Organization); CustomString
# is read too, should Tencent send it, since the REST API can change it [inferred].
PROFILE_FIELDS = {
    "Name": "name",
    "Owner_Account": "owner_account",
    "Introduction": "introduction",
    "FaceUrl": "face_url",
    "Organization": "organization",
    "CustomString": "custom_string",
}


@dataclass(frozen=True)
class AccountEvent:
    """An account was created, changed, destroyed, or became full."""

    command: str
    change: str
    """``created``, ``changed``, ``destroyed`` or ``full``."""
    official_account: str
    operator_account: str
    profile: dict[str, str]
    """The profile fields the callback carries, by the model's names."""
    event_time: datetime
    payload: dict[str, Any] = field(repr=False)
    repairs: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, command: str, payload: dict[str, Any]) -> AccountEvent:
        repairs: fields.Repairs = []
        profile = {
            name: fields.optional_text(payload, key, repairs)
            for key, name in PROFILE_FIELDS.items()
            if payload.get(key) is not None
        }
        if len(profile.get("owner_account", "")) > MAX_ACCOUNT_LENGTH:
            raise MalformedCallback("Owner_Account", f"longer than {MAX_ACCOUNT_LENGTH} characters")
        return cls(
            command=command,
            change=ACCOUNT_CHANGES[command],
            official_account=event_fields.official_account(payload),
            operator_account=fields.optional_text(payload, "Operator_Account", repairs),
            profile=profile,
            event_time=event_fields.event_time(payload, repairs),
            payload=payload,
            repairs=tuple(repairs),
        )


@dataclass(frozen=True)
class SubscriberEvent:
    """Users subscribed to an account (``subscribed``), or stopped being subscribers."""

    command: str
    official_account: str
    operator_account: str
    subscriber_accounts: tuple[str, ...]
    """Each listed once, in the callback's order."""
    subscribed: bool
    event_time: datetime
    payload: dict[str, Any] = field(repr=False)
    repairs: tuple[str, ...] = ()

    @classmethod
    def from_payload(cls, command: str, payload: dict[str, Any]) -> SubscriberEvent:
        repairs: fields.Repairs = []
        return cls(
            command=command,
            **event_fields.subscription(payload, repairs),
            subscribed=command == AFTER_ADD_SUBSCRIBER,
            event_time=event_fields.event_time(payload, repairs),
            payload=payload,
            repairs=tuple(repairs),
        )
