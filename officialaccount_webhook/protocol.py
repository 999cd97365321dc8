"""Tencent's wire format for official-account callbacks, and nothing else.

This module knows Tencent's names (``SdkAppid``, ``Official_Account``, ``MsgKey``) so that the
rest of the app does not have to. It turns a request's query string and body into typed events,
raises :class:`MalformedCallback` naming the offending field, and builds the JSON envelope that
Tencent expects back. It depends on the standard library only.

Facts come from the protocol notes (webhook overview, ``CallbackAfterSendMsg``,
``CallbackAfterMsgWithDraw``); where the docs are silent the choice is explained in place.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode

AFTER_SEND_MSG = "OfficialAccount.CallbackAfterSendMsg"
AFTER_MSG_WITHDRAW = "OfficialAccount.CallbackAfterMsgWithDraw"

# Column sizes. Tencent documents no maximum for either ID; MsgKey is at most 50 characters
# according to an SDK comment, official-account IDs are short "@TOA#_..." strings. Twice the
# largest plausible value keeps real traffic safe while bounding what junk can store.
MAX_ACCOUNT_LENGTH = 128
MAX_MSG_KEY_LENGTH = 128
MAX_COMMAND_LENGTH = 128
MAX_OPT_PLATFORM_LENGTH = 64
MAX_INFO_LENGTH = 500
# Tencent's limit on a recall's Reason (protocol notes 5.2).
MAX_RECALL_REASON_BYTES = 100

# Far deeper than any message element Tencent defines (three levels), and far below the
# recursion limits of the JSON encoder and of the databases' JSON types.
MAX_NESTING_DEPTH = 64

# Every timestamp must fit in a Python datetime (year 9999 at most).
_MAX_SECONDS = 253_402_300_799

REDACTED = "[redacted]"


class CallbackError(Exception):
    """A request that cannot be accepted; carries the HTTP status and the ``ErrorInfo`` text."""

    status_code = 400

    def __init__(self, info: str) -> None:
        # Field paths come from the request; keep a hostile one from filling a response or a row.
        if len(info) > MAX_INFO_LENGTH:
            info = info[: MAX_INFO_LENGTH - 1] + "…"
        super().__init__(info)
        self.info = info


class MalformedCallback(CallbackError):
    """The body is not a well-formed callback: not JSON, or a field missing or mistyped."""

    status_code = 400

    def __init__(self, field_name: str | None, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}" if field_name else problem)


class BodyTooLarge(CallbackError):
    status_code = 413


class MethodNotAllowed(CallbackError):
    status_code = 405


class InternalError(CallbackError):
    """Our failure, not the request's; logged with its traceback where it happened."""

    status_code = 500


def success_envelope() -> dict[str, Any]:
    """The answer to every accepted callback; for a "before" command, ErrorCode 0 means allow."""
    return {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}


def failure_envelope(status_code: int, info: str) -> dict[str, Any]:
    # Tencent defines no error codes for the app's side of a callback; using the HTTP status
    # keeps the two consistent and tells an operator reading either one the same thing.
    return {"ActionStatus": "FAIL", "ErrorCode": status_code, "ErrorInfo": info}


# --------------------------------------------------------------------------- the query string


@dataclass(frozen=True)
class CallbackQuery:
    """The parameters Tencent appends to the webhook URL, parsed by name (their order varies).

    ``sdk_app_id`` is ``None`` when ``SdkAppid`` is missing or not a number. ``client_ip`` and
    ``opt_platform`` describe the event, not the request; a value that does not have their shape
    is dropped (and kept in ``redacted_query``) rather than costing the message, because they
    are metadata and Tencent does not retry.
    """

    sdk_app_id: int | None
    command: str
    sign: str = field(repr=False)
    request_time: str
    client_ip: str | None
    opt_platform: str
    redacted_query: str

    @classmethod
    def from_query_string(cls, query_string: str) -> CallbackQuery:
        # Invalid UTF-8 becomes U+FFFD (parse_qsl's default), and so does NUL, which PostgreSQL
        # cannot store: a mangled value then fails validation instead of failing the INSERT.
        pairs = [
            (name, value.replace("\x00", "\ufffd"))
            for name, value in parse_qsl(query_string, keep_blank_values=True)
        ]
        # The last value wins for a repeated name, as with Django's QueryDict.
        params = {name: value for name, value in pairs}
        return cls(
            sdk_app_id=_parse_sdk_app_id(params.get("SdkAppid", "")),
            command=params.get("CallbackCommand", ""),
            sign=params.get("Sign", ""),
            request_time=params.get("RequestTime", ""),
            client_ip=parse_ip(params.get("ClientIP", "")),
            opt_platform=_parse_opt_platform(params.get("OptPlatform", "")),
            redacted_query=urlencode(
                [(name, REDACTED if name.lower() == "sign" else value) for name, value in pairs]
            ),
        )


def _parse_sdk_app_id(value: str) -> int | None:
    # isdigit() alone accepts non-ASCII digits such as "١٢"; int() would accept "+1" and " 1".
    # Eighteen digits always fit the bigint column (SDKAppIDs have ten).
    if value.isascii() and value.isdigit() and len(value) <= 18:
        return int(value)
    return None


