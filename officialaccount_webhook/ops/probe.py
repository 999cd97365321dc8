"""What the health endpoint and the metrics measure, cheaply enough for a load balancer that
asks every few seconds: the spool's depth from a bounded directory listing, and the database's
part in one statement whose every piece reads an index.

The statement is ``SELECT (…), (…), …`` with one scalar subquery per configured app (its last
accepted callback: the delivery table's partial index on ``(sdk_app_id, -received_at)`` of the
accepted requests, so that a flood of refused ones is never walked past) and, in the task mode on
django-tasks-db, one for the task backlog (its partial index on ready tasks), counted up to
``MAX_COUNTED`` as the spool is. It runs whatever the tables hold, and answering it is the
database's health.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..conf import SIGNAL_MODE_TASK, WebhookSettings
from ..models import CallbackDelivery
from ..notify import framework
from ..webhook import spool, spooling

# A directory listing, or the task backlog's count, stops counting here: a spool or a queue this
# deep is news enough, and counting millions must not hold the load balancer's probe.
MAX_COUNTED = 10_000


@dataclass(frozen=True)
class SpoolDepth:
    """How many records wait in the spool and in its quarantine (each at most ``MAX_COUNTED``)."""

    pending: int = 0
    quarantined: int = 0


@dataclass(frozen=True)
class DatabaseReading:
    """What the database said: each app's last accepted callback, and the task backlog (None
    when it cannot be counted: not the task mode, or not a database task backend; at most
    ``MAX_COUNTED``, which then means at least that many)."""

    last_accepted: dict[int, datetime | None]
    task_backlog: int | None


def spool_depth(conf: WebhookSettings) -> SpoolDepth:
    """The spool's depth, from at most two bounded directory listings; zero without a spool."""
    if conf.spool_dir is None:
        return SpoolDepth()
    return SpoolDepth(
        pending=_count(conf.spool_dir, (spool.RECORD_SUFFIX, spool.CLAIM_SUFFIX)),
        quarantined=_count(conf.spool_dir / spooling.QUARANTINE_DIR, (spool.RECORD_SUFFIX,)),
    )


def read_database(conf: WebhookSettings) -> DatabaseReading:
    """One statement on the delivery table's database; raises its ``DatabaseError`` if the
    database does not answer."""
    using = router.db_for_read(CallbackDelivery)
    parts: list[QuerySet[Any, Any]] = [
        CallbackDelivery.objects.using(using)
        .filter(sdk_app_id=sdk_app_id, status_code=200)
        .order_by("-received_at")
        .values("received_at")[:1]
        for sdk_app_id in conf.apps
    ]
    backlog = task_backlog(conf)
    counts_backlog = backlog is not None and backlog.db == using
    if backlog is not None and counts_backlog:
        parts.append(bounded(backlog))
    row = _select(using, parts, count_last=counts_backlog)
    last = {sdk_app_id: _datetime(value) for sdk_app_id, value in zip(conf.apps, row, strict=False)}
    return DatabaseReading(last_accepted=last, task_backlog=row[-1] if counts_backlog else None)


def task_backlog(conf: WebhookSettings) -> QuerySet[Any, Any] | None:
    """The tasks that wait for a worker in the app's queue, when the signals go through
    django-tasks-db's database backend; None otherwise (other backends have no count)."""
    if conf.signal_mode != SIGNAL_MODE_TASK or not framework.available():
        return None
    try:
        from django_tasks_db.models import DBTaskResult

        backend = framework.backend(conf.task_backend)
    except (ImportError, RuntimeError, LookupError, ValueError):
        return None  # not installed, or not configured: check E-codes say so elsewhere
    if type(backend).__module__.split(".")[0] != "django_tasks_db":
        return None
    return DBTaskResult.objects.using(router.db_for_read(DBTaskResult)).filter(
        status="READY", backend_name=conf.task_backend, queue_name=conf.task_queue
    )


def bounded(backlog: QuerySet[Any, Any]) -> QuerySet[Any, Any]:
    """The first ``MAX_COUNTED`` of ``backlog``, to count: a count of it stops there."""
    return backlog.order_by().values("pk")[:MAX_COUNTED]


def _select(using: str, parts: list[QuerySet[Any, Any]], *, count_last: bool) -> tuple[Any, ...]:
    """``SELECT (part), …`` in one round trip (``SELECT 1`` with no parts)."""
    columns, params = [], []
    for index, part in enumerate(parts):
        sql, part_params = part.query.get_compiler(using).as_sql()
        if count_last and index == len(parts) - 1:
            sql = f"SELECT COUNT(*) FROM ({sql}) backlog"  # noqa: S608  (Django's own SQL)
        columns.append(f"({sql})")
        params.extend(part_params)
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns) or '1'}", params)
        row = cursor.fetchone()
    return tuple(row) if parts else ()


def _datetime(value: object) -> datetime | None:
    """A raw ``received_at`` as the field reads it: PostgreSQL's driver returns an aware
    datetime, SQLite's text in UTC (Django stores it so when ``USE_TZ`` is on)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, datetime):
        return None
    if settings.USE_TZ and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


def _count(directory: Path, suffixes: tuple[str, ...]) -> int:
    try:
        with os.scandir(directory) as entries:
            matching = (entry for entry in entries if entry.name.endswith(suffixes))
            return sum(1 for _ in itertools.islice(matching, MAX_COUNTED))
    except (FileNotFoundError, NotADirectoryError):
        return 0  # no spool yet: nothing waits
