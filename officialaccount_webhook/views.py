"""The webhook's view, at its public path: ``from officialaccount_webhook.views import
CallbackView``. It lives in ``officialaccount_webhook.webhook.views``, with the rest of the
webhook."""

from .webhook.views import CallbackView

__all__ = ["CallbackView"]
