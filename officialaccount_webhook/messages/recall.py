"""Recalling official-account messages through Tencent's REST API.

``recall_messages`` is the one way in; the admin action, the ``officialaccount_recall`` command
and the REST API all call it. It:

* refuses a ``Reason`` over 100 bytes, or an app that cannot call Tencent, before any call;
* skips messages that are already recalled (a no-op, reported as such);
* groups the rest by app and account, at most 10 MsgKeys per call (Tencent's limit);
* records each stored message's outcome (``recall_ret_code``, ``recall_reason``,
  ``recall_requested_by``, ``recalled_at`` on success, ``recall_unknown_at`` when the outcome
  is unknown) and adds it to the recall history (:mod:`.recall_records`);
* sends ``message_recalled`` once for each message it recalls, after commit;
* keeps its calls, with their retries, within ``RECALL_TIME_BUDGET`` (:mod:`..tencent.budget`),
  so that an admin page or an API request answers before its worker is killed: a batch
  that the budget leaves no time for is not sent, and fails.

A failed call fails only its own batch; the others go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q
from django.utils.translation import gettext as _

from .._itertools import batched
from ..conf import get_settings
from ..models import MessageRecall, OfficialAccountMessage
from ..models.base import REQUESTED_BY_LENGTH
from ..tencent import RecallReply, TencentChatClient, TencentChatError, client_for
from ..tencent.budget import TimeBudget
from ..webhook.wire import MAX_RECALL_REASON_BYTES
from .recall_records import (
    MessageRef,
    RecallOutcome,
    Status,
    mark_unknown,
    record_answers,
    remember,
)

__all__ = [
    "MAX_KEYS_PER_CALL",
    "REQUESTED_BY_LENGTH",
    "MessageRef",
    "RecallError",
    "RecallOutcome",
    "Status",
    "check_reason",
    "clients_for",
    "recall_budget",
    "recall_messages",
]

MAX_KEYS_PER_CALL = 10


class RecallError(ValueError):
    """The recall was refused before any call to Tencent; the message says why, in the active
    language (a setting's error, from ``conf``, stays English)."""


def check_reason(reason: str) -> None:
    try:
        size = len(reason.encode())
    except UnicodeEncodeError:  # a lone surrogate: no database or JSON encoder takes it
        raise RecallError(_("The reason is not valid text (a lone surrogate).")) from None
    if size > MAX_RECALL_REASON_BYTES:
        raise RecallError(
            _("The reason is %(size)d bytes; Tencent accepts at most %(max)d.")
            % {"size": size, "max": MAX_RECALL_REASON_BYTES}
        )


def recall_budget(unbounded: bool = False) -> TimeBudget | None:
    """A new ``RECALL_TIME_BUDGET``, starting now; None with ``unbounded``."""
    return None if unbounded else TimeBudget(get_settings().recall_time_budget)


def recall_messages(
    targets: Iterable[OfficialAccountMessage | MessageRef],
    *,
    reason: str = "",
    requested_by: str = "",
    source: str = MessageRecall.Source.PYTHON,
    unbounded: bool = False,
) -> list[RecallOutcome]:
    """Recall messages, given as instances, a queryset, or (SDKAppID, account, MsgKey) triples.

    Returns one outcome per distinct message, in the order given, and adds each to the recall
    history (``MessageRecall``, with ``source`` and ``requested_by``). The calls keep to
    ``RECALL_TIME_BUDGET`` unless ``unbounded`` (a command, which no web server times out).
    Raises :class:`RecallError` before any call when the reason is too long or an app cannot
    call Tencent.
    """
    check_reason(reason)
    budget = recall_budget(unbounded)
    refs = list(dict.fromkeys(_as_ref(target) for target in targets))
    clients = clients_for({ref[0] for ref in refs})
    stored = stored_messages(refs)
    outcomes: dict[MessageRef, RecallOutcome] = {}
    groups: dict[tuple[int, str], list[str]] = {}
    for ref in refs:
        message = stored.get(ref)
        if message is not None and message.recalled_at is not None:
            outcomes[ref] = RecallOutcome(
                *ref,
                status="already_recalled",
                ret_code=None,
                detail=_("already recalled; nothing sent"),
            )
        else:
            groups.setdefault(ref[:2], []).append(ref[2])
    for (sdk_app_id, account), msg_keys in groups.items():
        for batch in batched(msg_keys, MAX_KEYS_PER_CALL):
            refs_in_batch = [(sdk_app_id, account, key) for key in batch]
            batch_outcomes, reply = _recall_batch(
                clients[sdk_app_id], refs_in_batch, stored, reason, budget
            )
            if reply is not None:
                record_answers(reply, batch_outcomes, stored, reason, requested_by)
            mark_unknown(batch_outcomes, stored, reason, requested_by)
            outcomes.update(zip(refs_in_batch, batch_outcomes, strict=True))
    ordered = [outcomes[ref] for ref in refs]
    remember(ordered, stored, reason, requested_by, source)
    return ordered


def _as_ref(target: OfficialAccountMessage | MessageRef) -> MessageRef:
    if isinstance(target, OfficialAccountMessage):
        return (target.sdk_app_id, target.official_account, target.msg_key)
    sdk_app_id, account, msg_key = target
    return (int(sdk_app_id), str(account), str(msg_key))


def clients_for(sdk_app_ids: set[int]) -> dict[int, TencentChatClient]:
    try:
        return {sdk_app_id: client_for(sdk_app_id) for sdk_app_id in sorted(sdk_app_ids)}
    except ImproperlyConfigured as exc:
        raise RecallError(str(exc)) from None


def stored_messages(refs: Sequence[MessageRef]) -> dict[MessageRef, OfficialAccountMessage]:
    """The stored messages among ``refs``, fresh from the database: an instance handed in may
    predate a recall."""
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
    client: TencentChatClient,
    refs: list[MessageRef],
    stored: dict[MessageRef, OfficialAccountMessage],
    reason: str,
    budget: TimeBudget | None,
) -> tuple[list[RecallOutcome], RecallReply | None]:
    sdk_app_id, account, _key = refs[0]
    msg_keys = [ref[2] for ref in refs]
    try:
        reply = client.recall_official_account_messages(account, msg_keys, reason, budget=budget)
    except TencentChatError as exc:
        status: Status = "unknown" if exc.maybe_carried_out else "failed"
        detail = _unknown(str(exc)) if status == "unknown" else str(exc)
        outcomes = [
            RecallOutcome(sdk_app_id, account, key, status, ret_code=exc.error_code, detail=detail)
            for key in msg_keys
        ]
        return outcomes, None
    outcomes = []
    for ref in refs:
        message = stored.get(ref)
        # A message whose earlier recall has an unknown outcome may be recalled already, and
        # then Tencent answers this one with a failure: it settles nothing.
        earlier_unknown = message is not None and message.recall_unknown_at is not None
        outcomes.append(_outcome(ref, reply, uncertain=reply.uncertain or earlier_unknown))
    return outcomes, reply


def _unknown(answer: str) -> str:
    """``answer``, and what to do about a recall that may have been carried out."""
    return _(
        "%(answer)s; Tencent may have recalled it: its recall callback will mark it recalled if "
        "so, or check with officialaccount_recall --check"
    ) % {"answer": answer}


def _outcome(ref: MessageRef, reply: RecallReply, *, uncertain: bool) -> RecallOutcome:
    code = reply.ret_codes.get(ref[2])
    if code == 0:
        return RecallOutcome(*ref, "recalled", ret_code=0)
    # "RetCode <n>" is Tencent's name and number: not translated.
    answer = (
        f"RetCode {code}" if code is not None else _("Tencent's reply has no RetCode for this key")
    )
    if uncertain:
        after = _("%(answer)s, after an attempt that timed out and may have recalled it")
        detail = _unknown(after % {"answer": answer})
        return RecallOutcome(*ref, "unknown", ret_code=code, detail=detail)
    return RecallOutcome(*ref, "failed", ret_code=code, detail=answer)
