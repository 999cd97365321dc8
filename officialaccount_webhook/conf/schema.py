"""The settings' names, defaults and parsed shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

SETTINGS_NAME = "OFFICIALACCOUNT_WEBHOOK"

# A captured URL can be replayed, with any body, for as long as its RequestTime is accepted.
# Tencent's pages for callbacks signed the same way call a RequestTime more than a minute off
# invalid (protocol notes, open question 2; docs/settings.md).
DEFAULT_REQUEST_TIME_SKEW = 60
# Above this, the replay window is wider than anything Tencent needs: a check warns.
MAX_SENSIBLE_REQUEST_TIME_SKEW = 300
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
# How many proxies in front of the app append to X-Forwarded-For; 0 trusts none of it.
DEFAULT_TRUSTED_PROXIES = 0
# A statement timeout, in seconds, on the admin's and the API's queries (docs/security.md).
DEFAULT_QUERY_TIMEOUT = 5.0
# The message detail page renders at most this many elements and links to the raw JSON.
DEFAULT_DETAIL_MAX_ELEMENTS = 200
# A recall's total time (attempts x timeout) stays under this, below gunicorn's 30 s default
# worker timeout, so that an admin or API recall answers rather than dying with the worker.
DEFAULT_RECALL_TIME_BUDGET = 20.0
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
# Tencent waits 2 s for a "before" callback's answer (protocol notes 1.4) and cannot be asked to
# wait longer: the hooks share 1.5 s, which leaves room to store the callback and answer.
DEFAULT_MODERATION_BUDGET = 1.5
MODERATION_FALLBACKS = ("allow", "refuse")
# How many hooks may run at once in one process, stuck ones included: a hook that never returns
# keeps its thread, so this also bounds how many can be stuck before the fallback answers alone.
DEFAULT_MODERATION_WORKERS = 8
# Tencent's limit on a message (protocol notes 4), as the size hook counts it: the bytes of the
# MsgBody's compact JSON [inferred: Tencent does not say how it counts].
DEFAULT_MODERATION_MAX_MESSAGE_BYTES = 12 * 1024

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
        "TRUSTED_PROXIES",
        "QUERY_TIMEOUT",
        "DETAIL_MAX_ELEMENTS",
        "RECALL_TIME_BUDGET",
        "REQUIRE_APP_GRANTS",
        "HEALTH_TOKEN",
        "MODERATION_HOOKS",
        "MODERATION_BUDGET",
        "MODERATION_FALLBACK",
        "MODERATION_DRY_RUN",
        "MODERATION_WORKERS",
        "MODERATION_BLOCKED_WORDS",
        "MODERATION_MAX_MESSAGE_BYTES",
        "MODERATION_ELEMENT_TYPES",
        "ADMIN_IMAGE_HOSTS",
    }
)
APP_KEYS = frozenset(
    {
        "CALLBACK_TOKENS",
        "ACCEPT_UNSIGNED",
        "ALLOWED_NETWORKS",
        "SECRET_KEY",
        "ADMIN_IDENTIFIER",
        "REGION",
        "API_BASE_URL",
    }
)


@dataclass(frozen=True)
class TencentApp:
    """One Tencent Chat application, identified by its SDKAppID.

    ``callback_tokens`` lists every token accepted for ``Sign``; keep the old token next to the
    new one while rotating. With none, callbacks are refused unless ``accept_unsigned`` says,
    explicitly, that unsigned callbacks are accepted (local trials only). ``allowed_networks``,
    when not empty, limits the callbacks' source addresses.
    Secrets are left out of ``repr`` so that they cannot leak through logs or tracebacks.
    """

    sdk_app_id: int
    callback_tokens: tuple[str, ...] = field(default=(), repr=False)
    accept_unsigned: bool = False
    allowed_networks: tuple[IPv4Network | IPv6Network, ...] = ()
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
class ModerationSettings:
    """The hooks that answer Tencent's "before" callbacks (docs/moderation.md)."""

    hooks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Dotted paths of hook functions, by before-command, in the order they run."""
    budget: float = DEFAULT_MODERATION_BUDGET
    fallback: str = "allow"
    """What answers when a hook raises, overruns or finds no free worker."""
    dry_run: bool = False
    """Hooks decide and are recorded, and every answer allows."""
    workers: int = DEFAULT_MODERATION_WORKERS
    blocked_words: tuple[str, ...] = ()
    """Words the keyword hook refuses besides the database's rules."""
    max_message_bytes: int = DEFAULT_MODERATION_MAX_MESSAGE_BYTES
    element_types: tuple[str, ...] | None = None
    """The MsgTypes the element hook lets through; None: every type Tencent documents."""


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
    trusted_proxies: int = DEFAULT_TRUSTED_PROXIES
    """How many proxies append to ``X-Forwarded-For``: the client is the address that many
    entries from its right end. 0: ``REMOTE_ADDR`` is the client."""
    query_timeout: float = DEFAULT_QUERY_TIMEOUT
    """Seconds a query of the admin or the API may run (0: no limit)."""
    detail_max_elements: int = DEFAULT_DETAIL_MAX_ELEMENTS
    recall_time_budget: float = DEFAULT_RECALL_TIME_BUDGET
    require_app_grants: bool = False
    """True: a staff user or API client with no app grant sees no app (superusers see all)."""
    health_token: str = field(default="", repr=False)
    """A bearer token that shows the health endpoint's details to a monitor (staff see them
    when signed in); empty: staff only."""
    moderation: ModerationSettings = ModerationSettings()
    admin_image_hosts: tuple[str, ...] = ()
    """Hosts whose images the admin shows inline, lower case; ``.example.com`` also matches its
    subdomains. Others' images wait for a click: fetching one tells its host who looked."""
