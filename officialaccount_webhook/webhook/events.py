"""Callback bodies as typed events: one dataclass per command this app understands."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .wire import (
    AFTER_MSG_WITHDRAW,
    AFTER_SEND_MSG,
    MAX_ACCOUNT_LENGTH,
    MAX_MSG_KEY_LENGTH,
    MAX_SECONDS,
    MalformedCallback,
    wrong_type,
)


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
        online_only_flag = payload.get("OnlineOnlyFlag", 0)
        _require_int(online_only_flag, "OnlineOnlyFlag")
        cloud_custom_data = payload.get("CloudCustomData")
        if cloud_custom_data is not None and not isinstance(cloud_custom_data, str):
            raise wrong_type("CloudCustomData", "a string", cloud_custom_data)
        return cls(
            command=command,
            official_account=_required_id(payload, "Official_Account", MAX_ACCOUNT_LENGTH),
            msg_key=_required_id(payload, "MsgKey", MAX_MSG_KEY_LENGTH),
            msg_time=_timestamp(payload, "MsgTime", 1),
            online_only=online_only_flag == 1,
            msg_body=_msg_body(payload),
            cloud_custom_data=cloud_custom_data or "",
            event_time=_timestamp(payload, "EventTime", 1000),
            extra={key: value for key, value in payload.items() if key not in cls._DOCUMENTED},
            payload=payload,
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
        official_account = _required_id(payload, "Official_Account", MAX_ACCOUNT_LENGTH)
        items = _required(payload, "WithdrawMsgList")
        if not isinstance(items, list):
            raise wrong_type("WithdrawMsgList", "an array", items)
        msg_keys = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise wrong_type(f"WithdrawMsgList[{index}]", "an object", item)
            msg_keys.append(
                _required_id(item, "MsgKey", MAX_MSG_KEY_LENGTH, f"WithdrawMsgList[{index}].")
            )
        return cls(
            command=command,
            official_account=official_account,
            msg_keys=tuple(dict.fromkeys(msg_keys)),
            payload=payload,
        )


@dataclass(frozen=True)
class OtherCallback:
    """Any other command on the shared webhook URL: acknowledged and handed on, never refused."""

    command: str
    payload: dict[str, Any] = field(repr=False)


CallbackEvent = SentMessage | MessageWithdrawal | OtherCallback


def parse_event(command: str, payload: dict[str, Any]) -> CallbackEvent:
    if command == AFTER_SEND_MSG:
        return SentMessage.from_payload(command, payload)
    if command == AFTER_MSG_WITHDRAW:
        return MessageWithdrawal.from_payload(command, payload)
    return OtherCallback(command=command, payload=payload)


def _required(payload: Mapping[str, Any], name: str, prefix: str = "") -> Any:
    if name not in payload:
        raise MalformedCallback(prefix + name, "required field is missing")
    return payload[name]


def _required_id(payload: Mapping[str, Any], name: str, max_length: int, prefix: str = "") -> str:
    value = _required(payload, name, prefix)
    if not isinstance(value, str):
        raise wrong_type(prefix + name, "a string", value)
    if not value:
        raise MalformedCallback(prefix + name, "must not be empty")
    if len(value) > max_length:
        raise MalformedCallback(prefix + name, f"longer than {max_length} characters")
    return value


def _require_int(value: Any, name: str) -> int:
    if isinstance(value, float):
        # "not a number" would read as a contradiction: name the value instead.
        raise MalformedCallback(name, f"must be an integer, not {value!r}")
    # bool is an int in Python but not in JSON: true is not a timestamp.
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(name, "an integer", value)
    return value


def _timestamp(payload: Mapping[str, Any], name: str, units_per_second: int) -> datetime:
    value = _require_int(_required(payload, name), name)
    if not 0 <= value <= MAX_SECONDS * units_per_second:
        # The likeliest mistake is the unit (MsgTime is in seconds, EventTime in ms): say it.
        unit = "seconds" if units_per_second == 1 else "milliseconds"
        raise MalformedCallback(name, f"{value} is out of range for a Unix time in {unit}")
    seconds, fraction = divmod(value, units_per_second)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(
        microsecond=fraction * (1_000_000 // units_per_second)
    )


def _msg_body(payload: Mapping[str, Any]) -> list[Any]:
    body = _required(payload, "MsgBody")
    if not isinstance(body, list):
        raise wrong_type("MsgBody", "an array", body)
    for index, element in enumerate(body):
        if not isinstance(element, dict):
            raise wrong_type(f"MsgBody[{index}]", "an object", element)
        msg_type = _required(element, "MsgType", f"MsgBody[{index}].")
        if not isinstance(msg_type, str):
            raise wrong_type(f"MsgBody[{index}].MsgType", "a string", msg_type)
    return body
