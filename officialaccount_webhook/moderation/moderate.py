"""Moderation as the webhook view uses it: the event's verdict (``decide``) and the answer's
bytes (``answer_body``).

Nothing here may fail the request or delay its answer past the budget: a hook path that cannot
be loaded, or any other error of moderation's own, is answered by the fallback (recorded and
logged), and the account lookup runs in a worker within its share of the budget."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import replace
from functools import partial

from django.db import DatabaseError, router

from ..conf import TencentApp, get_settings
from ..models import OfficialAccount
from .decisions import Decision, Verdict, answer
from .events import BeforeEvent, HookEvent
from .pool import HookPool, shared_pool
from .registry import HookNotLoaded, hooks_for
from .runner import Clock, describe, failed, in_worker, run_hooks

logger = logging.getLogger(__name__)

Lookup = Callable[[int, BeforeEvent], OfficialAccount | None]
# The account lookup may take this share of the budget at most; the rest is the hooks', so that
# a slow database leaves them time to decide without the account row.
LOOKUP_SHARE = 0.5


def decide(
    app: TencentApp,
    event: BeforeEvent,
    *,
    clock: Clock = time.monotonic,
    lookup: Lookup | None = None,
) -> BeforeEvent:
    """``event`` with its verdict: the hooks' decision, within ``MODERATION_BUDGET``.

    ``lookup`` finds the account's row (``account_of`` unless a test says otherwise)."""
    conf = get_settings().moderation
    started = clock()
    fallback = Decision.allow() if conf.fallback == "allow" else Decision.refuse("fallback")
    try:
        verdict = _verdict(app, event, fallback, clock, started, lookup or account_of)
    except Exception as exc:  # a hook's configuration, or a fault of moderation's own
        name = exc.path if isinstance(exc, HookNotLoaded) else ""
        hook_event = HookEvent(event, app.sdk_app_id, app)
        verdict = failed(hook_event, name, describe(exc), fallback, clock, started, exc)
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


def _verdict(
    app: TencentApp,
    event: BeforeEvent,
    fallback: Decision,
    clock: Clock,
    started: float,
    lookup: Lookup,
) -> Verdict:
    conf = get_settings().moderation
    hooks = hooks_for(event.command)
    if not hooks:
        return Verdict(Decision.allow())
    pool = shared_pool(conf.workers)
    deadline = started + conf.budget * LOOKUP_SHARE
    account = _account_in_time(app.sdk_app_id, event, lookup, pool, clock, deadline)
    hook_event = HookEvent(event, app.sdk_app_id, app, account)
    return run_hooks(
        hook_event,
        hooks,
        budget=conf.budget,
        fallback=fallback,
        pool=pool,
        clock=clock,
        started=started,
    )


def _account_in_time(
    sdk_app_id: int,
    event: BeforeEvent,
    lookup: Lookup,
    pool: HookPool,
    clock: Clock,
    deadline: float,
) -> OfficialAccount | None:
    """The account's row if the lookup, run in a worker, answers by ``deadline``; else None
    (the lookup is abandoned, as an overrunning hook is)."""
    if not event.official_account:
        return None
    future = pool.submit(partial(in_worker, lookup, sdk_app_id, event))
    overran = "it overran its share of the budget"
    if future is None:
        problem = f"all {pool.size} moderation workers are busy"
    else:
        try:
            account: OfficialAccount | None = future.result(timeout=max(0.0, deadline - clock()))
        except FutureTimeout:
            problem = overran
        except Exception as exc:
            problem = describe(exc)
        else:
            if clock() <= deadline:  # answered in time (the clock says)
                return account
            problem = overran
    logger.warning("The account lookup gave no row in time (%s); hooks see none", problem)
    return None


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
