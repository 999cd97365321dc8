"""The task that sends a scheduled broadcast (``compose.schedule``).

Imported only when a send is scheduled (and by the worker, which finds the task by its path):
importing it needs the Tasks framework. Not named ``tasks.py`` for the reason
``notify.task`` gives. It carries the row's primary key and database alias only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..conf import get_settings
from ..notify.framework import framework
from .schedule import run_scheduled

_conf = get_settings()
task: Callable[[Callable[..., None]], Any] = framework().task(
    backend=_conf.task_backend, queue_name=_conf.task_queue
)


@task
def send_scheduled(pk: int, using: str) -> None:
    """Send the ``ScheduledSend`` ``pk`` on ``using``, unless it was cancelled or claimed."""
    run_scheduled(pk, using)
