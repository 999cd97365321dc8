"""The app's settings: one dict, ``settings.OFFICIALACCOUNT_WEBHOOK``, read by ``get_settings()``.

Every caller goes through :func:`get_settings`, which reads Django's settings at call time, so
``override_settings`` works in tests. The parsed result is reused for as long as the same dict
object stays in place; replacing the dict (as ``override_settings`` does) parses it again.
Mutating the dict in place after startup is not supported.

Example::

    OFFICIALACCOUNT_WEBHOOK = {
        "APPS": {
            1400000000: {
                "CALLBACK_TOKENS": ["new-token", "old-token"],
                "SECRET_KEY": env("TENCENT_CHAT_SECRET_KEY"),
                "ADMIN_IDENTIFIER": "administrator",
                "REGION": "singapore",
            },
        },
        "REQUEST_TIME_SKEW": 60,
        "MAX_BODY_SIZE": 1024 * 1024,
        "REST_RATE_LIMIT": 100,
        "SPOOL_DIR": "/var/spool/officialaccount",
        "SIGNAL_MODE": "on_commit",
    }
"""

from __future__ import annotations

import threading

# No submodule here may be named ``settings``: importing it would rebind this module's
# ``settings``, Django's, to it.
from django.conf import settings

from .parse import parse_settings
from .schema import (
    DEFAULT_ADMIN_IDENTIFIER,
    DEFAULT_DELIVERY_RETENTION_DAYS,
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_OTHER_COMMAND_BODY_RETENTION_DAYS,
    DEFAULT_REQUEST_TIME_SKEW,
    DEFAULT_REST_CONNECT_TIMEOUT,
    DEFAULT_REST_MAX_RETRIES,
    DEFAULT_REST_RATE_LIMIT,
    DEFAULT_REST_READ_TIMEOUT,
    DEFAULT_REST_RETRY_BACKOFF,
    DEFAULT_SPOOL_MAX_ATTEMPTS,
    DEFAULT_TASK_BACKEND,
    DEFAULT_TASK_QUEUE,
    DEFAULT_TOMBSTONE_RETENTION_DAYS,
    SETTINGS_NAME,
    SIGNAL_MODE_ON_COMMIT,
    SIGNAL_MODE_TASK,
    SIGNAL_MODES,
    RestSettings,
    TencentApp,
    WebhookSettings,
)

_cache_lock = threading.Lock()
_cache: tuple[object, WebhookSettings] | None = None


def get_settings() -> WebhookSettings:
    """Return the parsed ``OFFICIALACCOUNT_WEBHOOK`` setting.

    Raises ``ImproperlyConfigured`` with the offending key when the setting is malformed.
    """
    global _cache
    raw = getattr(settings, SETTINGS_NAME, None)
    cached = _cache
    if cached is not None and cached[0] is raw:
        return cached[1]
    parsed = parse_settings(raw)
    with _cache_lock:
        _cache = (raw, parsed)
    return parsed


__all__ = [
    "DEFAULT_ADMIN_IDENTIFIER",
    "DEFAULT_DELIVERY_RETENTION_DAYS",
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_OTHER_COMMAND_BODY_RETENTION_DAYS",
    "DEFAULT_REQUEST_TIME_SKEW",
    "DEFAULT_REST_CONNECT_TIMEOUT",
    "DEFAULT_REST_MAX_RETRIES",
    "DEFAULT_REST_RATE_LIMIT",
    "DEFAULT_REST_READ_TIMEOUT",
    "DEFAULT_REST_RETRY_BACKOFF",
    "DEFAULT_SPOOL_MAX_ATTEMPTS",
    "DEFAULT_TASK_BACKEND",
    "DEFAULT_TASK_QUEUE",
    "DEFAULT_TOMBSTONE_RETENTION_DAYS",
    "SETTINGS_NAME",
    "SIGNAL_MODES",
    "SIGNAL_MODE_ON_COMMIT",
    "SIGNAL_MODE_TASK",
    "RestSettings",
    "TencentApp",
    "WebhookSettings",
    "get_settings",
    "parse_settings",
]
