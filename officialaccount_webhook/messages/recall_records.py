"""What a recall leaves in the database: each stored message's last recall, its recall
history (``MessageRecall``), and the messages whose recall outcome is unknown.

Shared by the recall (:mod:`.recall`) and its check (:mod:`.recall_check`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from django.db import router, transaction
from django.utils import timezone

from ..models import MessageRecall, OfficialAccountMessage
from ..models.base import REQUESTED_BY_LENGTH
from ..notify import schedule
from ..tencent import RecallReply

MessageRef = tuple[int, str, str]
"""(SDKAppID, official account, MsgKey): a message, stored or not."""

Status = Literal["recalled", "already_recalled", "failed", "unknown"]
"""``unknown``: an attempt that timed out may have recalled it. The message's
``recall_unknown_at`` says so until Tencent's recall callback, a recall answered with RetCode 0,
or a check (``officialaccount_recall --check``) settles it."""


@dataclass(frozen=True)
class RecallOutcome:
    sdk_app_id: int
    official_account: str
    msg_key: str
    status: Status
    ret_code: int | None
    """Tencent's ``RetCode`` for this key, or the ``ErrorCode`` of a call that failed whole."""
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("recalled", "already_recalled")


def remember(
    outcomes: Sequence[RecallOutcome],
    stored: Mapping[MessageRef, OfficialAccountMessage],
    reason: str,
    requested_by: str,
    source: str,
) -> None:
    """One recall-history row per outcome."""
    MessageRecall.objects.using(router.db_for_write(MessageRecall)).bulk_create(
        MessageRecall(
            sdk_app_id=outcome.sdk_app_id,
            official_account=outcome.official_account,
            msg_key=outcome.msg_key,
            source=source,
            requested_by=requested_by[:REQUESTED_BY_LENGTH],
            result=outcome.status,
            ret_code=outcome.ret_code,
            reason=reason,
            message=stored.get((outcome.sdk_app_id, outcome.official_account, outcome.msg_key)),
        )
        for outcome in outcomes
    )


def record_answers(
    reply: RecallReply,
    outcomes: Iterable[RecallOutcome],
    stored: Mapping[MessageRef, OfficialAccountMessage],
    reason: str,
    requested_by: str,
) -> None:
    """Record Tencent's per-key answer on the stored messages; send message_recalled.

    An answer that settles the outcome (RetCode 0, or a failure that nothing makes uncertain)
    clears ``recall_unknown_at``; an unknown one sets it (:func:`mark_unknown`).
    """
    using = router.db_for_write(OfficialAccountMessage)
    messages = OfficialAccountMessage.objects.using(using)
    requested_by = requested_by[:REQUESTED_BY_LENGTH]
    with transaction.atomic(using=using):
        for outcome in outcomes:
            message = stored.get((outcome.sdk_app_id, outcome.official_account, outcome.msg_key))
            code = reply.ret_codes.get(outcome.msg_key)
            if message is None or code is None or outcome.status == "unknown":
                continue
            fields = {
                "recall_ret_code": code,
                "recall_reason": reason,
                "recall_requested_by": requested_by,
                "recall_unknown_at": None,
            }
            if code != 0:
                # A failure says nothing once the message is recalled (by another recall, or
                # by the webhook).
                messages.filter(pk=message.pk, recalled_at__isnull=True).update(**fields)
                continue
            messages.filter(pk=message.pk).update(**fields)
            message.recall_ret_code, message.recall_reason = 0, reason
            message.recall_requested_by = requested_by
            mark_recalled(using, message)


def mark_recalled(using: str, message: OfficialAccountMessage) -> bool:
    """Mark ``message`` recalled now, if it is not yet, and send ``message_recalled``; True if
    this call marked it. Inside the caller's transaction."""
    messages = OfficialAccountMessage.objects.using(using)
    now = timezone.now()
    # Conditional, like the webhook's: whichever of the two marks the message first sends the
    # one message_recalled.
    marked = messages.filter(pk=message.pk, recalled_at__isnull=True).update(
        recalled_at=now, recall_unknown_at=None
    )
    if marked:
        message.recalled_at, message.recall_unknown_at = now, None
        schedule.message_recalled(using, message)
    return bool(marked)


def mark_unknown(
    outcomes: Iterable[RecallOutcome],
    stored: Mapping[MessageRef, OfficialAccountMessage],
    reason: str,
    requested_by: str,
) -> None:
    """Note on each stored message whose outcome is unknown (and that is not recalled) since
    when; the first unknown attempt's time is kept until an answer settles it."""
    pks = [
        message.pk
        for outcome in outcomes
        if outcome.status == "unknown"
        and (message := stored.get((outcome.sdk_app_id, outcome.official_account, outcome.msg_key)))
    ]
    if not pks:
        return
    messages = OfficialAccountMessage.objects.using(router.db_for_write(OfficialAccountMessage))
    unrecalled = messages.filter(pk__in=pks, recalled_at__isnull=True)
    unrecalled.filter(recall_unknown_at__isnull=True).update(recall_unknown_at=timezone.now())
    unrecalled.update(recall_reason=reason, recall_requested_by=requested_by[:REQUESTED_BY_LENGTH])
