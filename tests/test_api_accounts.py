"""The accounts API: list, detail and an account's subscribers, read-only; its filters, its 400s
naming the parameter, its permissions and per-app scope, its cursor paging, its query count
that does not grow with the rows, and its place in the OpenAPI schema."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from officialaccount_webhook.models import AppGrant, OfficialAccount, OfficialAccountSubscriber
from tests.settings import SIGNED_APP, UNSIGNED_APP
from tests.tencent import ACCOUNT

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/officialaccount/accounts/"
VIEW_ACCOUNT = "view_officialaccount"
VIEW_SUBSCRIBER = "view_officialaccountsubscriber"
WHEN = datetime(2024, 6, 1, tzinfo=UTC)


def subscribers_url(account: OfficialAccount | int | str) -> str:
    pk = account.pk if isinstance(account, OfficialAccount) else account
    return f"{ACCOUNTS}{pk}/subscribers/"


def client_with(*codenames: str, username: str = "service", app: int | None = None) -> Client:
    """A logged-in client whose user has these permissions (and, with ``app``, a grant)."""
    user = User.objects.create_user(username, password="pw")
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    if app is not None:
        AppGrant.objects.create(sdk_app_id=app, user=user)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def subscribe(account: OfficialAccount, *names: str, gone: bool = False) -> None:
    OfficialAccountSubscriber.objects.bulk_create(
        OfficialAccountSubscriber(
            account=account,
            subscriber_account=name,
            subscribed_at=WHEN,
            unsubscribed_at=WHEN + timedelta(days=1) if gone else None,
        )
        for name in names
    )


@pytest.fixture
def accounts() -> dict[str, OfficialAccount]:
    """Three accounts of the signed app (active, full, destroyed) and one of the other app."""
    made = {
        "active": OfficialAccount.objects.create(
            sdk_app_id=SIGNED_APP,
            official_account=ACCOUNT,
            name="Morning News",
            owner_account="editor",
            subscriber_count=3,
            created_at=WHEN,
        ),
        "full": OfficialAccount.objects.create(
            sdk_app_id=SIGNED_APP,
            official_account="@TOA#_FULL",
            name="体育频道",
            is_full=True,
            full_at=WHEN,
        ),
        "destroyed": OfficialAccount.objects.create(
            sdk_app_id=SIGNED_APP,
            official_account="@TOA#_GONE",
            name="Evening news",
            is_full=True,  # destroyed outranks full
            destroyed_at=WHEN,
        ),
        "other": OfficialAccount.objects.create(
            sdk_app_id=UNSIGNED_APP, official_account="@TOA#_OTHER", name="Other app's news"
        ),
    }
    subscribe(made["active"], "carol", "alice", "bob")
    subscribe(made["active"], "dave", "erin", gone=True)
    subscribe(made["other"], "zed")
    return made


@pytest.fixture
def reader(accounts: dict[str, OfficialAccount]) -> Client:
    return client_with(VIEW_ACCOUNT, VIEW_SUBSCRIBER)


def ok(client: Client, url: str, **params: str) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def ids(page: Any) -> list[str]:
    return [row["official_account"] for row in page["results"]]


def subscribers(page: Any) -> list[str]:
    return [row["subscriber_account"] for row in page["results"]]


# ------------------------------------------------------------------ list and detail


def test_list_orders_by_account_id_with_python_names(
    reader: Client, accounts: dict[str, OfficialAccount]
) -> None:
    page = ok(reader, ACCOUNTS)
    assert ids(page) == ["@TOA#_2J4SZEAEL", "@TOA#_FULL", "@TOA#_GONE", "@TOA#_OTHER"]
    first = page["results"][0]
    assert first["id"] == accounts["active"].pk
    assert first["sdk_app_id"] == SIGNED_APP
    assert first["name"] == "Morning News"
    assert first["owner_account"] == "editor"
    assert first["subscriber_count"] == 3
    assert first["created_at"] == "2024-06-01T00:00:00Z"
    assert "profile_event_time" not in first  # the mirror's bookkeeping stays inside
    assert [row["state"] for row in page["results"]] == ["active", "full", "destroyed", "active"]


def test_detail(reader: Client, accounts: dict[str, OfficialAccount]) -> None:
    row = ok(reader, f"{ACCOUNTS}{accounts['destroyed'].pk}/")
    assert row["official_account"] == "@TOA#_GONE"
    assert (row["state"], row["is_full"]) == ("destroyed", True)
    assert row["destroyed_at"] == "2024-06-01T00:00:00Z"


@pytest.mark.parametrize("pk", ["0", "9" * 30, "-1", "abc", "0x10"])
def test_a_missing_or_malformed_account_is_a_404(reader: Client, pk: str) -> None:
    assert reader.get(f"{ACCOUNTS}{pk}/").status_code == 404
    assert reader.get(subscribers_url(pk)).status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"sdk_app_id": str(UNSIGNED_APP)}, ["@TOA#_OTHER"]),
        ({"sdk_app_id": "1"}, []),
        ({"official_account": "@TOA#_FULL"}, ["@TOA#_FULL"]),
        ({"official_account": "@TOA#_full"}, []),  # exact
        ({"official_account": ""}, []),
        ({"name": "NEWS"}, ["@TOA#_2J4SZEAEL", "@TOA#_GONE", "@TOA#_OTHER"]),
        ({"name": "news", "sdk_app_id": str(SIGNED_APP)}, ["@TOA#_2J4SZEAEL", "@TOA#_GONE"]),
        ({"name": "体育"}, ["@TOA#_FULL"]),
        ({"name": "%"}, []),  # no wildcard: a literal percent sign
        ({"name": "'s n"}, ["@TOA#_OTHER"]),
        ({"state": "active"}, ["@TOA#_2J4SZEAEL", "@TOA#_OTHER"]),
        ({"state": "full"}, ["@TOA#_FULL"]),
        ({"state": "destroyed"}, ["@TOA#_GONE"]),
        ({"state": "active", "name": "morning"}, ["@TOA#_2J4SZEAEL"]),
    ],
)
def test_account_filters(reader: Client, params: dict[str, str], expected: list[str]) -> None:
    assert ids(ok(reader, ACCOUNTS, **params)) == expected


def test_the_state_filter_agrees_with_the_state_field(reader: Client) -> None:
    for state in ("active", "full", "destroyed"):
        page = ok(reader, ACCOUNTS, state=state)
        assert {row["state"] for row in page["results"]} == {state}


# ------------------------------------------------------------------ subscribers


def test_subscribers_of_one_account_by_subscriber_account(
    reader: Client, accounts: dict[str, OfficialAccount]
) -> None:
    page = ok(reader, subscribers_url(accounts["active"]))
    assert subscribers(page) == ["alice", "bob", "carol", "dave", "erin"]
    alice, dave = page["results"][0], page["results"][3]
    assert alice["account"] == accounts["active"].pk
    assert (alice["is_current"], alice["unsubscribed_at"]) == (True, None)
    assert alice["subscribed_at"] == "2024-06-01T00:00:00Z"
    assert (dave["is_current"], dave["unsubscribed_at"]) == (False, "2024-06-02T00:00:00Z")
    assert subscribers(ok(reader, subscribers_url(accounts["full"]))) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"current": "true"}, ["alice", "bob", "carol"]),
        ({"current": "false"}, ["dave", "erin"]),
        ({"subscriber_account": "bob"}, ["bob"]),
        ({"subscriber_account": "BOB"}, []),  # exact
        ({"subscriber_account": "zed"}, []),  # another account's subscriber
        ({"subscriber_account": "dave", "current": "true"}, []),
        ({"subscriber_account": "dave", "current": "false"}, ["dave"]),
    ],
)
def test_subscriber_filters(
    reader: Client,
    accounts: dict[str, OfficialAccount],
    params: dict[str, str],
    expected: list[str],
) -> None:
    assert subscribers(ok(reader, subscribers_url(accounts["active"]), **params)) == expected


# ------------------------------------------------------------------ parameters out of range


def cursor(**tokens: str) -> str:
    return base64.b64encode(urlencode(tokens).encode()).decode()


BAD = [
    ({"sdk_app_id": "abc"}, "Enter a whole number."),
    ({"sdk_app_id": "9" * 19}, "Enter a whole number."),
    ({"sdk_app_id": "-1"}, "Enter a whole number."),
    ({"state": "gone"}, "Choose one of: active, full, destroyed."),
    ({"state": ""}, "Choose one of: active, full, destroyed."),
    ({"name": "x" * 201}, "Ensure this value has at most 200 characters."),
    ({"name": "a\x00b"}, "Must not contain a NUL character."),
    ({"official_account": "a" * 129}, "Ensure this value has at most 128 characters."),
    ({"page_size": "0"}, "Enter a whole number from 1 to 500."),
    ({"page_size": "501"}, "Enter a whole number from 1 to 500."),
    ({"page_size": "9" * 5000}, "Enter a whole number from 1 to 500."),
    ({"cursor": "é"}, "Invalid cursor."),
    ({"cursor": cursor(o="-1")}, "Invalid cursor."),
    ({"cursor": cursor(p="x" * 129)}, "Invalid cursor."),
    ({"cursor": cursor(p="a\x00b")}, "Invalid cursor."),
    ({"cursor": "x" * 501}, "Ensure this value has at most 500 characters."),
]
BAD_FOR_SUBSCRIBERS = [
    ({"current": "yes"}, "Enter true or false."),
    ({"current": "True"}, "Enter true or false."),
    ({"subscriber_account": "s" * 129}, "Ensure this value has at most 128 characters."),
    ({"subscriber_account": "\x00"}, "Must not contain a NUL character."),
    ({"page_size": "-5"}, "Enter a whole number from 1 to 500."),
    ({"cursor": cursor(r="x")}, "Invalid cursor."),
    ({"cursor": cursor(p="\x00")}, "Invalid cursor."),
]


@pytest.mark.parametrize(("params", "error"), BAD)
def test_bad_account_parameters_are_a_400_naming_them(
    reader: Client, params: dict[str, str], error: str
) -> None:
    response = reader.get(ACCOUNTS, params)
    assert response.status_code == 400, response.content
    assert response.json() == {name: error for name in params}


@pytest.mark.parametrize(("params", "error"), BAD_FOR_SUBSCRIBERS)
def test_bad_subscriber_parameters_are_a_400_naming_them(
    reader: Client, accounts: dict[str, OfficialAccount], params: dict[str, str], error: str
) -> None:
    response = reader.get(subscribers_url(accounts["active"]), params)
    assert response.status_code == 400, response.content
    assert response.json() == {name: error for name in params}


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": cursor(p="@TOA#_FULL")},
        {"cursor": cursor(p="")},
        {"cursor": cursor(o="100000", p="bob")},
        {"cursor": "!!!"},  # decodes to nothing: the first page, as DRF reads it
        {"page_size": "500"},
        {"unknown": "ignored"},
    ],
)
def test_edges_that_are_answered(
    reader: Client, accounts: dict[str, OfficialAccount], params: dict[str, str]
) -> None:
    assert reader.get(ACCOUNTS, params).status_code == 200
    assert reader.get(subscribers_url(accounts["active"]), params).status_code == 200


PARAMETERS = (
    "sdk_app_id",
    "official_account",
    "name",
    "state",
    "current",
    "subscriber_account",
    "page_size",
    "cursor",
)
# Any text; numbers past every range; cursors that are junk, or well formed with junk tokens.
VALUES = (
    st.text(max_size=40)
    | st.integers(min_value=-(10**25), max_value=10**25).map(str)
    | st.binary(max_size=60).map(lambda raw: base64.b64encode(raw).decode())
    | st.builds(cursor, o=st.text(max_size=12), r=st.text(max_size=3), p=st.text(max_size=140))
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=st.lists(st.tuples(st.sampled_from(PARAMETERS), VALUES), max_size=5))
def test_any_query_is_answered_200_or_400(
    reader: Client, accounts: dict[str, OfficialAccount], params: list[tuple[str, str]]
) -> None:
    for url in (ACCOUNTS, subscribers_url(accounts["active"])):
        response = reader.get(f"{url}?{urlencode(params)}")
        assert response.status_code in (200, 400), (params, response.content)
        if response.status_code == 400:
            assert set(response.json()) <= {name for name, _value in params}


# ------------------------------------------------------------------ permissions and scope


def test_anonymous_callers_are_refused(accounts: dict[str, OfficialAccount]) -> None:
    for url in (ACCOUNTS, f"{ACCOUNTS}{accounts['active'].pk}/", subscribers_url(1)):
        assert Client().get(url, {"state": "gone"}).status_code in (401, 403)


@pytest.mark.parametrize(
    ("codenames", "accounts_status", "subscribers_status"),
    [
        ((), 403, 403),
        (("view_officialaccountmessage",), 403, 403),
        ((VIEW_SUBSCRIBER,), 403, 403),  # the account must be visible to see its subscribers
        ((VIEW_ACCOUNT,), 200, 403),
        ((VIEW_ACCOUNT, VIEW_SUBSCRIBER), 200, 200),
    ],
)
def test_each_endpoint_needs_its_view_permissions(
    accounts: dict[str, OfficialAccount],
    codenames: tuple[str, ...],
    accounts_status: int,
    subscribers_status: int,
) -> None:
    client = client_with(*codenames)
    pk = accounts["active"].pk
    assert client.get(ACCOUNTS).status_code == accounts_status
    assert client.get(f"{ACCOUNTS}{pk}/").status_code == accounts_status
    assert client.get(subscribers_url(pk)).status_code == subscribers_status
    # Without the permission, a bad parameter tells nothing either.
    if subscribers_status == 403:
        assert client.get(subscribers_url(pk), {"current": "maybe"}).status_code == 403


def test_another_apps_accounts_are_invisible(accounts: dict[str, OfficialAccount]) -> None:
    client = client_with(VIEW_ACCOUNT, VIEW_SUBSCRIBER, app=SIGNED_APP)
    assert ids(ok(client, ACCOUNTS)) == ["@TOA#_2J4SZEAEL", "@TOA#_FULL", "@TOA#_GONE"]
    assert ids(ok(client, ACCOUNTS, sdk_app_id=str(UNSIGNED_APP))) == []
    assert ids(ok(client, ACCOUNTS, official_account="@TOA#_OTHER")) == []
    other = accounts["other"].pk
    assert client.get(f"{ACCOUNTS}{other}/").status_code == 404
    assert client.get(subscribers_url(other)).status_code == 404
    assert client.get(subscribers_url(other), {"current": "true"}).status_code == 404
    assert subscribers(ok(client, subscribers_url(accounts["active"]), current="true")) == [
        "alice",
        "bob",
        "carol",
    ]
    # The other app's user sees the other app only.
    theirs = client_with(VIEW_ACCOUNT, VIEW_SUBSCRIBER, username="theirs", app=UNSIGNED_APP)
    assert ids(ok(theirs, ACCOUNTS)) == ["@TOA#_OTHER"]
    assert subscribers(ok(theirs, subscribers_url(other))) == ["zed"]
    assert theirs.get(subscribers_url(accounts["active"])).status_code == 404


@pytest.fixture
def require_grants() -> Iterator[None]:
    conf = {**django_settings.OFFICIALACCOUNT_WEBHOOK, "REQUIRE_APP_GRANTS": True}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        yield


def test_a_user_without_grants_sees_nothing_when_grants_are_required(
    accounts: dict[str, OfficialAccount], require_grants: None
) -> None:
    client = client_with(VIEW_ACCOUNT, VIEW_SUBSCRIBER)
    assert ids(ok(client, ACCOUNTS)) == []
    assert client.get(f"{ACCOUNTS}{accounts['active'].pk}/").status_code == 404
    assert client.get(subscribers_url(accounts["active"])).status_code == 404


# ------------------------------------------------------------------ paging


def walk(client: Client, url: str) -> tuple[list[str], Any]:
    """Every row's account ID, following the ``next`` links; and the last page."""
    seen: list[str] = []
    next_url: str | None = url
    while next_url:
        page = ok(client, next_url)
        assert "count" not in page  # no COUNT, however many rows
        seen += [
            row.get("subscriber_account") or row["official_account"] for row in page["results"]
        ]
        next_url = page["next"]
    return seen, page


