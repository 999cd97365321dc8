"""Deprecated path: the recall service lives in ``officialaccount_webhook.messages.recall``;
its public names stay importable from here (docs/upgrading.md)."""

from .messages.recall import (
    MAX_KEYS_PER_CALL,
    MessageRef,
    RecallError,
    RecallOutcome,
    Status,
    check_reason,
    recall_messages,
)

__all__ = [
    "MAX_KEYS_PER_CALL",
    "MessageRef",
    "RecallError",
    "RecallOutcome",
    "Status",
    "check_reason",
    "recall_messages",
]
