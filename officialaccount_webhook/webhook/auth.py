"""Callback authentication: is this request from Tencent, for an app we serve?

Tencent's scheme (protocol notes 1.5): the URL carries ``SdkAppid``, and, when webhook
authentication is on, ``RequestTime`` (Unix seconds) and ``Sign``, the lower-case hex
``sha256(token + RequestTime)``. The signature covers neither the body nor the command, so a
captured URL can be replayed with any body for as long as its ``RequestTime`` is accepted; the
skew window is what bounds that, and storage is idempotent on the message key besides.

Everything here reads the query string and the source address only, so that the view can
decide before it reads a byte of the body. It fails closed: an app with no token refuses every
callback unless its settings accept unsigned ones in so many words (``ACCEPT_UNSIGNED``).

Pure functions: no request object, no clock of their own, so every edge can be tested alone.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Mapping

from ..conf import TencentApp
from .query import CallbackQuery
from .wire import CallbackError

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_UNIX_SECONDS = re.compile(r"[0-9]{1,15}")

# What the caller is told of any refusal made before its Sign is shown to be right. Naming
# the reason (an unknown SdkAppid, a wrong Sign, a source outside the allow-list) would tell
# someone probing the URL which apps exist and what to try next; the delivery record and the
# log line keep the reason for the operator.
GENERIC_REFUSAL = "authentication failed"


class AuthenticationFailed(CallbackError):
    """The request cannot be shown to come from Tencent for a configured app.

    ``info`` is the real reason, for the delivery record and the log; ``answer`` is what the
    caller is told: :data:`GENERIC_REFUSAL`, unless ``tell_caller`` (only once the Sign has
    matched, when the caller knows the token, or replays a URL that did).
    """

    status_code = 403

    def __init__(self, reason: str, *, tell_caller: bool = False) -> None:
        super().__init__(reason)
        self.answer = self.info if tell_caller else GENERIC_REFUSAL


def compute_sign(token: str, request_time: str) -> str:
    """Tencent's ``Sign``: plain SHA-256 (not HMAC) of the token followed by ``RequestTime``."""
    return hashlib.sha256(f"{token}{request_time}".encode()).hexdigest()


def authenticate(
    query: CallbackQuery,
    apps: Mapping[int, TencentApp],
    *,
    now: int,
    skew: int,
    source: str | None = None,
) -> TencentApp:
    """Return the configured app this callback is for, or raise :class:`AuthenticationFailed`.

    In order: the app must be configured; ``source`` (the client's address, resolved through
    ``TRUSTED_PROXIES``) must lie in its ``allowed_networks`` when it has any; then, with
    tokens, ``Sign`` must match one of them (so a token can be rotated without downtime) and
    ``RequestTime`` must lie within ``skew`` seconds of ``now``, both edges included. An app
    with no token is refused unless it has ``accept_unsigned``, which its tokens override.
    """
    if query.sdk_app_id is None:
        raise AuthenticationFailed("SdkAppid is missing or not a number")
    app = apps.get(query.sdk_app_id)
    if app is None:
        raise AuthenticationFailed(f"SdkAppid {query.sdk_app_id} is not configured")
    if app.allowed_networks and not source_allowed(source, app):
        raise AuthenticationFailed(
            f"source address {source or 'unknown'} is not in ALLOWED_NETWORKS of SdkAppid "
            f"{app.sdk_app_id}"
        )
    if not app.callback_tokens:
        if app.accept_unsigned:
            return app
        raise AuthenticationFailed(
            f"SdkAppid {app.sdk_app_id} has no callback token and does not accept unsigned "
            "callbacks (ACCEPT_UNSIGNED)"
        )
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
        # The Sign matched, so this is Tencent (or a replay of what Tencent sent): saying how
        # far apart the clocks are lets whoever reads Tencent's log see a skewed clock at once.
        raise AuthenticationFailed(
            f"RequestTime is {abs(drift)} s in the {'past' if drift > 0 else 'future'}, "
            f"outside the {skew} s window: this server's clock is {abs(drift)} s "
            f"{'ahead of' if drift > 0 else 'behind'} RequestTime",
            tell_caller=True,
        )
    return app


def source_allowed(source: str | None, app: TencentApp) -> bool:
    """Whether ``source`` lies in one of the app's ``allowed_networks`` (an unknown or
    malformed address lies in none)."""
    if source is None:
        return False
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # "::ffff:203.0.113.7" is how a dual-stack socket shows an IPv4 client.
        address = address.ipv4_mapped
    return any(address in network for network in app.allowed_networks)


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
