"""Moderation as the webhook view uses it: the event's verdict (``decide``) and the answer's
bytes (``answer_body``)."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

from django.db import DatabaseError, router

from ..conf import TencentApp, get_settings
from ..models import OfficialAccount
from .decisions import Decision, Verdict, answer
from .events import BeforeEvent, HookEvent
from .pool import shared_pool
from .registry import hooks_for
from .runner import Clock, run_hooks

logger = logging.getLogger(__name__)


def decide(app: TencentApp, event: BeforeEvent, *, clock: Clock = time.monotonic) -> BeforeEvent:
    """``event`` with its verdict: the hooks' decision, within ``MODERATION_BUDGET``."""
    conf = get_settings().moderation
    started = clock()
    hooks = hooks_for(event.command)
    if not hooks:
        return replace(event, verdict=Verdict(Decision.allow(), dry_run=conf.dry_run))
    fallback = Decision.allow() if conf.fallback == "allow" else Decision.refuse("fallback")
    hook_event = HookEvent(event, app.sdk_app_id, app, account_of(app.sdk_app_id, event))
    verdict = run_hooks(
        hook_event,
        hooks,
        budget=conf.budget,
        fallback=fallback,
        pool=shared_pool(conf.workers),
        clock=clock,
        started=started,
    )
    if not verdict.decision.allows:
        logger.info(
            "%s of %s for SdkAppid %s: %s by %s%s",
            event.command,
            event.official_account or "-",
            app.sdk_app_id,
            verdict.decision.action,
            verdict.hook or "-",
            " (dry run: allowed)" if conf.dry_run else "",
        )
    return replace(event, verdict=replace(verdict, dry_run=conf.dry_run))


def account_of(sdk_app_id: int, event: BeforeEvent) -> OfficialAccount | None:
    """The mirror's row for the event's account: one lookup by the unique key. The answer must
    not depend on the database: when it cannot be asked, the hooks get None."""
    if not event.official_account:
        return None
    accounts = OfficialAccount.objects.using(router.db_for_read(OfficialAccount))
    try:
        found = list(
            accounts.filter(sdk_app_id=sdk_app_id, official_account=event.official_account)[:1]
        )
    except DatabaseError:
        logger.warning("The accounts mirror could not be read; hooks see no account row")
        return None
    return found[0] if found else None


def answer_body(event: BeforeEvent) -> bytes:
    """The answer's JSON for a decided event (allow if it was never decided)."""
    decision = event.verdict.answered if event.verdict is not None else Decision.allow()
    return json.dumps(answer(decision), ensure_ascii=False, separators=(",", ":")).encode()
