"""Callback authentication: is this request from Tencent, for an app we serve?

Tencent's scheme (protocol notes 1.5): the URL carries ``SdkAppid``, and, when webhook
authentication is on, ``RequestTime`` (Unix seconds) and ``Sign``, the lower-case hex
``sha256(token + RequestTime)``. The signature covers neither the body nor the command, so a
captured URL can be replayed with any body for as long as its ``RequestTime`` is accepted; the
skew window is what bounds that, and storage is idempotent on the message key besides.

Pure functions: no request object, no clock of their own, so every edge can be tested alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping

from ..conf import TencentApp
from .query import CallbackQuery
from .wire import CallbackError

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,15}")


class AuthenticationFailed(CallbackError):
    """The request cannot be shown to come from Tencent for a configured app."""

    status_code = 403


def compute_sign(token: str, request_time: str) -> str:
    """Tencent's ``Sign``: plain SHA-256 (not HMAC) of the token followed by ``RequestTime``."""
    return hashlib.sha256(f"{token}{request_time}".encode()).hexdigest()


def authenticate(
    query: CallbackQuery,
    apps: Mapping[int, TencentApp],
    *,
    now: int,
    skew: int,
) -> TencentApp:
    """Return the configured app this callback is for, or raise :class:`AuthenticationFailed`.

    An app with no callback token accepts unsigned callbacks (the system checks warn about
    that outside DEBUG). With tokens, ``Sign`` must match one of them, so a token can be
    rotated without downtime, and ``RequestTime`` must lie within ``skew`` seconds of ``now``,
    both edges included.
    """
    if query.sdk_app_id is None:
        raise AuthenticationFailed("SdkAppid is missing or not a number")
    app = apps.get(query.sdk_app_id)
    if app is None:
        raise AuthenticationFailed(f"SdkAppid {query.sdk_app_id} is not configured")
    if not app.callback_tokens:
        return app
    if not query.sign:
        raise AuthenticationFailed("Sign is missing")
    if not query.request_time:
        raise AuthenticationFailed("RequestTime is missing")
    if not _UNIX_SECONDS.fullmatch(query.request_time):
        raise AuthenticationFailed("RequestTime is not a Unix time in seconds")
    if not sign_matches(query.sign, query.request_time, app.callback_tokens):
        raise AuthenticationFailed("Sign does not match any configured token")
    drift = now - int(query.request_time)
    if abs(drift) > skew:
        raise AuthenticationFailed(
            f"RequestTime is {abs(drift)} s in the {'past' if drift > 0 else 'future'}, "
            f"outside the {skew} s window"
        )
    return app


def sign_matches(sign: str, request_time: str, tokens: tuple[str, ...]) -> bool:
    # Hex is case-insensitive; Tencent sends lower case, and upper case names the same digest.
    if not _HEX_SHA256.fullmatch(sign):
        return False
    sign = sign.lower()
    matched = False
    # Every token is compared, in constant time, so timing reveals neither which token
    # matched nor how much of the digest did.
    for token in tokens:
        matched |= hmac.compare_digest(compute_sign(token, request_time), sign)
    return matched
