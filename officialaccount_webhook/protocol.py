"""Tencent's wire format, at the path it had before the webhook's room: it lives in
``officialaccount_webhook.webhook`` (``wire``, ``query``, ``body``, ``events``; docs/upgrading.md).
"""

from .redaction import REDACTED
from .webhook.body import parse_body, resolve_command
from .webhook.events import (
    CallbackEvent,
    MessageWithdrawal,
    OtherCallback,
    SentMessage,
    parse_event,
)
from .webhook.query import CallbackQuery, parse_ip
from .webhook.wire import (
    AFTER_MSG_WITHDRAW,
    AFTER_SEND_MSG,
    MAX_ACCOUNT_LENGTH,
    MAX_COMMAND_LENGTH,
    MAX_INFO_LENGTH,
    MAX_MSG_KEY_LENGTH,
    MAX_NESTING_DEPTH,
    MAX_OPT_PLATFORM_LENGTH,
    MAX_RECALL_REASON_BYTES,
    BodyTooLarge,
    CallbackError,
    InternalError,
    MalformedCallback,
    MethodNotAllowed,
    failure_envelope,
    success_envelope,
)

__all__ = [
    "AFTER_MSG_WITHDRAW",
    "AFTER_SEND_MSG",
    "MAX_ACCOUNT_LENGTH",
    "MAX_COMMAND_LENGTH",
    "MAX_INFO_LENGTH",
    "MAX_MSG_KEY_LENGTH",
    "MAX_NESTING_DEPTH",
    "MAX_OPT_PLATFORM_LENGTH",
    "MAX_RECALL_REASON_BYTES",
    "REDACTED",
    "BodyTooLarge",
    "CallbackError",
    "CallbackEvent",
    "CallbackQuery",
    "InternalError",
    "MalformedCallback",
    "MessageWithdrawal",
    "MethodNotAllowed",
    "OtherCallback",
    "SentMessage",
    "failure_envelope",
    "parse_body",
    "parse_event",
    "parse_ip",
    "resolve_command",
    "success_envelope",
]
