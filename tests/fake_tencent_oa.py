"""A stateful fake of Tencent's official-account REST API, served by pytest-httpserver.

It keeps accounts and their subscribers and answers the eleven account and subscriber commands
in the shapes of Tencent's pages (1047/60755-60763, 60813) and doocs' models: ``ErrorCode`` 0
and the command's fields, or ``ActionStatus`` FAIL with an ``ErrorCode``. Subscribers are
listed in account-ID order, with an opaque ``Next`` cursor that names the last one listed, so
that a subscriber added or removed between two pages does not shift the others.

Usage::

    fake = FakeTencentOA().install(httpserver)
    fake.add_account("@TOA#_news", name="News").subscribe("alice", "bob")

``requests`` records every request (command, JSON body, query); ``fail(command, code)`` makes
the next call of a command fail; ``hook(command, body)`` runs before each answer.
"""

from __future__ import annotations

import base64
import bisect
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

SERVICE_PATH = "/v4/official_account_open_http_svc/"
NOT_FOUND = 10010
INVALID = 10004
COMMANDS = (
    "create_official_account",
    "destroy_official_account",
    "modify_official_account_base_info",
    "get_official_account_info",
    "get_subscriber_info",
    "add_subscriber",
    "delete_subscriber",
    "modify_subscriber_info",
    "get_subscribed_official_account_list",
)
_PROFILE_KEYS = ("Name", "Introduction", "FaceUrl", "Organization", "CustomString")
_WIRE_NAMES = {
    "name": "Name",
    "introduction": "Introduction",
    "face_url": "FaceUrl",
    "organization": "Organization",
    "custom_string": "CustomString",
}


@dataclass
class FakeSubscriber:
    subscribe_time: int
    custom_string: str = ""
    msg_flag: str = "AcceptAndNotify"


@dataclass
class FakeAccount:
    official_account: str
    owner_account: str = "owner"
    profile: dict[str, str] = field(default_factory=dict)
    max_subscriber_num: int = 100_000
    create_time: int = 1_700_000_000
    subscribers: dict[str, FakeSubscriber] = field(default_factory=dict)
    _order: list[str] | None = None

    def subscribe(
        self, *accounts: str, at: int = 1_700_000_100, custom_string: str = ""
    ) -> FakeAccount:
        for account in accounts:
            self.subscribers.setdefault(account, FakeSubscriber(at, custom_string))
        self._order = None
        return self

    def unsubscribe(self, *accounts: str) -> FakeAccount:
        for account in accounts:
            self.subscribers.pop(account, None)
        self._order = None
        return self

    def generate(self, count: int, prefix: str = "user") -> FakeAccount:
        """``count`` subscribers named ``user0000000``... (a large account, quickly)."""
        self.subscribers.update(
            (f"{prefix}{index:07d}", FakeSubscriber(1_700_000_100)) for index in range(count)
        )
        self._order = None
        return self

    def ordered(self) -> list[str]:
        if self._order is None:
            self._order = sorted(self.subscribers)
        return self._order


