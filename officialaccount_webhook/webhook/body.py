"""The callback's body: raw bytes to a JSON object a database can store, and its command."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .wire import MAX_COMMAND_LENGTH, MAX_NESTING_DEPTH, MalformedCallback, json_type


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
        raise MalformedCallback(None, f"the body must be a JSON object, not {json_type(payload)}")
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
            "CallbackCommand", f"must be a string, not {json_type(body_command)}"
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
