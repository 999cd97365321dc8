"""The app's models, one module each; imported here so that Django finds them, and so that
``officialaccount_webhook.models`` stays their public path."""

from .access import AppGrant
from .accounts import OfficialAccount, OfficialAccountQuerySet, OfficialAccountSubscriber
from .deliveries import CallbackDelivery
from .messages import OfficialAccountMessage, OfficialAccountMessageQuerySet, derived_columns
from .recalls import MessageRecall
from .tombstones import PrunedMessage

__all__ = [
    "AppGrant",
    "CallbackDelivery",
    "MessageRecall",
    "OfficialAccount",
    "OfficialAccountMessage",
    "OfficialAccountMessageQuerySet",
    "OfficialAccountQuerySet",
    "OfficialAccountSubscriber",
    "PrunedMessage",
    "derived_columns",
]
