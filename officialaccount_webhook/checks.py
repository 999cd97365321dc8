"""System checks. Errors for what makes every callback fail or loses callbacks that the
settings promise to keep; warnings for what a project may choose on purpose (starting half
configured, no spool).

IDs are stable; docs/settings.md lists them. The webhook's authentication checks (W001, W002,
E003, W004) are in ``checks_webhook``.
"""

from __future__ import annotations

import os
from typing import Any

from django.apps import apps as django_apps
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router

# MIN_SENSIBLE_SKEW and MAX_SENSIBLE_SKEW were defined here before the webhook's checks moved.
from .checks_webhook import MAX_SENSIBLE_SKEW as MAX_SENSIBLE_SKEW
from .checks_webhook import MIN_SENSIBLE_SKEW as MIN_SENSIBLE_SKEW
from .checks_webhook import check_apps, check_skew
from .conf import SETTINGS_NAME, SIGNAL_MODE_TASK, WebhookSettings, get_settings
from .notify import framework as task_framework
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
                hint="Until this is fixed, the webhook answers every callback with a 500.",
                id="officialaccount_webhook.E001",
            )
        ]
    return [
        # How callbacks are authenticated: checks_webhook.
        *check_apps(conf),
        *check_skew(conf),
        *_check_rest(conf),
        *_check_spool(conf),
        *_check_signal_mode(conf),
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
                problem = f"cannot be imported ({exc})"
            else:
                problem = "" if callable(hook) else "is not callable"
            if problem:
                messages.append(
                    Error(
                        f"{SETTINGS_NAME}['MODERATION_HOOKS'][{command!r}]: {path} {problem}: "
                        f"every {command} callback would be answered by the fallback.",
                        hint="Fix the dotted path, or remove it.",
                        id="officialaccount_webhook.E004",
                    )
                )
    if conf.moderation.budget > MAX_SENSIBLE_MODERATION_BUDGET:
        messages.append(
            Warning(
                f"{SETTINGS_NAME}['MODERATION_BUDGET'] is {conf.moderation.budget:g} s: Tencent "
                "waits 2 s for a before-callback's answer, and storing the callback needs time "
                "too, so a slow hook can make the answer late (Tencent then applies its own "
                "timeout policy).",
                hint=f"Keep it at {MAX_SENSIBLE_MODERATION_BUDGET:g} s or less (1.5 by default).",
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
                    f"{exc} Recalls for this app will fail.",
                    hint="Set REGION to one of Tencent's data centers, or API_BASE_URL.",
                    id="officialaccount_webhook.W007",
                )
            )
    return messages


def _check_spool(conf: WebhookSettings) -> list[CheckMessage]:
    if conf.spool_dir is None:
        return [
            Warning(
                f"{SETTINGS_NAME}['SPOOL_DIR'] is not set: a callback that arrives while the "
                "database is unreachable is lost (Tencent does not send it again).",
                hint="Set SPOOL_DIR to a directory on local disk that the web server can write.",
                id="officialaccount_webhook.W008",
            )
        ]
    if not spool.available():
        return [
            Error(
                f"{SETTINGS_NAME}['SPOOL_DIR'] is set, but the spool needs a POSIX system "
                "(fcntl's file locks), which this is not: a callback that arrives while the "
                "database is unreachable would be lost.",
                hint="Run the webhook on Linux, macOS or another POSIX system, or remove "
                "SPOOL_DIR.",
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
                f"{SETTINGS_NAME}['SPOOL_DIR'] ({conf.spool_dir}) cannot be written by this "
                "process, so the spool would fail when it is needed.",
                hint="Create the directory and give the web server's user write access.",
                id="officialaccount_webhook.W009",
            )
        )
    # A listing, no more: checks run on every manage.py command.
    if quarantined := spooling.quarantined(conf.spool_dir):
        messages.append(
            Warning(
                f"{len(quarantined)} spooled callback(s) in "
                f"{conf.spool_dir / spooling.QUARANTINE_DIR}: each failed every attempt to "
                "store it (SPOOL_MAX_ATTEMPTS), and no drain takes it any more.",
                hint="See why with `python manage.py officialaccount_drain_spool`; fix the "
                "cause, then run `python manage.py officialaccount_drain_spool "
                "--retry-quarantined`.",
                id="officialaccount_webhook.W013",
            )
        )
    return messages


def _check_signal_mode(conf: WebhookSettings) -> list[CheckMessage]:
    if conf.signal_mode != SIGNAL_MODE_TASK:
        return []
    if not task_framework.available():
        return [
            Warning(
                f"{SETTINGS_NAME}['SIGNAL_MODE'] is 'task', but Django's Tasks framework is not "
                "installed: no signal can be enqueued.",
                hint="Use Django 6, or on Django 5.2 install the django-tasks backport "
                "(officialaccount-webhook[tasks]); or set SIGNAL_MODE to 'on_commit'.",
                id="officialaccount_webhook.W010",
            )
        ]
    unusable = f"{SETTINGS_NAME}['TASK_BACKEND'] is {conf.task_backend!r}, but"
    try:
        backend = task_framework.backend(conf.task_backend)
    except ImproperlyConfigured as exc:
        return [
            Warning(
                f"{unusable} that task backend cannot be used ({exc}): no signal can be enqueued.",
                hint=f"Configure {conf.task_backend!r} in the TASKS setting, or set "
                "TASK_BACKEND to an alias that is there.",
                id="officialaccount_webhook.W011",
            )
        ]
    if backend.queues and conf.task_queue not in backend.queues:
        return [
            Warning(
                f"{unusable} its QUEUES do not include {SETTINGS_NAME}['TASK_QUEUE'] "
                f"({conf.task_queue!r}): no signal can be enqueued.",
                hint=f"Add {conf.task_queue!r} to TASKS[{conf.task_backend!r}]['QUEUES'], or set "
                f"TASK_QUEUE to one of {sorted(backend.queues)}.",
                id="officialaccount_webhook.W011",
            )
        ]
    for module, class_name, effect in _BACKENDS_WITHOUT_A_WORKER:
        if task_framework.is_backend(backend, module, class_name):
            return [
                Warning(
                    f"{unusable} that is the {module} task backend: {effect}.",
                    hint="Use a backend that runs tasks in a worker, such as "
                    "django_tasks_db.DatabaseBackend; or set SIGNAL_MODE to 'on_commit'.",
                    id="officialaccount_webhook.W012",
                )
            ]
    return []


_BACKENDS_WITHOUT_A_WORKER = [
    (
        "immediate",
        "ImmediateBackend",
        "it runs each task at once, in the process that enqueues it, so receivers run in the "
        "webhook's request again, as in 'on_commit' mode",
    ),
    ("dummy", "DummyBackend", "it only keeps tasks in memory and never runs them"),
]


@register(Tags.compatibility)
def check_rest_framework_installed(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if django_apps.is_installed("rest_framework"):
        return []
    return [
        Warning(
            "'rest_framework' is not in INSTALLED_APPS; officialaccount_webhook's views are "
            "Django REST Framework views.",
            hint="Add 'rest_framework' to INSTALLED_APPS.",
            id="officialaccount_webhook.W003",
        )
    ]


@register(Tags.security)
def check_api_basic_authentication(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The REST API takes the project's DRF authentication; DRF's default includes Basic."""
    if not django_apps.is_installed("rest_framework"):
        return []
    from rest_framework.authentication import BasicAuthentication
    from rest_framework.settings import api_settings

    from .api.authentication import ThrottledBasicAuthentication

    # api_settings imports the dotted paths: classes, whatever the stubs say.
    classes: list[type] = list(api_settings.DEFAULT_AUTHENTICATION_CLASSES)  # type: ignore[arg-type]
    plain = [
        cls
        for cls in classes
        if issubclass(cls, BasicAuthentication)
        and not issubclass(cls, ThrottledBasicAuthentication)
    ]
    if not plain:
        return []
    return [
        Warning(
            "The REST API accepts HTTP Basic authentication without a limit on failed "
            "attempts: each wrong password costs a worker a password hash, so a few clients "
            "guessing passwords can leave no worker for Tencent's callbacks.",
            hint="Use session and token authentication in REST_FRAMEWORK's "
            "DEFAULT_AUTHENTICATION_CLASSES, or replace BasicAuthentication with "
            "officialaccount_webhook.api.authentication.ThrottledBasicAuthentication "
            "(docs/recall.md).",
            id="officialaccount_webhook.W014",
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
            f"Database {alias!r} is SQLite in its default transaction mode: callbacks that "
            "arrive together can fail with 'database is locked', and Tencent does not retry.",
            hint=f'Set DATABASES[{alias!r}]["OPTIONS"] = {{"transaction_mode": "IMMEDIATE"}}.',
            id="officialaccount_webhook.W006",
        )
    ]
