"""Finding and fetching what the webhook missed: sequence gaps, and backfill from history.

A MsgKey is ``Seq_1_ServerTime`` with a per-account sequence (protocol notes 5.3 and 7), so the
stored keys of an account show which sequence numbers never arrived. Tencent's history API
(``official_account_msg_get_simple``) returns an account's messages newest first; backfill
stores the ones that are missing through the same insert as the webhook, so nothing is stored
twice. A history item with ``IsPlaceMsg`` 1 stands for a message that expired, failed to store
or was deleted: it is counted, not stored.

The history item's fields beyond ``MsgBody`` and ``IsPlaceMsg`` are not fully documented
[inferred]: the MsgKey comes from ``MsgKey``, or from ``MsgSeq`` and the time; the time from
``MsgTime`` or ``MsgTimeStamp``, or from the MsgKey. Other keys (``From_Account``...) are kept
in the message's ``extra``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import router

from ..models import OfficialAccountMessage, PrunedMessage
from ..tencent import TencentChatClient, client_for
from ..webhook.events import SentMessage
from ..webhook.ingest import store_backfilled
from ..webhook.tally import StoreTally
from ..webhook.wire import AFTER_SEND_MSG, MalformedCallback
from . import tombstones

PAGE_SIZE = 20
# A bound on a single run, in case Tencent's LastMsgKey never says the end was reached.
MAX_PAGES = 100_000
_USED_KEYS = frozenset(
    {"IsPlaceMsg", "MsgKey", "MsgSeq", "MsgTime", "MsgTimeStamp", "MsgBody", "CloudCustomData"}
)


class ReconcileError(Exception):
    """The account cannot be reconciled: the app cannot call Tencent."""


def msg_seq(msg_key: str) -> int | None:
    """The sequence number in a ``Seq_1_ServerTime`` MsgKey, or None."""
    head, _, rest = msg_key.partition("_")
    return int(head) if head.isascii() and head.isdigit() and rest else None


@dataclass(frozen=True)
class GapReport:
    first: int | None
    last: int | None
    stored: int
    missing: list[tuple[int, int]]
    """Inclusive ranges of sequence numbers between ``first`` and ``last`` that are not stored."""

    @property
    def missing_count(self) -> int:
        return sum(end - start + 1 for start, end in self.missing)


def find_gaps(sdk_app_id: int, official_account: str) -> GapReport:
    keys = (
        OfficialAccountMessage.objects.filter(
            sdk_app_id=sdk_app_id, official_account=official_account
        )
        .values_list("msg_key", flat=True)
        .iterator(chunk_size=5000)
    )
    seqs = sorted({seq for key in keys if (seq := msg_seq(key)) is not None})
    missing = [(a + 1, b - 1) for a, b in pairwise(seqs) if b - a > 1]
    return GapReport(seqs[0] if seqs else None, seqs[-1] if seqs else None, len(seqs), missing)


@dataclass
class BackfillReport(StoreTally):
    """What a backfill read, beside what it stored (``StoreTally``)."""

    pages: int = 0
    seen: int = 0
    """History items read, placeholders and invalid ones included."""
    placeholders: int = 0
    invalid: list[str] = field(default_factory=list)
    complete: bool = True
    """False when paging stopped before Tencent said the history was finished."""


def backfill(
    sdk_app_id: int,
    official_account: str,
    *,
    since: datetime | None = None,
    page_size: int = PAGE_SIZE,
    include_pruned: bool = False,
) -> BackfillReport:
    """Store the account's messages that Tencent's history has and this database has not.

    Pages back from the newest message until the history ends or, with ``since``, until
    messages get older than ``since``. A message this app pruned is not stored again, unless
    ``include_pruned``.
    """
    try:
        client = client_for(sdk_app_id)
    except ImproperlyConfigured as exc:
        raise ReconcileError(str(exc)) from None
    report = BackfillReport()
    for items in _pages(client, official_account, page_size, report):
        reached_since = False
        for item in items:
            report.seen += 1
            if item.get("IsPlaceMsg") == 1:
                report.placeholders += 1
                continue
            try:
                event = history_event(official_account, item)
            except MalformedCallback as exc:
                report.invalid.append(str(exc))
                continue
            if since is not None and event.msg_time < since:
                reached_since = True
                continue
            if not include_pruned and tombstones.is_pruned(
                router.db_for_write(PrunedMessage), sdk_app_id, official_account, event.msg_key
            ):
                report.pruned += 1
                continue
            report.count_stored(store_backfilled(sdk_app_id, event))
        if reached_since:
            break
    return report


def _pages(
    client: TencentChatClient, official_account: str, page_size: int, report: BackfillReport
) -> Iterator[list[dict[str, Any]]]:
    seen_keys: set[str] = set()
    last_msg_key = ""
    for _page in range(MAX_PAGES):
        page = client.get_official_account_messages(
            official_account, last_msg_key=last_msg_key, count=page_size
        )
        report.pages += 1
        yield page.items
        if page.finished:
            return
        # Tencent did not say it had finished, yet gives no way on (or a way back): stop, and
        # say so rather than page in circles.
        if not page.items or not page.last_msg_key or page.last_msg_key in seen_keys:
            report.complete = False
            return
        seen_keys.add(page.last_msg_key)
        last_msg_key = page.last_msg_key
    report.complete = False


def history_event(official_account: str, item: dict[str, Any]) -> SentMessage:
    """A history item as the callback it would have been; MalformedCallback if it cannot be."""
    msg_key = item.get("MsgKey")
    msg_time = item.get("MsgTime", item.get("MsgTimeStamp"))
    if (
        not isinstance(msg_key, str)
        and isinstance(item.get("MsgSeq"), int)
        and isinstance(msg_time, int)
    ):
        msg_key = f"{item['MsgSeq']}_1_{msg_time}"
    if msg_time is None and isinstance(msg_key, str):
        tail = msg_key.rpartition("_")[2]
        msg_time = int(tail) if tail.isascii() and tail.isdigit() else None
    payload = {key: value for key, value in item.items() if key not in _USED_KEYS}
    payload |= {
        "CallbackCommand": AFTER_SEND_MSG,
        "Official_Account": official_account,
        "MsgKey": msg_key,
        "MsgTime": msg_time,
        # Online-only messages are not kept in history, so none that comes back is one.
        "OnlineOnlyFlag": 0,
        "MsgBody": item.get("MsgBody"),
        "CloudCustomData": item.get("CloudCustomData") or "",
        # History has no event time: the message time stands in for it.
        "EventTime": msg_time * 1000
        if isinstance(msg_time, int) and not isinstance(msg_time, bool)
        else msg_time,
    }
    payload = {key: value for key, value in payload.items() if value is not None}
    return SentMessage.from_payload(AFTER_SEND_MSG, payload)
