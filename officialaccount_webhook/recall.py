"""The recall service, at its public path: ``from officialaccount_webhook.recall import
recall_messages``. It lives in ``officialaccount_webhook.messages.recall``, with the other
services on stored messages."""

from .messages.recall import (
    MAX_KEYS_PER_CALL,
    REQUESTED_BY_LENGTH,
    MessageRef,
    RecallError,
    RecallOutcome,
    Status,
    check_reason,
    recall_messages,
)

__all__ = [
    "MAX_KEYS_PER_CALL",
    "REQUESTED_BY_LENGTH",
    "MessageRef",
    "RecallError",
    "RecallOutcome",
    "Status",
    "check_reason",
    "recall_messages",
]