class FakeTencentOA:
    """Tencent's official-account API, for one app, in memory."""

    def __init__(self, *, page_cap: int = 200, subscribed_page_cap: int = 200) -> None:
        self.accounts: dict[str, FakeAccount] = {}
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.page_cap = page_cap
        """The most subscribers one page holds, whatever ``Limit`` asks (Tencent: 200)."""
        self.subscribed_page_cap = subscribed_page_cap
        self.not_found_fails_whole_call = False
        """get_official_account_info: refuse the call with 10010, instead of an item's code."""
        self.hook: Callable[[str, dict[str, Any]], None] | None = None
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._ids = itertools.count(1)

    def install(self, httpserver: HTTPServer) -> FakeTencentOA:
        for command in COMMANDS:
            httpserver.expect_request(SERVICE_PATH + command, method="POST").respond_with_handler(
                lambda request, command=command: self._answer(command, request)
            )
        return self

    def add_account(self, official_account: str, **profile: str) -> FakeAccount:
        """An account, with profile fields by Python name (``name``, ``custom_string``...)."""
        owner = profile.pop("owner_account", "owner")
        wire = {_WIRE_NAMES[name]: value for name, value in profile.items()}
        account = FakeAccount(official_account, owner, wire)
        self.accounts[official_account] = account
        return account

    def fail(self, command: str, code: int, info: str = "refused", times: int = 1) -> None:
        """The next ``times`` calls of ``command`` fail with ``code``."""
        self._failures.setdefault(command, []).extend([(code, info)] * times)

    def bodies(self, command: str) -> list[dict[str, Any]]:
        return [body for name, body, _ in self.requests if name == command]

    # ------------------------------------------------------------------ the wire

    def _answer(self, command: str, request: Request) -> Response:
        body: dict[str, Any] = json.loads(request.get_data())
        self.requests.append((command, body, dict(request.args)))
        if self.hook is not None:
            self.hook(command, body)
        failures = self._failures.get(command)
        reply = error(*failures.pop(0)) if failures else getattr(self, "_" + command)(body)
        return Response(json.dumps(reply), content_type="application/json")

    def _account(self, body: dict[str, Any]) -> FakeAccount | None:
        return self.accounts.get(body.get("Official_Account", ""))

    def _create_official_account(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("Owner_Account") or not body.get("Name"):
            return error(INVALID, "Owner_Account and Name are required")
        official_account = body.get("OfficialAccountUserID") or f"@TOA#_gen{next(self._ids)}"
        if official_account in self.accounts:
            return error(INVALID, "official account already exists")  # [inferred] code
        account = FakeAccount(official_account, body["Owner_Account"])
        account.profile = {key: body[key] for key in _PROFILE_KEYS if key in body}
        account.max_subscriber_num = body.get("MaxSubscriberNum", 100_000)
        self.accounts[official_account] = account
        return ok(OfficialAccountUserID=official_account)

    def _destroy_official_account(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.accounts.pop(body.get("Official_Account", ""), None) is None:
            return error(NOT_FOUND, "official account not exist")
        return ok()

    def _modify_official_account_base_info(self, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(body)
        if account is None:
            return error(NOT_FOUND, "official account not exist")
        account.profile |= {key: body[key] for key in _PROFILE_KEYS if key in body}
        account.max_subscriber_num = body.get("MaxSubscriberNum", account.max_subscriber_num)
        return ok()

    def _get_official_account_info(self, body: dict[str, Any]) -> dict[str, Any]:
        items = []
        for entry in body["OfficialAccountIdList"]:
            account = self.accounts.get(entry["Official_Account"])
            if account is None:
                if self.not_found_fails_whole_call:
                    return error(NOT_FOUND, "official account not exist")
                items.append(
                    {"Official_Account": entry["Official_Account"]}
                    | error(NOT_FOUND, "official account not exist")
                )
            else:
                items.append(ok(**self._info(account)))
        return ok(OfficialAccountInfoList=items)

    def _info(self, account: FakeAccount) -> dict[str, Any]:
        return {
            "Official_Account": account.official_account,
            "Owner_Account": account.owner_account,
            "CreateTime": account.create_time,
            "LastMsgTime": 0,
            "SubscriberNum": len(account.subscribers),
            **{key: account.profile.get(key, "") for key in _PROFILE_KEYS},
        }

    def _get_subscriber_info(self, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(body)
        if account is None:
            return error(NOT_FOUND, "official account not exist")
        names = account.ordered()
        size = min(body.get("Limit") or len(names), self.page_cap)
        start = bisect.bisect_right(names, _decode(body["Next"])) if body["Next"] else 0
        page = names[start : start + size]
        more = start + size < len(names)
        return ok(
            Next=_encode(page[-1]) if more and page else "",
            SubscriberNum=len(names),
            SubscriberList=[
                {
                    "Subscriber_Account": name,
                    "SubscribeTime": account.subscribers[name].subscribe_time,
                    "CustomString": account.subscribers[name].custom_string,
                    "MsgFlag": account.subscribers[name].msg_flag,
                    "LastSendMsgTime": 0,
                }
                for name in page
            ],
        )

    def _add_subscriber(self, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(body)
        if account is None:
            return error(NOT_FOUND, "official account not exist")
        if len(body["SubscriberList"]) > 100:
            return error(INVALID, "at most 100 subscribers at a time")
        results = []
        for entry in body["SubscriberList"]:
            name = entry["Subscriber_Account"]
            if name in account.subscribers:
                result = 2
            elif len(account.subscribers) >= account.max_subscriber_num:
                result = 0
            else:
                account.subscribe(name)
                result = 1
            results.append({"Subscriber_Account": name, "Result": result})
        return ok(SubscriberList=results)

    def _delete_subscriber(self, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(body)
        if account is None:
            return error(NOT_FOUND, "official account not exist")
        results = []
        for name in body["SubscriberToDel_Account"]:
            result = 1 if name in account.subscribers else 2
            results.append({"Subscriber_Account": name, "Result": result})
            account.unsubscribe(name)
        return ok(SubscriberList=results)

    def _modify_subscriber_info(self, body: dict[str, Any]) -> dict[str, Any]:
        account = self._account(body)
        if account is None:
            return error(NOT_FOUND, "official account not exist")
        subscriber = account.subscribers.get(body["Subscriber_Account"])
        if subscriber is None:
            return error(INVALID, "not a subscriber")  # [inferred] code
        subscriber.custom_string = body.get("CustomString", subscriber.custom_string)
        return ok()

    def _get_subscribed_official_account_list(self, body: dict[str, Any]) -> dict[str, Any]:
        user = body["Subscriber_Account"]
        mine = sorted(oa for oa, account in self.accounts.items() if user in account.subscribers)
        offset = body.get("Offset", 0)
        size = min(body.get("Limit", 200), self.subscribed_page_cap)
        page = mine[offset : offset + size]
        done = offset + size >= len(mine)
        items = []
        for official_account in page:
            account = self.accounts[official_account]
            subscriber = account.subscribers[user]
            self_info = {
                "SubscribeTime": subscriber.subscribe_time,
                "CustomString": subscriber.custom_string,
            }
            items.append(self._info(account) | {"SelfInfo": self_info})
        return ok(
            OfficialAccountInfoList=items,
            TotalCount=len(mine),
            CompleteFlag=1 if done else 0,
            Next=offset + len(page),
        )


def ok(**fields: Any) -> dict[str, Any]:
    return {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0, **fields}


def error(code: int, info: str = "refused") -> dict[str, Any]:
    return {"ActionStatus": "FAIL", "ErrorInfo": info, "ErrorCode": code}


def _encode(name: str) -> str:
    return base64.b64encode(name.encode()).decode()


def _decode(cursor: str) -> str:
    return base64.b64decode(cursor).decode()
