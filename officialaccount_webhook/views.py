"""The webhook's view, at its public path: ``from officialaccount_webhook.views import
CallbackView``. It lives in ``officialaccount_webhook.webhook.views``, with the rest of the
webhook."""

from .webhook.views import AlwaysJSON, CallbackView

__all__ = ["AlwaysJSON", "CallbackView"]
