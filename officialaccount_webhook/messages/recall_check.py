"""Checking a recall whose outcome is unknown, against Tencent's history.

A recall that timed out after Tencent received it may or may not have been carried out
(``recall_unknown_at``). Sending the recall again does not tell: a recall of a recalled
message is answered with a failure (RetCode 10030, "does not exist", as docs/recall.md reads
it; Tencent's page lists no code for it), the same answer as for a message Tencent never had,
and only a success would settle anything. Its history API does tell (protocol notes 5.3): by
default it leaves recalled messages out, and with ``WithRecalledMsg`` 1 it lists them too. So
a message

* in the default listing is still there: the recall was not carried out ("failed": recall it
  again);
* only in the listing with recalled messages was recalled ("recalled", marked so, and
  ``message_recalled`` sent);
* in neither (expired, deleted, or older than the pages read) stays unknown.

Both listings are read newest first, only as far back as the oldest message being checked
(a MsgKey starts with its sequence number), and within ``RECALL_TIME_BUDGET``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import router, transaction
from django.utils.translation import gettext as _

from ..models import MessageRecall, OfficialAccountMessage, OfficialAccountMessageQuerySet
from ..tencent import TencentChatClient, TencentChatError
from ..tencent.budget import TimeBudget
from .recall import clients_for, recall_budget, stored_messages
from .recall_records import MessageRef, RecallOutcome, mark_recalled, remember
from .reconcile import msg_seq

PAGE_SIZE = 20
# How far back a check reads: recalls are checked soon after they time out, so the messages
# are recent; older ones stay unknown rather than page through an account's whole history.
MAX_PAGES = 50


def unknown_recalls() -> OfficialAccountMessageQuerySet:
    """The stored messages whose recall outcome is unknown, and that are not recalled."""
    return OfficialAccountMessage.objects.filter(
        recall_unknown_at__isnull=False, recalled_at__isnull=True
    )


def check_recalls(
    messages: Iterable[OfficialAccountMessage],
    *,
    requested_by: str = "",
    source: str = MessageRecall.Source.PYTHON,
    unbounded: bool = False,
) -> list[RecallOutcome]:
    """Check the recalls of ``messages`` whose outcome is unknown against Tencent's history;
    one outcome each, in the order given (messages with no unknown recall are left out).

    Raises :class:`.RecallError` before any call if an app cannot call Tencent.
    """
    refs = list(dict.fromkeys((m.sdk_app_id, m.official_account, m.msg_key) for m in messages))
    stored = stored_messages(refs)
    to_check = [ref for ref in refs if ref in stored and stored[ref].recall_unknown_at]
    clients = clients_for({ref[0] for ref in to_check})
    budget = recall_budget(unbounded)
    outcomes: dict[MessageRef, RecallOutcome] = {}
    groups: dict[tuple[int, str], list[str]] = {}
    for ref in to_check:
        if stored[ref].recalled_at is not None:  # Tencent's recall callback settled it
            detail = _("recalled meanwhile")
            outcomes[ref] = RecallOutcome(*ref, "already_recalled", None, detail)
        else:
            groups.setdefault(ref[:2], []).append(ref[2])
    for (sdk_app_id, account), keys in groups.items():
        listed = _scan(clients[sdk_app_id], account, keys, budget, with_recalled=False)
        rest = [key for key in keys if key not in listed.found]
        recalled = _scan(clients[sdk_app_id], account, rest, budget, with_recalled=True)
        for key in keys:
            outcomes[(sdk_app_id, account, key)] = _verdict(
                (sdk_app_id, account, key), listed, recalled
            )
    ordered = [outcomes[ref] for ref in to_check]
    _record(ordered, stored)
    remember(ordered, stored, "", requested_by, source)
    return ordered


@dataclass
class _Listing:
    found: set[str] = field(default_factory=set)
    lowest_seq: int | None = None
    finished: bool = False
    error: str = ""

    def covers(self, msg_key: str) -> bool:
        """Whether this listing went back far enough to have ``msg_key`` if Tencent has it."""
        seq = msg_seq(msg_key)
        if self.finished:
            return True
        return seq is not None and self.lowest_seq is not None and self.lowest_seq <= seq


def _scan(
    client: TencentChatClient,
    account: str,
    keys: list[str],
    budget: TimeBudget | None,
    *,
    with_recalled: bool,
) -> _Listing:
    listing = _Listing()
    wanted = set(keys)
    last_msg_key = ""
    seen_last_keys: set[str] = set()
    for _page in range(MAX_PAGES if wanted else 0):
        try:
            page = client.get_official_account_messages(
                account,
                last_msg_key=last_msg_key,
                count=PAGE_SIZE,
                with_recalled=with_recalled,
                budget=budget,
            )
        except TencentChatError as exc:
            listing.error = str(exc)
            break
        for item in page.items:
            key = _item_key(item)
            seq = msg_seq(key) if key else None
            if seq is not None:
                listing.lowest_seq = (
                    seq if listing.lowest_seq is None else min(listing.lowest_seq, seq)
                )
            # A placeholder (IsPlaceMsg 1) stands for a message that is gone: not listed.
            if key in wanted and item.get("IsPlaceMsg") != 1:
                listing.found.add(key)
        listing.finished = page.finished
        if page.finished or all(key in listing.found or listing.covers(key) for key in wanted):
            break
        if not page.items or not page.last_msg_key or page.last_msg_key in seen_last_keys:
            break  # Tencent gives no way on: stop rather than page in circles
        seen_last_keys.add(page.last_msg_key)
        last_msg_key = page.last_msg_key
    return listing


def _item_key(item: dict[str, Any]) -> str | None:
    """A history item's MsgKey: ``MsgKey``, or made of ``MsgSeq`` and the time, as backfill
    reads it (:mod:`.reconcile`)."""
    if isinstance(item.get("MsgKey"), str):
        return str(item["MsgKey"])
    seq, when = item.get("MsgSeq"), item.get("MsgTime", item.get("MsgTimeStamp"))
    if isinstance(seq, int) and isinstance(when, int):
        return f"{seq}_1_{when}"
    return None


def _verdict(ref: MessageRef, listed: _Listing, recalled: _Listing) -> RecallOutcome:
    # The status is the API's word; the detail is for a person, in the active language.
    key = ref[2]
    if key in listed.found:
        detail = _("still in Tencent's history: the recall was not carried out; recall it again")
        return RecallOutcome(*ref, "failed", None, detail)
    if key in recalled.found and listed.covers(key):
        return RecallOutcome(*ref, "recalled", None, _("Tencent's history lists it as recalled"))
    # A call's error is the client's text (Tencent's ErrorInfo in it), as Tencent said it.
    why = listed.error or recalled.error or _("not found in Tencent's history as far as read")
    return RecallOutcome(*ref, "unknown", None, _("still unknown: %(why)s") % {"why": why})


def _record(
    outcomes: list[RecallOutcome], stored: dict[MessageRef, OfficialAccountMessage]
) -> None:
    using = router.db_for_write(OfficialAccountMessage)
    messages = OfficialAccountMessage.objects.using(using)
    with transaction.atomic(using=using):
        for outcome in outcomes:
            message = stored[(outcome.sdk_app_id, outcome.official_account, outcome.msg_key)]
            if outcome.status == "recalled":
                mark_recalled(using, message)
            elif outcome.status != "unknown":  # settled: not recalled, or recalled meanwhile
                messages.filter(pk=message.pk).update(recall_unknown_at=None)
