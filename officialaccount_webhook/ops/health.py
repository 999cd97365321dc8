"""The health endpoint, routed next to the webhook (``health/``): 200 when this node can store
callbacks now, 503 when it cannot (its database does not answer, or its spool holds callbacks
that wait for a drain), in JSON, never cached.

Anyone (a load balancer) gets the status alone. Staff users signed in, and a monitor that sends
``Authorization: Bearer <HEALTH_TOKEN>``, get the details: the spool's and its quarantine's
depth, the task backlog in the task mode, and each app's last accepted callback and its age; a
staff user sees the apps of their scope (``scope``, the admin's per-app grants), the token's
bearer every app. Nothing secret is in either. The cost is one statement (and a staff user's
grants) and two bounded directory listings (``probe``), cheap enough for a probe every few
seconds.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .. import scope
from ..conf import WebhookSettings, get_settings
from . import probe

OK = "ok"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Health:
    """A node's health at ``checked_at``: ``failing`` names what makes it unavailable."""

    checked_at: datetime
    database: bool
    depth: probe.SpoolDepth
    spool_configured: bool
    task_backlog: int | None = None
    last_accepted: dict[int, datetime | None] = field(default_factory=dict)

    @property
    def failing(self) -> list[str]:
        # Callbacks in the spool mean the database refused this node lately and the drain has
        # not caught up: until it has, new callbacks may go to the spool too. Quarantined ones
        # need a person, not a different node: they are reported, not failed on.
        return [
            name
            for name, failed in (("database", not self.database), ("spool", self.depth.pending))
            if failed
        ]

    @property
    def status(self) -> str:
        return UNAVAILABLE if self.failing else OK

    def details(self, apps: frozenset[int] | None = None) -> dict[str, Any]:
        """Everything measured, as JSON values; of the apps, only those in ``apps`` (None: all)."""
        backlog = self.task_backlog
        return {
            "status": self.status,
            "failing": self.failing,
            "checked_at": self.checked_at.isoformat(),
            "database": OK if self.database else UNAVAILABLE,
            "spool": {
                "configured": self.spool_configured,
                "pending": self.depth.pending,
                "quarantined": self.depth.quarantined,
                "counted_up_to": probe.MAX_COUNTED,
            },
            "task_backlog": backlog,
            # The count stops at probe.MAX_COUNTED: there, it means at least that many.
            "task_backlog_capped": backlog is not None and backlog >= probe.MAX_COUNTED,
            "apps": {
                str(sdk_app_id): {
                    "last_accepted_at": at.isoformat() if at else None,
                    "age_seconds": (self.checked_at - at).total_seconds() if at else None,
                }
                for sdk_app_id, at in self.last_accepted.items()
                if apps is None or sdk_app_id in apps
            },
        }


def check(conf: WebhookSettings, now: datetime) -> Health:
    """Measure this node's health as of ``now``."""
    depth = probe.spool_depth(conf)
    configured = conf.spool_dir is not None
    try:
        reading = probe.read_database(conf)
    except DatabaseError:
        return Health(now, database=False, depth=depth, spool_configured=configured)
    return Health(
        now,
        database=True,
        depth=depth,
        spool_configured=configured,
        task_backlog=reading.task_backlog,
        last_accepted=reading.last_accepted,
    )


def may_see_details(request: HttpRequest, conf: WebhookSettings) -> bool:
    """Staff signed in, or the bearer of ``HEALTH_TOKEN``."""
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    return bears_token(request, conf)


def apps_shown(request: HttpRequest, conf: WebhookSettings) -> frozenset[int] | None:
    """The apps whose details a caller who may see details sees: every app (None) for the bearer
    of ``HEALTH_TOKEN``, the apps of their scope for a staff user."""
    if bears_token(request, conf):
        return None
    return scope.visible_app_ids(getattr(request, "user", None))


def bears_token(request: HttpRequest, conf: WebhookSettings) -> bool:
    """Whether the request sends ``Authorization: Bearer <HEALTH_TOKEN>`` (never, without one)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(
        conf.health_token
        and scheme.lower() == "bearer"
        and hmac.compare_digest(token.strip().encode(), conf.health_token.encode())
    )


@login_not_required
@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """200 or 503 with ``{"status": ...}``, and the details for those who may see them."""
    conf = get_settings()
    result = check(conf, timezone.now())
    if may_see_details(request, conf):
        body = result.details(apps_shown(request, conf))
    else:
        body = {"status": result.status}
    return JsonResponse(body, status=503 if result.failing else 200)
