"""System checks on how the webhook authenticates callbacks: which apps can receive any, which
accept unsigned ones, and the RequestTime window. ``checks.check_settings`` runs them with the
others (IDs are stable; docs/settings.md lists them), and the app's ``ready`` logs the
unsigned apps once per process, since checks do not run under a WSGI server.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning
from django.utils.translation import gettext as _

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
                _("%(setting)s configures no Tencent Chat app, so every callback is refused.")
                % {"setting": SETTINGS_NAME},
                hint=_("Add your SDKAppID under %(setting)s['APPS'].") % {"setting": SETTINGS_NAME},
                id="officialaccount_webhook.W001",
            )
        ]
    messages: list[CheckMessage] = [
        # Fail closed: a missing token no longer opens the webhook, it shuts this app out.
        Warning(
            _(
                "Tencent Chat app %(app)s has no callback token and does not accept unsigned "
                "callbacks: every callback for it is refused."
            )
            % {"app": app.sdk_app_id},
            hint=_(
                "Enable webhook authentication in the Tencent Chat console and put its token in "
                "%(setting)s['APPS'][%(app)s]['CALLBACK_TOKENS'] (for a local trial with DEBUG "
                "on: 'ACCEPT_UNSIGNED': True). An app that only calls Tencent's REST API can "
                "ignore this."
            )
            % {"setting": SETTINGS_NAME, "app": app.sdk_app_id},
            id="officialaccount_webhook.W002",
        )
        for app in conf.apps.values()
        if not app.callback_tokens and not app.accept_unsigned
    ]
    if not settings.DEBUG:
        messages.extend(
            Error(
                _(
                    "Tencent Chat app %(app)s accepts unsigned callbacks (ACCEPT_UNSIGNED) while "
                    "DEBUG is off: anyone who knows the webhook URL can post messages to it."
                )
                % {"app": app.sdk_app_id},
                hint=_(
                    "Enable webhook authentication in the Tencent Chat console, put its token "
                    "in %(setting)s['APPS'][%(app)s]['CALLBACK_TOKENS'], and keep "
                    "ACCEPT_UNSIGNED for local trials with DEBUG on."
                )
                % {"setting": SETTINGS_NAME, "app": app.sdk_app_id},
                id="officialaccount_webhook.E003",
            )
            for app in unsigned_apps(conf)
        )
    return messages


def check_skew(conf: WebhookSettings) -> list[CheckMessage]:
    skew = conf.request_time_skew
    if MIN_SENSIBLE_SKEW <= skew <= MAX_SENSIBLE_SKEW:
        return []
    if skew < MIN_SENSIBLE_SKEW:
        message = _(
            "%(setting)s['REQUEST_TIME_SKEW'] is %(skew)s seconds: genuine callbacks delayed by "
            "the network or a drifting clock will be refused."
        )
    else:
        message = _(
            "%(setting)s['REQUEST_TIME_SKEW'] is %(skew)s seconds: a captured callback URL can "
            "be replayed for that long."
        )
    return [
        Warning(
            message % {"setting": SETTINGS_NAME, "skew": skew},
            hint=_(
                "Use a value between %(min)s and %(max)s; the default, %(default)s, is a "
                "minute. Keep the server's clock synchronised (NTP) rather than widening the "
                "window."
            )
            % {
                "min": MIN_SENSIBLE_SKEW,
                "max": MAX_SENSIBLE_SKEW,
                "default": DEFAULT_REQUEST_TIME_SKEW,
            },
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