def test_subscribers_page_by_cursor(reader: Client, accounts: dict[str, OfficialAccount]) -> None:
    seen, last = walk(reader, f"{subscribers_url(accounts['active'])}?page_size=2")
    assert seen == ["alice", "bob", "carol", "dave", "erin"]
    assert subscribers(ok(reader, last["previous"])) == ["carol", "dave"]
    seen, _last = walk(reader, f"{subscribers_url(accounts['active'])}?page_size=1&current=false")
    assert seen == ["dave", "erin"]


def test_accounts_page_by_cursor_across_apps_with_equal_ids(
    reader: Client, accounts: dict[str, OfficialAccount]
) -> None:
    # The same ID in both apps: the cursor must neither skip nor repeat one of them.
    OfficialAccount.objects.create(sdk_app_id=UNSIGNED_APP, official_account="@TOA#_FULL")
    seen, last = walk(reader, f"{ACCOUNTS}?page_size=2")
    assert seen == [
        "@TOA#_2J4SZEAEL",
        "@TOA#_FULL",
        "@TOA#_FULL",
        "@TOA#_GONE",
        "@TOA#_OTHER",
    ]
    assert ids(ok(reader, last["previous"])) == ["@TOA#_FULL", "@TOA#_GONE"]


# ------------------------------------------------------------------ query counts


