"""The subscriber API family: list an account's subscribers, add, delete and modify them.

Wire names and limits are Tencent's pages 1047/60759 (get_subscriber_info), 60760
(add_subscriber) and 60813 (the subscriber's fields), checked against
doocs/qcloud-im-server-sdk-java (``GetSubscriberInfoRequest``/``Result``,
``AddSubscriberRequest``, ``DeleteSubscriberRequest``, ``ModifySubscriberInfoRequest``,
``OfficialAccountSubscribeResultItem``). delete_subscriber and modify_subscriber_info come
from doocs alone [inferred: their Tencent pages were not readable].
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .accounts import SERVICE, as_text, from_seconds
from .errors import TencentChatError
from .replies import as_int

if TYPE_CHECKING:
    from .budget import TimeBudget
    from .client import TencentChatClient

# get_subscriber_info's Limit: "not to exceed 200" (60759; doocs says the same).
MAX_PAGE_SIZE = 200
# add_subscriber: "Up to 100 subscribers can be added at a time" (60760); delete_subscriber is
# given the same bound [inferred].
MAX_CHANGE_BATCH = 100
# A bound on one listing (20 million subscribers at 200 a page), in case the cursor never ends.
MAX_PAGES = 100_000
# Result of add_subscriber and delete_subscriber, per subscriber (60760, doocs).
RESULT_FAILED, RESULT_DONE, RESULT_ALREADY = 0, 1, 2


@dataclass(frozen=True)
class SubscriberInfo:
    """One ``SubscriberList`` item of ``get_subscriber_info``, with Python names."""

    subscriber_account: str
    subscribed_at: datetime | None
    custom_string: str
    msg_flag: str
    """``AcceptAndNotify``, ``AcceptNotNotify`` or ``Discard`` (60759, 60813; doocs types it
    as an integer, which is kept as its digits)."""
    last_send_msg_time: datetime | None


@dataclass(frozen=True)
class SubscriberPage:
    """One page of an account's subscribers. ``next_cursor`` is Tencent's ``Next``, the cursor
    of the following page, empty on the last one; ``subscriber_count`` is ``SubscriberNum``,
    the account's total."""

    subscribers: list[SubscriberInfo]
    next_cursor: str
    subscriber_count: int | None

    @property
    def finished(self) -> bool:
        return not self.next_cursor


@dataclass(frozen=True)
class SubscriberResults:
    """Per subscriber, add's or delete's ``Result``: 0 failed, 1 done, 2 already so (added:
    already subscribed; deleted: was not subscribed).

    ``uncertain`` is set when an earlier attempt may have done it already: a 2 then does not
    prove that this call found it so.
    """

    results: dict[str, int] = field(default_factory=dict)
    uncertain: bool = False

    def having(self, result: int) -> list[str]:
        return [account for account, value in self.results.items() if value == result]


class SubscriberPagingError(TencentChatError):
    """The subscriber listing did not reach its end: the cursor repeated, or never ended."""


