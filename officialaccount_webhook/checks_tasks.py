"""System checks on ``SIGNAL_MODE = "task"``: that Django's Tasks framework is there, and that
``TASK_BACKEND`` names a backend with the queue and a worker. ``checks.check_settings`` runs
them with the others (IDs are stable; docs/settings.md lists them).
"""

from __future__ import annotations

from django.core.checks import CheckMessage, Warning
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .conf import SETTINGS_NAME, SIGNAL_MODE_TASK, WebhookSettings
from .notify import framework as task_framework


def check_signal_mode(conf: WebhookSettings) -> list[CheckMessage]:
    if conf.signal_mode != SIGNAL_MODE_TASK:
        return []
    if not task_framework.available():
        return [
            Warning(
                _(
                    "%(setting)s['SIGNAL_MODE'] is 'task', but Django's Tasks framework is not "
                    "installed: no signal can be enqueued."
                )
                % {"setting": SETTINGS_NAME},
                hint=_(
                    "Use Django 6, or on Django 5.2 install the django-tasks backport "
                    "(officialaccount-webhook[tasks]); or set SIGNAL_MODE to 'on_commit'."
                ),
                id="officialaccount_webhook.W010",
            )
        ]
    names = {"setting": SETTINGS_NAME, "backend": repr(conf.task_backend)}
    try:
        backend = task_framework.backend(conf.task_backend)
    except ImproperlyConfigured as exc:
        return [
            Warning(
                _(
                    "%(setting)s['TASK_BACKEND'] is %(backend)s, but that task backend cannot "
                    "be used (%(error)s): no signal can be enqueued."
                )
                % (names | {"error": exc}),
                hint=_(
                    "Configure %(backend)s in the TASKS setting, or set TASK_BACKEND to an "
                    "alias that is there."
                )
                % names,
                id="officialaccount_webhook.W011",
            )
        ]
    if backend.queues and conf.task_queue not in backend.queues:
        names |= {"queue": repr(conf.task_queue), "queues": str(sorted(backend.queues))}
        return [
            Warning(
                _(
                    "%(setting)s['TASK_BACKEND'] is %(backend)s, but its QUEUES do not include "
                    "%(setting)s['TASK_QUEUE'] (%(queue)s): no signal can be enqueued."
                )
                % names,
                hint=_(
                    "Add %(queue)s to TASKS[%(backend)s]['QUEUES'], or set TASK_QUEUE to one "
                    "of %(queues)s."
                )
                % names,
                id="officialaccount_webhook.W011",
            )
        ]
    for module, class_name, effect in _BACKENDS_WITHOUT_A_WORKER:
        if task_framework.is_backend(backend, module, class_name):
            return [
                Warning(
                    _(
                        "%(setting)s['TASK_BACKEND'] is %(backend)s, but that is the "
                        "%(module)s task backend: %(effect)s."
                    )
                    % (names | {"module": module, "effect": effect}),
                    hint=_(
                        "Use a backend that runs tasks in a worker, such as "
                        "django_tasks_db.DatabaseBackend; or set SIGNAL_MODE to 'on_commit'."
                    ),
                    id="officialaccount_webhook.W012",
                )
            ]
    return []


_BACKENDS_WITHOUT_A_WORKER = [
    (
        "immediate",
        "ImmediateBackend",
        gettext_lazy(
            "it runs each task at once, in the process that enqueues it, so receivers run in "
            "the webhook's request again, as in 'on_commit' mode"
        ),
    ),
    (
        "dummy",
        "DummyBackend",
        gettext_lazy("it only keeps tasks in memory and never runs them"),
    ),
]
