"""Callback bodies as typed events: one dataclass per command this app understands."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..moderation.commands import BEFORE_COMMANDS
from ..moderation.events import BeforeEvent, parse_before
from . import event_fields, fields
from .account_events import ACCOUNT_CHANGES, SUBSCRIBER_COMMANDS, AccountEvent, SubscriberEvent
from .wire import AFTER_MSG_WITHDRAW, AFTER_SEND_MSG, MAX_MSG_KEY_LENGTH


@dataclass(frozen=True)
class SentMessage:
    """``OfficialAccount.CallbackAfterSendMsg``: a broadcast was delivered to subscribers.

    Required: ``Official_Account``, ``MsgKey``, ``MsgTime``, ``MsgBody``, ``EventTime``; they
    identify and date the message. ``OnlineOnlyFlag`` and ``CloudCustomData`` are optional,
    because Tencent does not say whether they are always sent, and a message that lacks them is
    still a message worth keeping. ``extra`` holds every other key, so that nothing Tencent adds
    later is lost.
    """

    command: str
    official_account: str
    msg_key: str
    msg_time: datetime
    online_only: bool
    msg_body: list[Any]
    cloud_custom_data: str
    event_time: datetime
    extra: dict[str, Any]
    payload: dict[str, Any] = field(repr=False)
    repairs: tuple[str, ...] = ()
    """What was changed to read the payload (``fields``); empty when it was read as sent."""

    _DOCUMENTED = frozenset(
        {
            "CallbackCommand",
            "Official_Account",
            "MsgKey",
            "MsgTime",
            "OnlineOnlyFlag",
            "MsgBody",
            "CloudCustomData",
            "EventTime",
        }
    )

    @classmethod
    def from_payload(cls, command: str, payload: dict[str, Any]) -> SentMessage:
        repairs: fields.Repairs = []
        return cls(
            command=command,
            official_account=event_fields.official_account(payload),
            msg_key=fields.required_id(payload, "MsgKey", MAX_MSG_KEY_LENGTH),
            msg_time=fields.timestamp(payload, "MsgTime", 1, repairs),
            **event_fields.message_parts(payload, repairs),
            event_time=event_fields.event_time(payload, repairs),
            extra={key: value for key, value in payload.items() if key not in cls._DOCUMENTED},
            payload=payload,
            repairs=tuple(repairs),
        )


@dataclass(frozen=True)
class MessageWithdrawal:
    """``OfficialAccount.CallbackAfterMsgWithDraw``: messages of one account were recalled."""

    command: str
    official_account: str
    msg_keys: tuple[str, ...]
    payload: dict[str, Any] = field(repr=False)

    @classmethod
    def from_payload(cls, command: str, payload: dict[str, Any]) -> MessageWithdrawal:
        return cls(
            command=command,
            official_account=event_fields.official_account(payload),
            msg_keys=fields.id_list(payload, "WithdrawMsgList", "MsgKey", MAX_MSG_KEY_LENGTH),
            payload=payload,
        )


@dataclass(frozen=True)
class OtherCallback:
    """Any other command on the shared webhook URL: acknowledged and handed on, never refused."""

    command: str
    payload: dict[str, Any] = field(repr=False)


CallbackEvent = (
    SentMessage | MessageWithdrawal | AccountEvent | SubscriberEvent | BeforeEvent | OtherCallback
)


def parse_event(command: str, payload: dict[str, Any]) -> CallbackEvent:
    if command == AFTER_SEND_MSG:
        return SentMessage.from_payload(command, payload)
    if command == AFTER_MSG_WITHDRAW:
        return MessageWithdrawal.from_payload(command, payload)
    if command in ACCOUNT_CHANGES:
        return AccountEvent.from_payload(command, payload)
    if command in SUBSCRIBER_COMMANDS:
        return SubscriberEvent.from_payload(command, payload)
    if command in BEFORE_COMMANDS:  # answered by moderation's hooks
        return parse_before(command, payload)
    return OtherCallback(command=command, payload=payload)
