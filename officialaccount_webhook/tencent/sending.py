"""The sending API family: ``send_official_account_msg``, a broadcast to an account's subscribers.

Tencent's page 1047/60810 and doocs' ``SendOfficialAccountMsgRequest``/``Result``: the request
carries ``Official_Account``, ``Random``, ``MsgBody`` and optionally ``CloudCustomData``,
``OnlineOnlyFlag``, ``OfflinePushInfo``, ``ForbidCallbackControl`` and ``SendMsgControl``; the
answer carries ``MsgKey`` (for recall) and ``MsgTime``. Limits: 200 calls a second per app, and
per account one message a second and two broadcasts an hour (refused with a rate-limit code).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import TencentTransportError
from .replies import as_int

if TYPE_CHECKING:
    from .budget import TimeBudget
    from .client import TencentChatClient

SERVICE = "official_account_open_http_svc"
COMMAND = "send_official_account_msg"
# Random is an unsigned 32-bit integer (0 to 4294967295).
RANDOM_LIMIT = 2**32


def new_random() -> int:
    """A ``Random`` for one send: choose it once, and send it with every attempt of that send."""
    return secrets.randbelow(RANDOM_LIMIT)


@dataclass(frozen=True)
class SendReply:
    """``send_official_account_msg``'s answer. ``msg_time`` is Tencent's, in seconds, or None
    if the answer has none; ``uncertain``: an earlier attempt may have been carried out (this
    answer is then Tencent's word on the same send, dropped as a duplicate or not)."""

    msg_key: str
    msg_time: int | None
    random: int
    uncertain: bool = False


def send_official_account_msg(
    client: TencentChatClient,
    official_account: str,
    msg_body: Sequence[Mapping[str, Any]],
    *,
    random: int | None = None,
    cloud_custom_data: str = "",
    online_only: bool = False,
    offline_push_info: Mapping[str, Any] | None = None,
    forbid_callback_control: Sequence[str] = (),
    send_msg_control: Sequence[str] = (),
    budget: TimeBudget | None = None,
) -> SendReply:
    """Send one broadcast; ``random`` (chosen here if None) is its ``Random``.

    Raises :class:`.TencentApiError` when Tencent refuses, :class:`.TencentTransportError`
    when no usable answer came (or one without a ``MsgKey``).
    """
    if random is None:
        random = new_random()
    if not 0 <= random < RANDOM_LIMIT:
        raise ValueError(f"Random must be between 0 and {RANDOM_LIMIT - 1}.")
    body: dict[str, Any] = {
        "Official_Account": official_account,
        "Random": random,
        "MsgBody": [dict(element) for element in msg_body],
    }
    if cloud_custom_data:
        body["CloudCustomData"] = cloud_custom_data
    if online_only:
        body["OnlineOnlyFlag"] = 1
    if offline_push_info:
        body["OfflinePushInfo"] = dict(offline_push_info)
    if forbid_callback_control:
        body["ForbidCallbackControl"] = list(forbid_callback_control)
    if send_msg_control:
        body["SendMsgControl"] = list(send_msg_control)
    # Retried like an idempotent call, because it is one for this body: every attempt sends the
    # same content with the same Random, and Tencent drops a message whose content and Random
    # match one of the last five minutes as a duplicate. A retry after a timeout that did
    # deliver therefore cannot deliver twice (the client's retries end well within 5 minutes).
    result = client.call(SERVICE, COMMAND, body, idempotent=True, budget=budget)
    msg_key = result.reply.get("MsgKey")
    if not isinstance(msg_key, str) or not msg_key:
        # Sent, as far as the ErrorCode says, but nothing names the message: report it as an
        # answer that may have carried the send out, so that no caller sends it again blindly.
        raise TencentTransportError(
            "Tencent's answer to send_official_account_msg has no MsgKey",
            retryable=False,
            sent=True,
        )
    msg_time = as_int(result.reply.get("MsgTime"))
    return SendReply(msg_key, msg_time, random, result.uncertain)


class SendingApi:
    """The family's calls as methods of :class:`.TencentChatClient` (a mixin)."""

    send_official_account_msg = send_official_account_msg
