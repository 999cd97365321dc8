"""Which Tasks framework to use: Django's own ``django.tasks`` (Django 6), else the backport.

The ``django-tasks`` package backports the framework to Django 5.2 as ``django_tasks``, with the
same API and the same ``TASKS`` setting. This module alone makes the choice, and only when
``SIGNAL_MODE`` is ``"task"``: the app needs neither otherwise.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from types import ModuleType
from typing import Any

CANDIDATES = ("django.tasks", "django_tasks")


class TasksFrameworkMissing(ImportError):
    """Neither ``django.tasks`` nor the ``django-tasks`` backport is installed."""


def available() -> bool:
    return _find() is not None


def framework() -> ModuleType:
    """The framework's package: ``django.tasks`` when Django has it, else ``django_tasks``."""
    name = _find()
    if name is None:
        raise TasksFrameworkMissing(
            "SIGNAL_MODE 'task' needs Django's Tasks framework: Django 6 has it; on Django 5.2 "
            "install the django-tasks backport (pip install 'officialaccount-webhook[tasks]')."
        )
    return _load(name)


def backend(alias: str) -> Any:
    """The task backend configured under ``alias`` in ``settings.TASKS``.

    Raises the framework's ``InvalidTaskBackend`` (an ``ImproperlyConfigured``) if there is none.
    """
    return framework().task_backends[alias]


def is_backend(instance: object, module: str, class_name: str) -> bool:
    """Whether ``instance`` is one of the framework's own backends, e.g. ``immediate``."""
    package = framework().__name__
    cls = getattr(importlib.import_module(f"{package}.backends.{module}"), class_name)
    return isinstance(instance, cls)


@functools.cache
def _find() -> str | None:
    for name in CANDIDATES:
        if importlib.util.find_spec(name) is not None:
            return name
    return None


@functools.cache
def _load(name: str) -> ModuleType:
    module = importlib.import_module(name)
    # Its signals module resets the backends when a test overrides TASKS; Django's own package
    # imports it, the backport only from its AppConfig or its backends.
    importlib.import_module(f"{name}.signals")
    return module
