"""System checks. Errors for what makes every callback fail or loses callbacks that the
settings promise to keep; warnings for what a project may choose on purpose (starting half
configured, no spool).

IDs are stable; docs/settings.md lists them. The webhook's authentication checks (W001, W002,
E003, W004) are in ``checks_webhook``, the task mode's (W010 to W012) in ``checks_tasks``, the
REST API's (W014) in ``api.checks``.
Messages and hints speak the active language (the project's ``LANGUAGE_CODE`` under
``manage.py``); setting names, IDs and code stay as written.
"""

from __future__ import annotations

import os
from typing import Any

from django.apps import apps as django_apps
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.utils.translation import gettext as _

from .checks_tasks import check_signal_mode

# MIN_SENSIBLE_SKEW and MAX_SENSIBLE_SKEW were defined here before the webhook's checks moved.
from .checks_webhook import MAX_SENSIBLE_SKEW as MAX_SENSIBLE_SKEW
from .checks_webhook import MIN_SENSIBLE_SKEW as MIN_SENSIBLE_SKEW
from .checks_webhook import check_apps, check_skew
from .conf import SETTINGS_NAME, WebhookSettings, get_settings
from .tencent.client import base_url_for
from .webhook import spool, spooling


@register(Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        conf = get_settings()
    except ImproperlyConfigured as exc:
        # Every callback fails while this stands, and Tencent does not send them again.
        return [
            Error(
                str(exc),
                hint=_("Until this is fixed, the webhook answers every callback with a 500."),
                id="officialaccount_webhook.E001",
            )
        ]
    return [
        # How callbacks are authenticated: checks_webhook.
        *check_apps(conf),
        *check_skew(conf),
        *_check_rest(conf),
        *_check_spool(conf),
        *check_signal_mode(conf),
        *_check_moderation(conf),
    ]


# Tencent waits 2 s for a before-callback's answer; storing the callback needs some of it.
MAX_SENSIBLE_MODERATION_BUDGET = 1.8


def _check_moderation(conf: WebhookSettings) -> list[CheckMessage]:
    from django.utils.module_loading import import_string

    messages: list[CheckMessage] = []
    for command, paths in conf.moderation.hooks.items():
        for path in paths:
            try:
                hook = import_string(path)
            except ImportError as exc:
                problem = _("cannot be imported (%(error)s)") % {"error": exc}
            else:
                problem = "" if callable(hook) else _("is not callable")
            if problem:
                where = f"{SETTINGS_NAME}['MODERATION_HOOKS'][{command!r}]"
                messages.append(
                    Error(
                        _(
                            "%(where)s: %(path)s %(problem)s: every %(command)s callback would "
                            "be answered by the fallback."
                        )
                        % {"where": where, "path": path, "problem": problem, "command": command},
                        hint=_("Fix the dotted path, or remove it."),
                        id="officialaccount_webhook.E004",
                    )
                )
    if conf.moderation.budget > MAX_SENSIBLE_MODERATION_BUDGET:
        messages.append(
            Warning(
                _(
                    "%(setting)s['MODERATION_BUDGET'] is %(budget)s s: Tencent waits 2 s for a "
                    "before-callback's answer, and storing the callback needs time too, so a "
                    "slow hook can make the answer late (Tencent then applies its own timeout "
                    "policy)."
                )
                % {"setting": SETTINGS_NAME, "budget": f"{conf.moderation.budget:g}"},
                hint=_("Keep it at %(budget)s s or less (1.5 by default).")
                % {"budget": f"{MAX_SENSIBLE_MODERATION_BUDGET:g}"},
                id="officialaccount_webhook.W015",
            )
        )
    return messages


def _check_rest(conf: WebhookSettings) -> list[CheckMessage]:
    # Only apps with a SECRET_KEY mean to call Tencent; the others only receive callbacks.
    messages: list[CheckMessage] = []
    for app in conf.apps.values():
        if not app.secret_key:
            continue
        try:
            base_url_for(app)
        except ImproperlyConfigured as exc:
            messages.append(
                Warning(
                    _("%(problem)s Recalls for this app will fail.") % {"problem": exc},
                    hint=_("Set REGION to one of Tencent's data centers, or API_BASE_URL."),
                    id="officialaccount_webhook.W007",
                )
            )
    return messages


def _check_spool(conf: WebhookSettings) -> list[CheckMessage]:
    if conf.spool_dir is None:
        return [
            Warning(
                _(
                    "%(setting)s['SPOOL_DIR'] is not set: a callback that arrives while the "
                    "database is unreachable is lost (Tencent does not send it again)."
                )
                % {"setting": SETTINGS_NAME},
                hint=_("Set SPOOL_DIR to a directory on local disk that the web server can write."),
                id="officialaccount_webhook.W008",
            )
        ]
    if not spool.available():
        return [
            Error(
                _(
                    "%(setting)s['SPOOL_DIR'] is set, but the spool needs a POSIX system "
                    "(fcntl's file locks), which this is not: a callback that arrives while the "
                    "database is unreachable would be lost."
                )
                % {"setting": SETTINGS_NAME},
                hint=_(
                    "Run the webhook on Linux, macOS or another POSIX system, or remove SPOOL_DIR."
                ),
                id="officialaccount_webhook.E002",
            )
        ]
    messages: list[CheckMessage] = []
    directory = conf.spool_dir
    while not directory.exists() and directory != directory.parent:
        directory = directory.parent  # the spool is created on first use: check its parent
    if not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
        messages.append(
            Warning(
                _(
                    "%(setting)s['SPOOL_DIR'] (%(path)s) cannot be written by this process, so "
                    "the spool would fail when it is needed."
                )
                % {"setting": SETTINGS_NAME, "path": conf.spool_dir},
                hint=_("Create the directory and give the web server's user write access."),
                id="officialaccount_webhook.W009",
            )
        )
    # A listing, no more: checks run on every manage.py command.
    if quarantined := spooling.quarantined(conf.spool_dir):
        messages.append(
            Warning(
                _(
                    "%(count)d spooled callback(s) in %(path)s: each failed every attempt to "
                    "store it (SPOOL_MAX_ATTEMPTS), and no drain takes it any more."
                )
                % {"count": len(quarantined), "path": conf.spool_dir / spooling.QUARANTINE_DIR},
                hint=_(
                    "See why with `python manage.py officialaccount_drain_spool`; fix the "
                    "cause, then run `python manage.py officialaccount_drain_spool "
                    "--retry-quarantined`."
                ),
                id="officialaccount_webhook.W013",
            )
        )
    return messages


@register(Tags.compatibility)
def check_rest_framework_installed(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if django_apps.is_installed("rest_framework"):
        return []
    return [
        Warning(
            _(
                "'rest_framework' is not in INSTALLED_APPS; officialaccount_webhook's views are "
                "Django REST Framework views."
            ),
            hint=_("Add 'rest_framework' to INSTALLED_APPS."),
            id="officialaccount_webhook.W003",
        )
    ]


@register(Tags.compatibility)
def check_sqlite_transaction_mode(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from .models import OfficialAccountMessage

    alias = router.db_for_write(OfficialAccountMessage)
    database = connections[alias].settings_dict
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return []
    if str(database.get("OPTIONS", {}).get("transaction_mode", "")).upper() == "IMMEDIATE":
        return []
    return [
        Warning(
            _(
                "Database %(alias)s is SQLite in its default transaction mode: callbacks that "
                "arrive together can fail with 'database is locked', and Tencent does not retry."
            )
            % {"alias": repr(alias)},
            hint=_("Set %(option)s.")
            % {"option": f'DATABASES[{alias!r}]["OPTIONS"] = {{"transaction_mode": "IMMEDIATE"}}'},
            id="officialaccount_webhook.W006",
        )
    ]