def parse_ip(value: str) -> str | None:
    """The address in canonical form, or None when ``value`` is not a storable IP address.

    An IPv6 zone ("fe80::1%eth0") is refused: it names an interface of the sender's machine,
    means nothing here, and PostgreSQL's inet type cannot store it.
    """
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return None
    return str(address)


def _parse_opt_platform(value: str) -> str:
    # Tencent documents a handful of values and two spellings of some; keep any short string.
    return value if len(value) <= MAX_OPT_PLATFORM_LENGTH else ""


# --------------------------------------------------------------------------- the body


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode the raw body as a JSON object, whatever Content-Type said (Tencent sends none).

    Rejects what the databases cannot store faithfully: NaN and infinities, NUL characters,
    lone surrogates, and absurd nesting.
    """
    if not raw:
        raise MalformedCallback(None, "the body is empty; expected a JSON object")
    try:
        text = raw.decode("utf-8-sig")
        payload = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError:
        raise MalformedCallback(None, "the body is not valid UTF-8") from None
    except RecursionError:
        raise MalformedCallback(None, "the body is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, and the non-finite numbers refused below
        raise MalformedCallback(None, f"the body is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise MalformedCallback(None, f"the body must be a JSON object, not {_json_type(payload)}")
    _check_storable(payload)
    return payload


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:20]} is out of range")
    # Too small for a float, it would be stored as 0.0: a number other than the one sent.
    if value == 0 and any(
        digit in text.partition("e")[0].partition("E")[0] for digit in "123456789"
    ):
        raise ValueError(f"number {text[:20]} is too small to keep")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # JSON parsers keep one of two equal keys; which one, they disagree. Refuse the ambiguity.
    payload: dict[str, Any] = {}
    for key, value in pairs:
        if key in payload:
            raise ValueError(f"the key {key!r} appears twice in one object")
        payload[key] = value
    return payload


def _check_storable(payload: dict[str, Any]) -> None:
    # Iterative so that the depth check itself cannot overflow the stack.
    stack: list[tuple[str, Any, int]] = [("", payload, 0)]
    while stack:
        path, value, depth = stack.pop()
        if depth > MAX_NESTING_DEPTH:
            raise MalformedCallback(path or None, "nested too deeply")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_string(key, path or None)
                stack.append((f"{path}.{key}" if path else key, item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value))
        elif isinstance(value, str):
            _check_string(value, path)


def _check_string(value: str, path: str | None) -> None:
    # PostgreSQL text and jsonb cannot hold U+0000, and UTF-8 cannot encode a lone surrogate
    # (JSON's "\ud800" escape); both would fail at INSERT time with an unhelpful 500.
    if "\x00" in value:
        raise MalformedCallback(path, "contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedCallback(path, "contains an unpaired surrogate") from None


def resolve_command(query_command: str, payload: Mapping[str, Any]) -> str:
    """The callback's command, from the query string and the body, which must agree."""
    body_command = payload.get("CallbackCommand")
    if body_command is not None and not isinstance(body_command, str):
        raise MalformedCallback(
            "CallbackCommand", f"must be a string, not {_json_type(body_command)}"
        )
    if query_command and body_command and query_command != body_command:
        raise MalformedCallback(
            "CallbackCommand",
            f"the query string says {query_command!r} but the body says {body_command!r}",
        )
    command = query_command or body_command
    if not command:
        raise MalformedCallback("CallbackCommand", "required in the query string or the body")
    if len(command) > MAX_COMMAND_LENGTH:
        raise MalformedCallback("CallbackCommand", f"longer than {MAX_COMMAND_LENGTH} characters")
    return command


# --------------------------------------------------------------------------- events


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
            raise _wrong_type("CloudCustomData", "a string", cloud_custom_data)
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
            raise _wrong_type("WithdrawMsgList", "an array", items)
        msg_keys = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise _wrong_type(f"WithdrawMsgList[{index}]", "an object", item)
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


# --------------------------------------------------------------------------- field helpers


def _required(payload: Mapping[str, Any], name: str, prefix: str = "") -> Any:
    if name not in payload:
        raise MalformedCallback(prefix + name, "required field is missing")
    return payload[name]


def _required_id(payload: Mapping[str, Any], name: str, max_length: int, prefix: str = "") -> str:
    value = _required(payload, name, prefix)
    if not isinstance(value, str):
        raise _wrong_type(prefix + name, "a string", value)
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
        raise _wrong_type(name, "an integer", value)
    return value


def _timestamp(payload: Mapping[str, Any], name: str, units_per_second: int) -> datetime:
    value = _require_int(_required(payload, name), name)
    if not 0 <= value <= _MAX_SECONDS * units_per_second:
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
        raise _wrong_type("MsgBody", "an array", body)
    for index, element in enumerate(body):
        if not isinstance(element, dict):
            raise _wrong_type(f"MsgBody[{index}]", "an object", element)
        msg_type = _required(element, "MsgType", f"MsgBody[{index}].")
        if not isinstance(msg_type, str):
            raise _wrong_type(f"MsgBody[{index}].MsgType", "a string", msg_type)
    return body


def _wrong_type(name: str, expected: str, value: Any) -> MalformedCallback:
    return MalformedCallback(name, f"must be {expected}, not {_json_type(value)}")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
