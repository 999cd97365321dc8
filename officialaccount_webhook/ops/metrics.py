"""Prometheus metrics, when ``prometheus-client`` is installed (the ``metrics`` extra); without it
every function here does nothing and the app works the same.

Counted where it happens, in the process that handles it:

* ``officialaccount_callbacks_total{command, outcome}``: every request to the webhook, by its
  command (one of this app's; anything else is ``other``, so that a caller cannot invent label
  values) and what became of it (the delivery record's outcome, ``spooled``, ``lost`` or
  ``error``);
* ``officialaccount_callback_refusals_total{reason}``: refusals, by reason class;
* ``officialaccount_callback_duration_seconds``: the webhook's time per request (histogram);
* ``officialaccount_receiver_failures_total{signal}``: receivers that raised;
* ``officialaccount_tencent_calls_total{api, result, error_code}``: REST calls to Tencent
  (recall, send, ...), each attempt once: its answer by ``ErrorCode``, or ``result="transport"``
  (``error_code="none"``) when no usable answer came (a timeout, a refused connection, an HTTP
  error status, a reply that is not JSON).

Measured when scraped (:class:`DepthCollector`): ``officialaccount_spool_pending``,
``officialaccount_spool_quarantined`` and, in the task mode on django-tasks-db,
``officialaccount_task_backlog``, each counted up to ``probe.MAX_COUNTED`` (a gauge at that
value means at least that many).

Under gunicorn (or any server with several worker processes) set ``PROMETHEUS_MULTIPROC_DIR``
to an empty directory, the same for every worker, before the server starts: each worker then
writes its counts there, and :func:`metrics_view` adds them up, whichever worker is scraped.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .. import log
from ..conf import get_settings
from ..moderation.commands import BEFORE_COMMANDS
from ..webhook.account_events import ACCOUNT_CHANGES, SUBSCRIBER_COMMANDS
from ..webhook.wire import AFTER_MSG_WITHDRAW, AFTER_SEND_MSG

try:
    import prometheus_client
    from prometheus_client import multiprocess
    from prometheus_client.core import GaugeMetricFamily
except ImportError:  # the optional extra is not installed: nothing is counted
    prometheus_client = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

PREFIX = "officialaccount"
KNOWN_COMMANDS = frozenset(
    {AFTER_SEND_MSG, AFTER_MSG_WITHDRAW, *ACCOUNT_CHANGES, *SUBSCRIBER_COMMANDS, *BEFORE_COMMANDS}
)
# A refusal's status code names its class (webhook.wire and auth say which error has which).
REFUSAL_REASONS = {
    400: "malformed",
    403: "authentication",
    405: "method",
    411: "length_required",
    413: "too_large",
    500: "internal",
}
# Tencent waits 2 seconds: the buckets resolve that range finely.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 5.0)

_metrics: dict[str, Any] = {}


def available() -> bool:
    """Whether ``prometheus-client`` is installed, so that metrics are counted and served."""
    return prometheus_client is not None


def _counter(name: str, documentation: str, labels: tuple[str, ...]) -> Any:
    return prometheus_client.Counter(f"{PREFIX}_{name}", documentation, labels)


if prometheus_client is not None:
    _metrics = {
        "callbacks": _counter(
            "callbacks", "Webhook requests by command and outcome.", ("command", "outcome")
        ),
        "refusals": _counter("callback_refusals", "Refused webhook requests.", ("reason",)),
        "receiver_failures": _counter(
            "receiver_failures", "Signal receivers that raised.", ("signal",)
        ),
        "tencent_calls": _counter(
            "tencent_calls",
            "Tencent REST calls, each attempt once, by answer.",
            ("api", "result", "error_code"),
        ),
        "duration": prometheus_client.Histogram(
            f"{PREFIX}_callback_duration_seconds",
            "Time the webhook spent on a request.",
            buckets=LATENCY_BUCKETS,
        ),
    }


def command_label(command: object) -> str:
    """The command as a label value: this app's commands by name, anything else ``other``."""
    return command if isinstance(command, str) and command in KNOWN_COMMANDS else "other"


@contextmanager
def track_callback() -> Iterator[None]:
    """Around one webhook request: its log fields' scope, then its count and its time."""
    started = time.perf_counter()
    with log.callback_fields() as fields:
        try:
            yield
        finally:
            if _metrics:
                outcome = fields.get("outcome") or "error"
                _metrics["callbacks"].labels(command_label(fields.get("command")), outcome).inc()
                _metrics["duration"].observe(time.perf_counter() - started)


def refused(status_code: int) -> None:
    """Count a refusal of the webhook, by the class its status code names."""
    if _metrics:
        _metrics["refusals"].labels(REFUSAL_REASONS.get(status_code, str(status_code))).inc()


def receiver_failed(signal: str) -> None:
    """Count a receiver of ``signal`` that raised."""
    if _metrics:
        _metrics["receiver_failures"].labels(signal).inc()


def tencent_answered(api: str, error_code: int | None) -> None:
    """Count Tencent's answer to one attempt of REST call ``api`` (``service/command``); an
    answer without an ``ErrorCode`` counts as ``unknown``."""
    if _metrics:
        result = "ok" if error_code == 0 else "error"
        code = "unknown" if error_code is None else str(error_code)
        _metrics["tencent_calls"].labels(api, result, code).inc()


def tencent_unanswered(api: str) -> None:
    """Count one attempt of REST call ``api`` that got no usable answer (a timeout, a connection
    error, an HTTP error status, a reply that is not JSON): result ``transport``."""
    if _metrics:
        _metrics["tencent_calls"].labels(api, "transport", "none").inc()


class DepthCollector:
    """The spool's and the task queue's depth, measured at each scrape (``probe``)."""

    def collect(self) -> Iterator[Any]:
        # Here, not at the top: notify and tencent import this module, and probe the models.
        from . import probe

        conf = get_settings()
        depth = probe.spool_depth(conf)
        yield GaugeMetricFamily(
            f"{PREFIX}_spool_pending", "Callbacks waiting in the spool.", value=depth.pending
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_spool_quarantined",
            "Spooled callbacks in quarantine.",
            value=depth.quarantined,
        )
        backlog = probe.task_backlog(conf)
        if backlog is None:
            return
        try:
            count = probe.bounded(backlog).count()
        except DatabaseError as error:  # the scrape still answers; the health endpoint fails
            logger.warning("Could not count the task backlog for the metrics: %s", error)
            return
        yield GaugeMetricFamily(
            f"{PREFIX}_task_backlog", "Signal tasks waiting for a worker.", value=count
        )


class _DefaultRegistry:
    """This process's own metrics, for a server with one worker process."""

    def collect(self) -> Iterator[Any]:
        yield from prometheus_client.REGISTRY.collect()


def exposition() -> tuple[bytes, str]:
    """The metrics as Prometheus reads them, and their content type."""
    registry = prometheus_client.CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_DefaultRegistry())
    registry.register(DepthCollector())
    return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST


@login_not_required
@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """The metrics, for Prometheus to scrape; route it only when :func:`available`."""
    body, content_type = exposition()
    return HttpResponse(body, content_type=content_type)
