"""Deprecated path: the webhook's view lives in ``officialaccount_webhook.webhook.views``;
``CallbackView`` stays importable from here (docs/upgrading.md)."""

from .webhook.views import CallbackView

__all__ = ["CallbackView"]
