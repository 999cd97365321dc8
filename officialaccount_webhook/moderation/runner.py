"""Running the hooks of one callback in order, inside one shared budget.

Each hook runs in a worker thread (``pool``) while the request waits at most for what is left
of the budget. The first decision that is not a plain allow decides. A hook that raises,
overruns, answers something that is not a ``Decision``, or a decision its command cannot answer,
is abandoned, and the fallback decides: the request never waits past the budget for a hook. The
clock is injected: durations and the deadline are read from it, so tests need no wall clock.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any

from django.db import close_old_connections

from .decisions import ContractError, Decision, Verdict, check_contract
from .events import HookEvent
from .pool import HookPool
from .registry import Hook, hook_name

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
# Enough of an error to recognise it on the record; a message can quote anything.
MAX_FAILURE_LENGTH = 500


def run_hooks(
    event: HookEvent,
    hooks: Sequence[Hook],
    *,
    budget: float,
    fallback: Decision,
    pool: HookPool,
    clock: Clock = time.monotonic,
    started: float | None = None,
) -> Verdict:
    """Ask ``hooks`` in order about ``event``; what decides, and how long it took.

    ``started`` is when the budget began (by ``clock``), if before this call."""
    start = clock() if started is None else started
    deadline = start + budget
    for hook in hooks:
        name = hook_name(hook)
        remaining = deadline - clock()
        if remaining <= 0:
            return failed(event, name, "not run: the budget was spent", fallback, clock, start)
        future = pool.submit(partial(in_worker, hook, event))
        if future is None:
            failure = f"not run: all {pool.size} moderation workers are busy"
            return failed(event, name, failure, fallback, clock, start)
        overran = f"overran the budget of {budget:g} s and was abandoned"
        try:
            decision = future.result(timeout=remaining)
        except FutureTimeout:
            return failed(event, name, overran, fallback, clock, start)
        except Exception as exc:
            return failed(event, name, describe(exc), fallback, clock, start, exc)
        if clock() > deadline:  # answered, but too late to count (the clock says)
            return failed(event, name, overran, fallback, clock, start)
        try:
            _check(event, decision)
        except ContractError as exc:
            return failed(event, name, f"answered {exc}", fallback, clock, start)
        if not decision.allows:
            return Verdict(decision, name, clock() - start)
    return Verdict(Decision.allow(), "", clock() - start)


def in_worker(function: Callable[..., Any], *args: Any) -> Any:
    """``function(*args)``, as a pool's worker runs it."""
    try:
        return function(*args)
    finally:
        # A worker thread lives on between requests; its connection must not, beyond what
        # CONN_MAX_AGE allows (Django closes a request thread's, not this one's).
        close_old_connections()


def _check(event: HookEvent, decision: object) -> None:
    if not isinstance(decision, Decision):
        raise ContractError(f"{type(decision).__name__}, not a Decision")
    check_contract(event.command, decision)


def failed(
    event: HookEvent,
    name: str,
    failure: str,
    fallback: Decision,
    clock: Clock,
    start: float,
    exc: BaseException | None = None,
) -> Verdict:
    """The fallback's verdict for a hook ``name`` that failed, logged with ``exc``."""
    failure = failure if len(failure) <= MAX_FAILURE_LENGTH else failure[:499] + "…"
    logger.error(
        "Moderation hook %s failed for %s of SdkAppid %s: %s; the fallback (%s) answers",
        name,
        event.command,
        event.sdk_app_id,
        failure,
        fallback.action,
        exc_info=exc,
    )
    return Verdict(fallback, name, clock() - start, fallback_applied=True, failure=failure)


def describe(exc: BaseException) -> str:
    """An exception in one line, as the record's ``failure`` shows it."""
    return f"raised {type(exc).__name__}: {' '.join(str(exc).split())}".rstrip(": ")
