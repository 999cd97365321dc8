"""Callback authentication, at the path it had before the webhook's room: it lives in
``officialaccount_webhook.webhook.auth`` (docs/upgrading.md)."""

from .webhook.auth import AuthenticationFailed, authenticate, compute_sign, sign_matches

__all__ = ["AuthenticationFailed", "authenticate", "compute_sign", "sign_matches"]
