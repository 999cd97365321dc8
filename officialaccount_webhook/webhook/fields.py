"""Reading one field of a callback body: strictly where a value's meaning is in doubt, leniently
where it is not, and always saying what was repaired.

Tencent does not send a callback twice, so a refusal loses a message. A value whose meaning is
unambiguous is therefore repaired, and the repair noted (``Repairs``, stored with the message
and shown in the admin and the API): an integer sent as a decimal string (Tencent's own samples
for other callbacks print integers as strings), ``OnlineOnlyFlag`` as a JSON boolean,
``CloudCustomData`` that is not a string (kept as its compact JSON text), and an ``EventTime``
too small to be in milliseconds (taken as seconds). Anything else of the wrong shape is still
refused with the field named: a MsgKey that is not a non-empty string, a MsgBody that is not an
array, a number with a fraction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .wire import MAX_SECONDS, MalformedCallback, wrong_type

Repairs = list[str]
"""The notes of one event's repairs, in the order they were made."""

# At most 19 ASCII digits: no sign, no space, no "1e3", no Arabic-Indic digits.
_DECIMAL = re.compile(r"[0-9]{1,19}")
# An EventTime below this is before 1973 in milliseconds, and after 5138 in seconds: it can
# only be seconds (the callbacks this app knows began in the 2020s).
_MILLISECONDS_FROM = 10**11
# A note quotes at most this much of the value it repaired.
_QUOTE = 40


def required(payload: Mapping[str, Any], name: str, prefix: str = "") -> Any:
    if name not in payload:
        raise MalformedCallback(prefix + name, "required field is missing")
    return payload[name]


def required_id(payload: Mapping[str, Any], name: str, max_length: int, prefix: str = "") -> str:
    value = required(payload, name, prefix)
    if not isinstance(value, str):
        raise wrong_type(prefix + name, "a string", value)
    if not value:
        raise MalformedCallback(prefix + name, "must not be empty")
    if len(value) > max_length:
        raise MalformedCallback(prefix + name, f"longer than {max_length} characters")
    return value


def id_list(payload: Mapping[str, Any], name: str, key: str, max_length: int) -> tuple[str, ...]:
    """The IDs of a required array of objects, ``[{key: id}, ...]`` (``WithdrawMsgList``,
    ``SubscribeAccountList``), each once, in order; the refusal names the item at fault."""
    items = required(payload, name)
    if not isinstance(items, list):
        raise wrong_type(name, "an array", items)
    ids = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise wrong_type(f"{name}[{index}]", "an object", item)
        ids.append(required_id(item, key, max_length, f"{name}[{index}]."))
    return tuple(dict.fromkeys(ids))


def integer(value: Any, name: str, repairs: Repairs) -> int:
    """An integer, or a decimal string of one (noted)."""
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        repairs.append(f"{name}: the string {value!r} read as the integer {int(value)}")
        return int(value)
    if isinstance(value, float):
        # "not a number" would read as a contradiction: name the value instead.
        raise MalformedCallback(name, f"must be an integer, not {value!r}")
    # bool is an int in Python but not in JSON: true is not a timestamp.
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type(name, "an integer", value)
    return value


def timestamp(
    payload: Mapping[str, Any], name: str, units_per_second: int, repairs: Repairs
) -> datetime:
    value = integer(required(payload, name), name, repairs)
    if units_per_second == 1000 and 0 < value < _MILLISECONDS_FROM:
        repairs.append(f"{name}: {value} is too small for milliseconds; taken as seconds")
        value *= 1000
    if not 0 <= value <= MAX_SECONDS * units_per_second:
        # The likeliest mistake is the unit (MsgTime is in seconds, EventTime in ms): say it.
        unit = "seconds" if units_per_second == 1 else "milliseconds"
        raise MalformedCallback(name, f"{value} is out of range for a Unix time in {unit}")
    seconds, fraction = divmod(value, units_per_second)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(
        microsecond=fraction * (1_000_000 // units_per_second)
    )


def flag(payload: Mapping[str, Any], name: str, repairs: Repairs) -> bool:
    """An optional 0/1 flag (absent: 0); a JSON boolean is read as one (noted)."""
    value = payload.get(name, 0)
    if isinstance(value, bool):
        repairs.append(f"{name}: the boolean {json.dumps(value)} read as {int(value)}")
        return value
    return integer(value, name, repairs) == 1


def optional_text(payload: Mapping[str, Any], name: str, repairs: Repairs) -> str:
    """An optional string (absent or null: empty); any other JSON value is kept as its compact
    JSON text (noted), since its meaning is the same data either way."""
    value = payload.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    quoted = text if len(text) <= _QUOTE else text[: _QUOTE - 1] + "…"
    repairs.append(f"{name}: a JSON value, not a string, kept as its JSON text {quoted}")
    return text


def msg_body(payload: Mapping[str, Any]) -> list[Any]:
    body = required(payload, "MsgBody")
    if not isinstance(body, list):
        raise wrong_type("MsgBody", "an array", body)
    for index, element in enumerate(body):
        if not isinstance(element, dict):
            raise wrong_type(f"MsgBody[{index}]", "an object", element)
        msg_type = required(element, "MsgType", f"MsgBody[{index}].")
        if not isinstance(msg_type, str):
            raise wrong_type(f"MsgBody[{index}].MsgType", "a string", msg_type)
    return body
