"""The recall service, at its public path: ``from officialaccount_webhook.recall import
recall_messages``. It lives in ``officialaccount_webhook.messages.recall``, with the other
services on stored messages."""

from .messages.recall import *  # noqa: F403  (the same names, by design)
from .messages.recall import __all__ as __all__
