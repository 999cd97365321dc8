"""Tencent's callback contract: command names, field limits, refusals and the answer envelope.

This package (``webhook``) is the only place that knows Tencent's names (``SdkAppid``,
``Official_Account``, ``MsgKey``), so that the rest of the app does not have to. This module
holds what the others share; ``query``, ``body`` and ``events`` turn a request into a typed
event. Standard library only.

Facts come from the protocol notes (webhook overview, ``CallbackAfterSendMsg``,
``CallbackAfterMsgWithDraw``); where the docs are silent the choice is explained in place.
"""

from __future__ import annotations

from typing import Any

AFTER_SEND_MSG = "OfficialAccount.CallbackAfterSendMsg"
AFTER_MSG_WITHDRAW = "OfficialAccount.CallbackAfterMsgWithDraw"
# Every official-account callback's command starts so; the shared webhook URL also receives
# other products' (C2C.*, Group.*), which are not this app's data.
OWN_COMMAND_PREFIX = "OfficialAccount."

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
MAX_SECONDS = 253_402_300_799


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


def wrong_type(name: str, expected: str, value: Any) -> MalformedCallback:
    return MalformedCallback(name, f"must be {expected}, not {json_type(value)}")


def json_type(value: Any) -> str:
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
