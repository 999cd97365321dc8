"""The settings' names, defaults and parsed shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SETTINGS_NAME = "OFFICIALACCOUNT_WEBHOOK"

DEFAULT_REQUEST_TIME_SKEW = 300
# Tencent caps a message at 12 KB (spec 4); 1 MiB leaves room for any future growth of the
# envelope while still refusing bodies that could only be abuse.
DEFAULT_MAX_BODY_SIZE = 1024 * 1024
DEFAULT_ADMIN_IDENTIFIER = "administrator"
# Tencent allows 200 REST calls per second per API; half leaves room for other tools.
DEFAULT_REST_RATE_LIMIT = 100.0
DEFAULT_REST_CONNECT_TIMEOUT = 3.0
DEFAULT_REST_READ_TIMEOUT = 10.0
DEFAULT_REST_MAX_RETRIES = 3
DEFAULT_REST_RETRY_BACKOFF = 0.5
# Long enough to look into last month's failures; short enough that junk traffic's rows go.
DEFAULT_DELIVERY_RETENTION_DAYS = 30
# A spool record that failed this many drains is moved to quarantine (docs/operations.md).
DEFAULT_SPOOL_MAX_ATTEMPTS = 5
# Another product's callback (a private chat's, say) is handed on, and its body kept only when
# asked, for a week: it is not this app's data (docs/webhook.md).
DEFAULT_OTHER_COMMAND_BODY_RETENTION_DAYS = 7
# A pruned message's tombstone keeps backfill from storing it again for a year.
DEFAULT_TOMBSTONE_RETENTION_DAYS = 365
# How signals reach receivers (docs/signals.md): in the request after the commit, or as tasks of
# Django's Tasks framework, run by a worker.
SIGNAL_MODE_ON_COMMIT = "on_commit"
SIGNAL_MODE_TASK = "task"
SIGNAL_MODES = (SIGNAL_MODE_ON_COMMIT, SIGNAL_MODE_TASK)
# The Tasks framework's own defaults (DEFAULT_TASK_BACKEND_ALIAS, DEFAULT_TASK_QUEUE_NAME).
DEFAULT_TASK_BACKEND = "default"
DEFAULT_TASK_QUEUE = "default"

TOP_LEVEL_KEYS = frozenset(
    {
        "APPS",
        "REQUEST_TIME_SKEW",
        "MAX_BODY_SIZE",
        "REST_RATE_LIMIT",
        "REST_CONNECT_TIMEOUT",
        "REST_READ_TIMEOUT",
        "REST_MAX_RETRIES",
        "REST_RETRY_BACKOFF",
        "SPOOL_DIR",
        "SPOOL_MAX_ATTEMPTS",
        "KEEP_OTHER_COMMAND_BODIES",
        "OTHER_COMMAND_BODY_RETENTION_DAYS",
        "TOMBSTONE_RETENTION_DAYS",
        "DELIVERY_RETENTION_DAYS",
        "SIGNAL_MODE",
        "TASK_BACKEND",
        "TASK_QUEUE",
    }
)
APP_KEYS = frozenset(
    {"CALLBACK_TOKENS", "SECRET_KEY", "ADMIN_IDENTIFIER", "REGION", "API_BASE_URL"}
)


@dataclass(frozen=True)
class TencentApp:
    """One Tencent Chat application, identified by its SDKAppID.

    ``callback_tokens`` lists every token accepted for ``Sign``; keep the old token next to the
    new one while rotating. An empty tuple means webhook authentication is off for this app.
    Secrets are left out of ``repr`` so that they cannot leak through logs or tracebacks.
    """

    sdk_app_id: int
    callback_tokens: tuple[str, ...] = field(default=(), repr=False)
    secret_key: str = field(default="", repr=False)
    admin_identifier: str = DEFAULT_ADMIN_IDENTIFIER
    region: str = ""
    api_base_url: str = ""


@dataclass(frozen=True)
class RestSettings:
    """How the REST client talks to Tencent; the same for every app."""

    rate_limit: float = DEFAULT_REST_RATE_LIMIT
    connect_timeout: float = DEFAULT_REST_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_REST_READ_TIMEOUT
    max_retries: int = DEFAULT_REST_MAX_RETRIES
    retry_backoff: float = DEFAULT_REST_RETRY_BACKOFF


@dataclass(frozen=True)
class WebhookSettings:
    apps: Mapping[int, TencentApp]
    request_time_skew: int = DEFAULT_REQUEST_TIME_SKEW
    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    rest: RestSettings = RestSettings()
    spool_dir: Path | None = None
    spool_max_attempts: int = DEFAULT_SPOOL_MAX_ATTEMPTS
    delivery_retention_days: int = DEFAULT_DELIVERY_RETENTION_DAYS
    keep_other_command_bodies: bool = False
    other_command_body_retention_days: int = DEFAULT_OTHER_COMMAND_BODY_RETENTION_DAYS
    tombstone_retention_days: int = DEFAULT_TOMBSTONE_RETENTION_DAYS
    signal_mode: str = SIGNAL_MODE_ON_COMMIT
    task_backend: str = DEFAULT_TASK_BACKEND
    """In ``"task"`` mode: the alias in Django's ``TASKS`` setting that the signals' tasks use."""
    task_queue: str = DEFAULT_TASK_QUEUE
    """In ``"task"`` mode: the queue they go to (one of that backend's ``QUEUES``)."""
