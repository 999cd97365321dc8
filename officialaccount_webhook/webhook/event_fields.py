"""The parts of a body that several official-account callbacks share, each read one way: the
account, the subscription (who subscribed whom), the message, and ``EventTime``. ``fields``
reads one value; this says which fields, and how strictly.

Tencent's before-callbacks (``moderation.events``) carry the same parts as the after-callbacks
they precede, so both read them here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from . import fields
from .wire import MAX_ACCOUNT_LENGTH


class Subscription(TypedDict):
    """A subscriber callback's parts, before or after the change."""

    official_account: str
    operator_account: str
    subscriber_accounts: tuple[str, ...]


class MessageParts(TypedDict):
    """A broadcast as the before-send and after-send callbacks carry it."""

    online_only: bool
    msg_body: list[Any]
    cloud_custom_data: str


def official_account(payload: dict[str, Any]) -> str:
    """``Official_Account``: required, since the account is what the callback is about."""
    return fields.required_id(payload, "Official_Account", MAX_ACCOUNT_LENGTH)


def subscription(payload: dict[str, Any], repairs: fields.Repairs) -> Subscription:
    """The account, who acted, and the users, each listed once in the callback's order."""
    return Subscription(
        official_account=official_account(payload),
        operator_account=fields.optional_text(payload, "Operator_Account", repairs),
        subscriber_accounts=fields.id_list(
            payload, "SubscribeAccountList", "Subscriber_Account", MAX_ACCOUNT_LENGTH
        ),
    )


def message_parts(payload: dict[str, Any], repairs: fields.Repairs) -> MessageParts:
    """The message; ``OnlineOnlyFlag`` and ``CloudCustomData`` optional (``SentMessage`` says
    why)."""
    return MessageParts(
        online_only=fields.flag(payload, "OnlineOnlyFlag", repairs),
        msg_body=fields.msg_body(payload),
        cloud_custom_data=fields.optional_text(payload, "CloudCustomData", repairs),
    )


def event_time(payload: dict[str, Any], repairs: fields.Repairs) -> datetime:
    """``EventTime`` in milliseconds, required: the mirror orders events by it."""
    return fields.timestamp(payload, "EventTime", 1000, repairs)


def optional_event_time(payload: dict[str, Any], repairs: fields.Repairs) -> datetime | None:
    """``EventTime`` where nothing is ordered by it: None when absent."""
    return None if payload.get("EventTime") is None else event_time(payload, repairs)
