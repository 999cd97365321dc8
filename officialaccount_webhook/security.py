"""Deprecated path: callback authentication lives in ``officialaccount_webhook.webhook.auth``;
its public names stay importable from here (docs/upgrading.md)."""

from .webhook.auth import AuthenticationFailed, authenticate, compute_sign, sign_matches

__all__ = ["AuthenticationFailed", "authenticate", "compute_sign", "sign_matches"]
