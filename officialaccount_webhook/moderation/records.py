"""Keeping a verdict on its delivery record (``ModerationDecision``)."""

from __future__ import annotations

from ..models import CallbackDelivery, ModerationDecision
from .decisions import answer
from .events import BeforeEvent


def record(using: str, delivery: CallbackDelivery, event: BeforeEvent) -> ModerationDecision | None:
    """Save the decision of ``event`` beside ``delivery``, in the caller's transaction.

    None for an event without a verdict: one drained from the spool, whose decision was made
    and answered while the database was away (the log has it)."""
    verdict = event.verdict
    if verdict is None:
        return None
    decision = verdict.decision
    return ModerationDecision.objects.using(using).create(
        delivery=delivery,
        sdk_app_id=delivery.sdk_app_id or 0,
        command=delivery.command,
        official_account=event.official_account,
        decision=decision.action,
        hook=verdict.hook[:255],
        reason=decision.reason,
        error_code=decision.error_code,
        duration_ms=round(verdict.duration * 1000, 3),
        fallback_applied=verdict.fallback_applied,
        failure=verdict.failure,
        dry_run=verdict.dry_run,
        answer=answer(verdict.answered),
    )
