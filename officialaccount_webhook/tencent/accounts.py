"""The account API family: create, destroy, modify and read official accounts, and list the
accounts a user subscribes to.

Wire names and limits are Tencent's pages 1047/60755 (create), 60756 (destroy), 60757
(modify), 60758 (get info), 60763 (subscribed list) and 60813 (the profile's fields), checked
against doocs/qcloud-im-server-sdk-java (``core/OfficialAccount.java`` and its
``model/request``/``model/response`` classes). Where the two differ, Tencent's page wins: doocs
spells modify's account key ``OfficialAccount``, the page ``Official_Account``.

Tencent has no call that lists an app's accounts (none among doocs' twelve commands nor on
Tencent's pages): the mirror learns of accounts from the callbacks and this app's own calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import ProfileLimitError, TencentChatError
from .replies import as_int, error_code, error_info

if TYPE_CHECKING:
    from .budget import TimeBudget
    from .client import TencentChatClient

SERVICE = "official_account_open_http_svc"
ACCOUNT_ID_PREFIX = "@TOA#_"
# UTF-8 bytes (60813; the create and modify pages say the same).
PROFILE_LIMITS = {
    "Name": 150,
    "Introduction": 400,
    "FaceUrl": 500,
    "Organization": 500,
    "CustomString": 3000,
}
# get_official_account_info: "a maximum of 50 official accounts per pull" (60758).
MAX_INFO_ACCOUNTS = 50
# get_subscribed_official_account_list: Limit at most 200, the default (60763, doocs).
SUBSCRIBED_PAGE_SIZE = 200
NOT_IN_ANSWER = "Tencent's answer did not list this account"
# A bound on one listing, in case Tencent's offset never says the end was reached.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class AccountInfo:
    """One ``OfficialAccountInfoList`` item, with Python names. ``error_code`` is the item's
    own ``ErrorCode`` (doocs' item class carries one [inferred: 0 when absent]); 10010 says
    the account does not exist, -1 that the answer did not list it."""

    official_account: str
    name: str = ""
    owner_account: str = ""
    introduction: str = ""
    face_url: str = ""
    organization: str = ""
    custom_string: str = ""
    created_at: datetime | None = None
    last_msg_time: datetime | None = None
    subscriber_count: int | None = None
    max_subscriber_count: int | None = None
    """``MaxSubscriberNum``: a field of the profile (60813), not among get-info's filter
    fields; read when Tencent sends it [inferred]."""
    error_code: int = 0
    error_info: str = ""

    @property
    def found(self) -> bool:
        return self.error_code == 0


@dataclass(frozen=True)
class SubscribedAccount:
    """One account of ``get_subscribed_official_account_list``, with the user's ``SelfInfo``."""

    account: AccountInfo
    subscribed_at: datetime | None
    custom_string: str


def check_profile(fields: dict[str, str | None]) -> None:
    """Refuse, before any call, a profile field longer than Tencent accepts (keys: Tencent's
    names). Raises :class:`ProfileLimitError`, a ``ValueError``."""
    for key, value in fields.items():
        size = len(value.encode()) if value is not None else 0
        if size > PROFILE_LIMITS[key]:
            raise ProfileLimitError(key, size, PROFILE_LIMITS[key])


def create_official_account(
    client: TencentChatClient,
    owner_account: str,
    name: str,
    *,
    official_account: str = "",
    introduction: str = "",
    face_url: str = "",
    organization: str = "",
    custom_string: str = "",
    max_subscriber_count: int | None = None,
    budget: TimeBudget | None = None,
) -> str:
    """Create an account (``create_official_account``); return its ID as Tencent answers it
    (``official_account``, a custom ID starting with ``@TOA#_``, or one Tencent makes)."""
    if official_account and not official_account.startswith(ACCOUNT_ID_PREFIX):
        raise ValueError(f"A custom official account ID must start with {ACCOUNT_ID_PREFIX}.")
    if not name:
        raise ValueError("Name is required.")  # "Required: Yes" (60755)
    profile = _profile(name, introduction, face_url, organization, custom_string)
    check_profile(profile)
    body: dict[str, Any] = {"Owner_Account": owner_account}
    if official_account:
        body["OfficialAccountUserID"] = official_account
    body |= {key: value for key, value in profile.items() if value}
    if max_subscriber_count is not None:
        body["MaxSubscriberNum"] = max_subscriber_count
    # Not idempotent: Tencent does not deduplicate creations. Without a custom ID a repeat
    # makes a second account; with one, it is refused after the first succeeded.
    reply = client.call(
        SERVICE, "create_official_account", body, idempotent=False, budget=budget
    ).reply
    created = reply.get("OfficialAccountUserID")
    if isinstance(created, str) and created:
        return created
    if official_account:
        return official_account  # the answer's ID is missing, but it can only be this one
    raise TencentChatError("Tencent created an account but did not say its ID")


def destroy_official_account(
    client: TencentChatClient, official_account: str, *, budget: TimeBudget | None = None
) -> None:
    """Destroy an account (``destroy_official_account``, body ``Official_Account``).

    Retried like a read: destroying twice leaves it destroyed. A retry after an uncertain
    attempt may answer 10010 (:class:`.OfficialAccountNotFoundError`, with
    ``earlier_attempt_uncertain`` set): the first attempt may be what destroyed it.
    """
    body = {"Official_Account": official_account}
    client.call(SERVICE, "destroy_official_account", body, idempotent=True, budget=budget)


def modify_official_account(
    client: TencentChatClient,
    official_account: str,
    *,
    name: str | None = None,
    introduction: str | None = None,
    face_url: str | None = None,
    organization: str | None = None,
    custom_string: str | None = None,
    max_subscriber_count: int | None = None,
    budget: TimeBudget | None = None,
) -> None:
    """Change the fields given, and only those (``modify_official_account_base_info``).

    Idempotent: it sets values, so a repeat sets the same ones.
    """
    profile = _profile(name, introduction, face_url, organization, custom_string)
    check_profile(profile)
    changes: dict[str, Any] = {key: value for key, value in profile.items() if value is not None}
    if max_subscriber_count is not None:
        changes["MaxSubscriberNum"] = max_subscriber_count
    if not changes:
        raise ValueError("Nothing to modify: give at least one field.")
    body = {"Official_Account": official_account} | changes
    client.call(SERVICE, "modify_official_account_base_info", body, idempotent=True, budget=budget)


def get_official_account_info(
    client: TencentChatClient,
    official_accounts: Sequence[str],
    *,
    budget: TimeBudget | None = None,
) -> list[AccountInfo]:
    """The profiles of ``official_accounts`` (``get_official_account_info``), 50 per call, in
    the order asked. No ``ResponseFilter``: Tencent then sends every field (60758).

    An account Tencent does not have comes back with its ``error_code`` (10010), or the whole
    call fails with :class:`.OfficialAccountNotFoundError`, whichever Tencent does.
    """
    infos: list[AccountInfo] = []
    for start in range(0, len(official_accounts), MAX_INFO_ACCOUNTS):
        asked = list(official_accounts[start : start + MAX_INFO_ACCOUNTS])
        body = {"OfficialAccountIdList": [{"Official_Account": account} for account in asked]}
        reply = client.call(
            SERVICE, "get_official_account_info", body, idempotent=True, budget=budget
        ).reply
        # Items name their account [inferred: doocs' item class has no such field]; an item
        # that does not is taken to answer the request's account at its place [inferred].
        answers: dict[str, AccountInfo] = {}
        for index, item in enumerate(_items(reply, "OfficialAccountInfoList")):
            info = account_info(item, default_account=asked[index] if index < len(asked) else "")
            answers.setdefault(info.official_account, info)
        for account in asked:
            missing = AccountInfo(account, error_code=-1, error_info=NOT_IN_ANSWER)
            infos.append(answers.get(account, missing))
    return infos


def get_subscribed_official_accounts(
    client: TencentChatClient, subscriber_account: str, *, budget: TimeBudget | None = None
) -> list[SubscribedAccount]:
    """Every account ``subscriber_account`` subscribes to
    (``get_subscribed_official_account_list``), following its paging: ``Limit`` and
    ``Offset`` in, ``CompleteFlag`` (1: done) and ``Next`` (the next ``Offset``) out."""
    found: list[SubscribedAccount] = []
    offset = 0
    for _ in range(MAX_PAGES):
        body = {"Subscriber_Account": subscriber_account, "Limit": SUBSCRIBED_PAGE_SIZE}
        body |= {"Offset": offset}
        reply = client.call(
            SERVICE, "get_subscribed_official_account_list", body, idempotent=True, budget=budget
        ).reply
        for item in _items(reply, "OfficialAccountInfoList"):
            self_info = item.get("SelfInfo")
            mine = self_info if isinstance(self_info, dict) else {}
            found.append(
                SubscribedAccount(
                    account=account_info(item),
                    subscribed_at=from_seconds(mine.get("SubscribeTime")),
                    custom_string=as_text(mine.get("CustomString")),
                )
            )
        following = as_int(reply.get("Next"))
        if as_int(reply.get("CompleteFlag")) == 1 or following is None or following <= offset:
            break  # done, or paging that goes nowhere: what was read is all there is to read
        offset = following
    return found


def account_info(item: dict[str, Any], default_account: str = "") -> AccountInfo:
    """An ``OfficialAccountInfoList`` item as an :class:`AccountInfo`, tolerantly."""
    code = error_code(item) if "ErrorCode" in item else 0
    return AccountInfo(
        official_account=as_text(item.get("Official_Account")) or default_account,
        name=as_text(item.get("Name")),
        owner_account=as_text(item.get("Owner_Account")),
        introduction=as_text(item.get("Introduction")),
        face_url=as_text(item.get("FaceUrl")),
        organization=as_text(item.get("Organization")),
        custom_string=as_text(item.get("CustomString")),
        created_at=from_seconds(item.get("CreateTime")),
        last_msg_time=from_seconds(item.get("LastMsgTime")),
        subscriber_count=_count(item.get("SubscriberNum")),
        max_subscriber_count=_count(item.get("MaxSubscriberNum")),
        error_code=code if code is not None else -1,
        error_info=error_info(item) if code else "",
    )


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def from_seconds(value: Any) -> datetime | None:
    """Tencent's Unix seconds (``CreateTime``, ``SubscribeTime``) as an aware moment; None
    for 0 or anything that is not a plausible time."""
    seconds = as_int(value)
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds is not None and seconds > 0 else None


def _count(value: Any) -> int | None:
    count = as_int(value)
    return count if count is not None and count >= 0 else None


def _items(reply: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = reply.get(key)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _profile(
    name: str | None,
    introduction: str | None,
    face_url: str | None,
    organization: str | None,
    custom_string: str | None,
) -> dict[str, str | None]:
    return {
        "Name": name,
        "Introduction": introduction,
        "FaceUrl": face_url,
        "Organization": organization,
        "CustomString": custom_string,
    }


class AccountsApi:
    """The family's calls as methods of :class:`.TencentChatClient` (a mixin)."""

    create_official_account = create_official_account
    destroy_official_account = destroy_official_account
    modify_official_account = modify_official_account
    get_official_account_info = get_official_account_info
    get_subscribed_official_accounts = get_subscribed_official_accounts
