"""System checks on how the webhook authenticates callbacks: which apps can receive any, which
accept unsigned ones, and the RequestTime window. ``checks.check_settings`` runs them with the
others (IDs are stable; docs/settings.md lists them), and the app's ``ready`` logs the
unsigned apps once per process, since checks do not run under a WSGI server.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning

from .conf import SETTINGS_NAME, TencentApp, WebhookSettings
from .conf.schema import DEFAULT_REQUEST_TIME_SKEW, MAX_SENSIBLE_REQUEST_TIME_SKEW

logger = logging.getLogger(__name__)

# Below this, ordinary network delay and clock drift reject genuine callbacks.
MIN_SENSIBLE_SKEW = 5
# Above this, a captured callback URL stays replayable for far longer than delivery
# needs (conf.schema).
MAX_SENSIBLE_SKEW = MAX_SENSIBLE_REQUEST_TIME_SKEW


def unsigned_apps(conf: WebhookSettings) -> list[TencentApp]:
    """The apps whose callbacks are accepted without a Sign: no token, and ACCEPT_UNSIGNED
    (which a token overrides)."""
    return [app for app in conf.apps.values() if not app.callback_tokens and app.accept_unsigned]


def check_apps(conf: WebhookSettings) -> list[CheckMessage]:
    if not conf.apps:
        return [
            Warning(
                f"{SETTINGS_NAME} configures no Tencent Chat app, so every callback is refused.",
                hint=f"Add your SDKAppID under {SETTINGS_NAME}['APPS'].",
                id="officialaccount_webhook.W001",
            )
        ]
    messages: list[CheckMessage] = [
        # Fail closed: a missing token no longer opens the webhook, it shuts this app out.
        Warning(
            f"Tencent Chat app {app.sdk_app_id} has no callback token and does not accept "
            "unsigned callbacks: every callback for it is refused.",
            hint="Enable webhook authentication in the Tencent Chat console and put its token "
            f"in {SETTINGS_NAME}['APPS'][{app.sdk_app_id}]['CALLBACK_TOKENS'] (for a local "
            "trial with DEBUG on: 'ACCEPT_UNSIGNED': True). An app that only calls Tencent's "
            "REST API can ignore this.",
            id="officialaccount_webhook.W002",
        )
        for app in conf.apps.values()
        if not app.callback_tokens and not app.accept_unsigned
    ]
    if not settings.DEBUG:
        messages.extend(
            Error(
                f"Tencent Chat app {app.sdk_app_id} accepts unsigned callbacks "
                "(ACCEPT_UNSIGNED) while DEBUG is off: anyone who knows the webhook URL can "
                "post messages to it.",
                hint="Enable webhook authentication in the Tencent Chat console, put its token "
                f"in {SETTINGS_NAME}['APPS'][{app.sdk_app_id}]['CALLBACK_TOKENS'], and keep "
                "ACCEPT_UNSIGNED for local trials with DEBUG on.",
                id="officialaccount_webhook.E003",
            )
            for app in unsigned_apps(conf)
        )
    return messages


def check_skew(conf: WebhookSettings) -> list[CheckMessage]:
    skew = conf.request_time_skew
    if MIN_SENSIBLE_SKEW <= skew <= MAX_SENSIBLE_SKEW:
        return []
    effect = (
        "genuine callbacks delayed by the network or a drifting clock will be refused"
        if skew < MIN_SENSIBLE_SKEW
        else "a captured callback URL can be replayed for that long"
    )
    return [
        Warning(
            f"{SETTINGS_NAME}['REQUEST_TIME_SKEW'] is {skew} seconds: {effect}.",
            hint=f"Use a value between {MIN_SENSIBLE_SKEW} and {MAX_SENSIBLE_SKEW}; the "
            f"default, {DEFAULT_REQUEST_TIME_SKEW}, is a minute. Keep the "
            "server's clock synchronised (NTP) rather than widening the window.",
            id="officialaccount_webhook.W004",
        )
    ]


def log_unsigned_apps(conf: WebhookSettings) -> None:
    """Say, in the server's log, which apps take callbacks that nobody signed."""
    for app in unsigned_apps(conf):
        logger.warning(
            "Tencent Chat app %s accepts unsigned callbacks (ACCEPT_UNSIGNED, no callback "
            "token): anyone who can reach the webhook URL can post messages for it. Use this "
            "for local trials only.",
            app.sdk_app_id,
        )
