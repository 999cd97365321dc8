"""The message API family: recalling an official account's messages, reading its history.

An API family is a module of functions that take the :class:`.TencentChatClient` and go
through its ``call`` (retries, rate limit, UserSig); the client exposes them as methods too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .replies import as_int

if TYPE_CHECKING:
    from .budget import TimeBudget
    from .client import TencentChatClient

SERVICE = "official_account_open_http_svc"


@dataclass(frozen=True)
class RecallReply:
    """``official_account_msg_recall``'s answer: each MsgKey's ``RetCode`` (0 = recalled).

    ``uncertain`` is set when an earlier attempt may have recalled the messages already; a
    non-zero ``RetCode`` then does not prove that a message was not recalled.
    """

    ret_codes: dict[str, int]
    uncertain: bool = False


@dataclass(frozen=True)
class HistoryPage:
    """One page of ``official_account_msg_get_simple``: ``RspMsgList`` items, as sent."""

    items: list[dict[str, Any]]
    last_msg_key: str
    finished: bool


def recall_official_account_messages(
    client: TencentChatClient,
    official_account: str,
    msg_keys: Sequence[str],
    reason: str = "",
    *,
    budget: TimeBudget | None = None,
) -> RecallReply:
    body: dict[str, Any] = {"Official_Account": official_account, "MsgKeyList": list(msg_keys)}
    if reason:
        body["Reason"] = reason
    # Idempotent: recalling a recalled message leaves it recalled; a repeated call only
    # changes the RetCode Tencent reports for it (see RecallReply.uncertain).
    result = client.call(
        SERVICE, "official_account_msg_recall", body, idempotent=True, budget=budget
    )
    ret_codes: dict[str, int] = {}
    items = result.reply.get("RecallRetList")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("MsgKey"), str):
            code = as_int(item.get("RetCode"))
            # A key listed twice counts as recalled if either entry says so.
            if code is not None and ret_codes.get(item["MsgKey"]) != 0:
                ret_codes[item["MsgKey"]] = code
    return RecallReply(ret_codes=ret_codes, uncertain=result.uncertain)


def get_official_account_messages(
    client: TencentChatClient,
    official_account: str,
    *,
    last_msg_key: str = "",
    count: int = 20,
    with_recalled: bool = False,
    budget: TimeBudget | None = None,
) -> HistoryPage:
    """One page of an account's history, newest first (``official_account_msg_get_simple``).

    Recalled messages are left out (Tencent's default) unless ``with_recalled``
    (``WithRecalledMsg`` 1): history marks no recall that a stored message could carry, so a
    message is recalled when only the second listing has it. Pass the page's
    ``last_msg_key`` for the next one.
    """
    body: dict[str, Any] = {"Official_Account": official_account, "ReqMsgNumber": count}
    if last_msg_key:
        body["LastMsgKey"] = last_msg_key
    if with_recalled:
        body["WithRecalledMsg"] = 1
    # Reading history changes nothing: safe to retry.
    reply = client.call(
        SERVICE, "official_account_msg_get_simple", body, idempotent=True, budget=budget
    ).reply
    items = reply.get("RspMsgList")
    next_key = reply.get("LastMsgKey")
    return HistoryPage(
        items=[item for item in items if isinstance(item, dict)] if isinstance(items, list) else [],
        last_msg_key=next_key if isinstance(next_key, str) else "",
        finished=as_int(reply.get("IsFinished")) == 1,
    )