def queries(client: Client, url: str) -> list[str]:
    """The reads a request runs: on PostgreSQL the query budget adds a savepoint and sets its
    statement_timeout, the same at any size."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    statements = [query["sql"] for query in captured.captured_queries]
    return [sql for sql in statements if sql.startswith("SELECT") and "set_config(" not in sql]


def test_a_page_costs_the_same_queries_at_any_size(
    accounts: dict[str, OfficialAccount],
) -> None:
    client = client_with(VIEW_ACCOUNT, VIEW_SUBSCRIBER, app=SIGNED_APP)
    active = accounts["active"]
    urls = (ACCOUNTS, f"{ACCOUNTS}{active.pk}/", subscribers_url(active))
    small = {url: queries(client, url) for url in urls}
    OfficialAccount.objects.bulk_create(
        OfficialAccount(sdk_app_id=SIGNED_APP, official_account=f"@TOA#_{index:03}")
        for index in range(120)
    )
    subscribe(active, *(f"user{index:04}" for index in range(600)))
    for url in urls:
        large = queries(client, url)
        assert len(large) == len(small[url]), url
        # Session, user, permissions, grants, then the rows (and, for subscribers, the account).
        assert len(large) <= 7, large
        assert not any("COUNT(" in sql.upper() for sql in large), large


# ------------------------------------------------------------------ the schema


def test_the_schema_lists_the_accounts_api(accounts: dict[str, OfficialAccount]) -> None:
    client = client_with("view_officialaccountmessage")
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    paths = schema["paths"]
    listed = paths["/api/officialaccount/accounts/"]["get"]
    assert {"sdk_app_id", "official_account", "name", "state", "cursor", "page_size"} <= {
        parameter["name"] for parameter in listed["parameters"]
    }
    assert "get" in paths["/api/officialaccount/accounts/{id}/"]
    nested = paths["/api/officialaccount/accounts/{account_pk}/subscribers/"]["get"]
    assert {"account_pk", "current", "subscriber_account", "cursor"} <= {
        parameter["name"] for parameter in nested["parameters"]
    }
    assert set(paths["/api/officialaccount/accounts/"]) == {"get"}  # read-only
    account = schema["components"]["schemas"]["Account"]["properties"]
    assert {"sdk_app_id", "official_account", "subscriber_count", "state"} <= set(account)
    subscriber = schema["components"]["schemas"]["Subscriber"]["properties"]
    assert {"subscriber_account", "subscribed_at", "unsubscribed_at", "is_current"} <= set(
        subscriber
    )
