"""The app's models, one module each; imported here so that Django finds them, and so that
``officialaccount_webhook.models`` stays their public path."""

from .access import AppGrant
from .accounts import OfficialAccount, OfficialAccountQuerySet, OfficialAccountSubscriber
from .deliveries import CallbackDelivery
from .messages import (
    ELEMENT_TYPES_LENGTH,
    OfficialAccountMessage,
    OfficialAccountMessageQuerySet,
    derived_columns,
)
from .moderation import DenyListEntry, KeywordRule, ModerationDecision
from .recalls import MessageRecall
from .sending import ScheduledSend, SendIdempotencyKey
from .tombstones import PrunedMessage
from .volume import MessageVolume, MessageVolumeState

__all__ = [
    "ELEMENT_TYPES_LENGTH",
    "AppGrant",
    "CallbackDelivery",
    "DenyListEntry",
    "KeywordRule",
    "MessageRecall",
    "MessageVolume",
    "MessageVolumeState",
    "ModerationDecision",
    "OfficialAccount",
    "OfficialAccountMessage",
    "OfficialAccountMessageQuerySet",
    "OfficialAccountQuerySet",
    "OfficialAccountSubscriber",
    "PrunedMessage",
    "ScheduledSend",
    "SendIdempotencyKey",
    "derived_columns",
]