def get_subscribers(
    client: TencentChatClient,
    official_account: str,
    *,
    cursor: str = "",
    limit: int = MAX_PAGE_SIZE,
    budget: TimeBudget | None = None,
) -> SubscriberPage:
    """One page of ``official_account``'s subscribers (``get_subscriber_info``): pass the
    previous page's ``next_cursor`` as ``cursor`` for the following one, "" for the first."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}.")
    body = {"Official_Account": official_account, "Limit": limit, "Next": cursor}
    # Reading changes nothing: safe to retry.
    reply = client.call(SERVICE, "get_subscriber_info", body, idempotent=True, budget=budget).reply
    items = reply.get("SubscriberList")
    subscribers = [
        subscriber
        for item in (items if isinstance(items, list) else ())
        if (subscriber := _subscriber(item)) is not None
    ]
    following = reply.get("Next")
    count = as_int(reply.get("SubscriberNum"))
    return SubscriberPage(
        subscribers=subscribers,
        next_cursor=following if isinstance(following, str) else "",
        subscriber_count=count if count is not None and count >= 0 else None,
    )


def iter_subscribers(
    client: TencentChatClient,
    official_account: str,
    *,
    limit: int = MAX_PAGE_SIZE,
    budget: TimeBudget | None = None,
) -> Iterator[SubscriberPage]:
    """Every page of ``official_account``'s subscribers, following Tencent's cursor to the
    end. A generator: it asks for a page only when the previous one was taken, and holds one
    page at a time. Raises :class:`SubscriberPagingError` if the cursor repeats itself or
    does not end within :data:`MAX_PAGES` pages."""
    cursor = ""
    for _ in range(MAX_PAGES):
        page = get_subscribers(client, official_account, cursor=cursor, limit=limit, budget=budget)
        yield page
        if page.finished:
            return
        if page.next_cursor == cursor:
            raise SubscriberPagingError(f"Tencent's subscriber cursor repeated ({cursor!r})")
        cursor = page.next_cursor
    raise SubscriberPagingError(f"the subscriber listing did not end in {MAX_PAGES} pages")


def add_subscribers(
    client: TencentChatClient,
    official_account: str,
    subscriber_accounts: Sequence[str],
    *,
    budget: TimeBudget | None = None,
) -> SubscriberResults:
    """Subscribe users to an account (``add_subscriber``), 100 a call.

    Retried like a read, since Tencent deduplicates by state: adding a subscriber twice
    leaves one subscription and answers the repeat with ``Result`` 2 (already subscribed).
    """
    body = [{"Subscriber_Account": account} for account in subscriber_accounts]
    return _change(client, "add_subscriber", official_account, "SubscriberList", body, budget)


def delete_subscribers(
    client: TencentChatClient,
    official_account: str,
    subscriber_accounts: Sequence[str],
    *,
    budget: TimeBudget | None = None,
) -> SubscriberResults:
    """Unsubscribe users from an account (``delete_subscriber``, body
    ``SubscriberToDel_Account``: a list of user IDs), 100 a call. Retried like a read: a
    repeat finds them unsubscribed (``Result`` 2)."""
    body = list(subscriber_accounts)
    return _change(
        client, "delete_subscriber", official_account, "SubscriberToDel_Account", body, budget
    )


def modify_subscriber(
    client: TencentChatClient,
    official_account: str,
    subscriber_account: str,
    *,
    custom_string: str,
    budget: TimeBudget | None = None,
) -> None:
    """Set a subscriber's ``CustomString`` (``modify_subscriber_info``). Idempotent: it sets
    a value. Its size limit is not documented where readable; Tencent's refusal says it."""
    body = {
        "Official_Account": official_account,
        "Subscriber_Account": subscriber_account,
        "CustomString": custom_string,
    }
    client.call(SERVICE, "modify_subscriber_info", body, idempotent=True, budget=budget)


def _change(
    client: TencentChatClient,
    command: str,
    official_account: str,
    key: str,
    entries: list[Any],
    budget: TimeBudget | None,
) -> SubscriberResults:
    if not entries:
        raise ValueError("Give at least one subscriber.")
    results: dict[str, int] = {}
    uncertain = False
    for start in range(0, len(entries), MAX_CHANGE_BATCH):
        batch = entries[start : start + MAX_CHANGE_BATCH]
        body = {"Official_Account": official_account, key: batch}
        result = client.call(SERVICE, command, body, idempotent=True, budget=budget)
        uncertain = uncertain or result.uncertain
        items = result.reply.get("SubscriberList")
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and (account := as_text(item.get("Subscriber_Account"))):
                code = as_int(item.get("Result"))
                results[account] = code if code is not None else RESULT_FAILED
    return SubscriberResults(results=results, uncertain=uncertain)


def _subscriber(item: Any) -> SubscriberInfo | None:
    if not isinstance(item, dict) or not (account := as_text(item.get("Subscriber_Account"))):
        return None
    flag = item.get("MsgFlag")
    return SubscriberInfo(
        subscriber_account=account,
        subscribed_at=from_seconds(item.get("SubscribeTime")),
        custom_string=as_text(item.get("CustomString")),
        msg_flag=str(flag) if isinstance(flag, str | int) and not isinstance(flag, bool) else "",
        last_send_msg_time=from_seconds(item.get("LastSendMsgTime")),
    )


class SubscribersApi:
    """The family's calls as methods of :class:`.TencentChatClient` (a mixin)."""

    get_subscribers = get_subscribers
    iter_subscribers = iter_subscribers
    add_subscribers = add_subscribers
    delete_subscribers = delete_subscribers
    modify_subscriber = modify_subscriber
