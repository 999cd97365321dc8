"""Recalling official-account messages through Tencent's REST API.

``recall_messages`` is the one way in; the admin action, the ``officialaccount_recall`` command
and the REST API all call it. It:

* refuses a ``Reason`` over 100 bytes, or an app that cannot call Tencent, before any call;
* skips messages that are already recalled (a no-op, reported as such);
* groups the rest by app and account, at most 10 MsgKeys per call (Tencent's limit);
* records each stored message's outcome (``recall_ret_code``, ``recall_reason``,
  ``recall_requested_by``, and ``recalled_at`` on success);
* sends ``message_recalled`` once for each message it recalls, after commit.

A failed call fails only its own batch; the others go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from django.core.exceptions import ImproperlyConfigured
from django.db import router, transaction
from django.db.models import Q
from django.utils import timezone

from .._itertools import batched
from ..models import MessageRecall, OfficialAccountMessage
from ..notify import schedule
from ..tencent import RecallReply, TencentChatClient, TencentChatError, client_for
from ..webhook.wire import MAX_RECALL_REASON_BYTES

MAX_KEYS_PER_CALL = 10
REQUESTED_BY_LENGTH = OfficialAccountMessage._meta.get_field("recall_requested_by").max_length

MessageRef = tuple[int, str, str]
"""(SDKAppID, official account, MsgKey): a message, stored or not."""

Status = Literal["recalled", "already_recalled", "failed", "unknown"]
"""``unknown``: an attempt that timed out may have recalled it; Tencent's recall callback will
tell (the webhook then marks the message recalled)."""


class RecallError(ValueError):
    """The recall was refused before any call to Tencent; the message says why."""


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


def check_reason(reason: str) -> None:
    size = len(reason.encode())
    if size > MAX_RECALL_REASON_BYTES:
        raise RecallError(
            f"The reason is {size} bytes; Tencent accepts at most {MAX_RECALL_REASON_BYTES}."
        )


def recall_messages(
    targets: Iterable[OfficialAccountMessage | MessageRef],
    *,
    reason: str = "",
    requested_by: str = "",
    source: str = MessageRecall.Source.PYTHON,
) -> list[RecallOutcome]:
    """Recall messages, given as instances, a queryset, or (SDKAppID, account, MsgKey) triples.

    Returns one outcome per distinct message, in the order given, and adds each to the recall
    history (``MessageRecall``, with ``source`` and ``requested_by``). Raises
    :class:`RecallError` before any call when the reason is too long or an app cannot call
    Tencent.
    """
    check_reason(reason)
    refs = list(dict.fromkeys(_as_ref(target) for target in targets))
    clients = _clients_for({ref[0] for ref in refs})
    stored = _stored_messages(refs)
    outcomes: dict[MessageRef, RecallOutcome] = {}
    groups: dict[tuple[int, str], list[str]] = {}
    for ref in refs:
        message = stored.get(ref)
        if message is not None and message.recalled_at is not None:
            outcomes[ref] = RecallOutcome(
                *ref,
                status="already_recalled",
                ret_code=None,
                detail="already recalled; nothing sent",
            )
        else:
            groups.setdefault(ref[:2], []).append(ref[2])
    for (sdk_app_id, account), msg_keys in groups.items():
        for batch in batched(msg_keys, MAX_KEYS_PER_CALL):
            refs_in_batch = [(sdk_app_id, account, key) for key in batch]
            batch_outcomes, reply = _recall_batch(
                clients[sdk_app_id], sdk_app_id, account, batch, reason
            )
            if reply is not None:
                _record(reply, refs_in_batch, stored, reason, requested_by)
            outcomes.update(zip(refs_in_batch, batch_outcomes, strict=True))
    ordered = [outcomes[ref] for ref in refs]
    _remember(ordered, stored, reason, requested_by, source)
    return ordered


def _remember(
    outcomes: Sequence[RecallOutcome],
    stored: dict[MessageRef, OfficialAccountMessage],
    reason: str,
    requested_by: str,
    source: str,
) -> None:
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


def _as_ref(target: OfficialAccountMessage | MessageRef) -> MessageRef:
    if isinstance(target, OfficialAccountMessage):
        return (target.sdk_app_id, target.official_account, target.msg_key)
    sdk_app_id, account, msg_key = target
    return (int(sdk_app_id), str(account), str(msg_key))


def _clients_for(sdk_app_ids: set[int]) -> dict[int, TencentChatClient]:
    try:
        return {sdk_app_id: client_for(sdk_app_id) for sdk_app_id in sorted(sdk_app_ids)}
    except ImproperlyConfigured as exc:
        raise RecallError(str(exc)) from None


def _stored_messages(refs: Sequence[MessageRef]) -> dict[MessageRef, OfficialAccountMessage]:
    # Fresh from the database: an instance handed in may predate a recall.
    found: dict[MessageRef, OfficialAccountMessage] = {}
    by_account: dict[tuple[int, str], list[str]] = {}
    for sdk_app_id, account, msg_key in refs:
        by_account.setdefault((sdk_app_id, account), []).append(msg_key)
    for (sdk_app_id, account), msg_keys in by_account.items():
        for batch in batched(msg_keys, 500):
            query = Q(sdk_app_id=sdk_app_id, official_account=account, msg_key__in=batch)
            for message in OfficialAccountMessage.objects.filter(query):
                found[(message.sdk_app_id, message.official_account, message.msg_key)] = message
    return found


def _recall_batch(
    client: TencentChatClient, sdk_app_id: int, account: str, msg_keys: list[str], reason: str
) -> tuple[list[RecallOutcome], RecallReply | None]:
    try:
        reply = client.recall_official_account_messages(account, msg_keys, reason)
    except TencentChatError as exc:
        status: Status = "unknown" if exc.maybe_carried_out else "failed"
        outcomes = [
            RecallOutcome(
                sdk_app_id, account, key, status, ret_code=exc.error_code, detail=str(exc)
            )
            for key in msg_keys
        ]
        return outcomes, None
    return [_outcome(sdk_app_id, account, key, reply) for key in msg_keys], reply


def _outcome(sdk_app_id: int, account: str, key: str, reply: RecallReply) -> RecallOutcome:
    code = reply.ret_codes.get(key)
    if code == 0:
        return RecallOutcome(sdk_app_id, account, key, "recalled", ret_code=0)
    answer = (
        f"RetCode {code}" if code is not None else "Tencent's reply has no RetCode for this key"
    )
    if reply.uncertain:
        detail = (
            f"{answer}, after an attempt that timed out and may have recalled it; Tencent's "
            "recall callback will mark it recalled if so"
        )
        return RecallOutcome(sdk_app_id, account, key, "unknown", ret_code=code, detail=detail)
    return RecallOutcome(sdk_app_id, account, key, "failed", ret_code=code, detail=answer)


def _record(
    reply: RecallReply,
    refs: Sequence[MessageRef],
    stored: dict[MessageRef, OfficialAccountMessage],
    reason: str,
    requested_by: str,
) -> None:
    """Record Tencent's per-key answer on the stored messages; send message_recalled."""
    using = router.db_for_write(OfficialAccountMessage)
    messages = OfficialAccountMessage.objects.using(using)
    now = timezone.now()
    requested_by = requested_by[:REQUESTED_BY_LENGTH]
    with transaction.atomic(using=using):
        for ref in refs:
            message = stored.get(ref)
            code = reply.ret_codes.get(ref[2])
            if message is None or code is None:
                continue
            fields = {
                "recall_ret_code": code,
                "recall_reason": reason,
                "recall_requested_by": requested_by,
            }
            if code != 0:
                # A failure says nothing once the message is recalled (by another recall, or
                # by the webhook), and an uncertain one says nothing at all.
                if not reply.uncertain:
                    messages.filter(pk=message.pk, recalled_at__isnull=True).update(**fields)
                continue
            messages.filter(pk=message.pk).update(**fields)
            # Conditional, like the webhook's: whichever of the two marks the message first
            # sends the one message_recalled.
            if messages.filter(pk=message.pk, recalled_at__isnull=True).update(recalled_at=now):
                message.recalled_at = now
                message.recall_ret_code, message.recall_reason = 0, reason
                message.recall_requested_by = requested_by
                schedule.message_recalled(using, message)
