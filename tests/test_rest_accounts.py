"""The account and subscriber REST calls against a local server that plays Tencent
(tests/fake_tencent_oa.py): what is sent, what is read back, paging, errors, limits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from pytest_httpserver import HTTPServer

from officialaccount_webhook.conf import RestSettings, TencentApp
from officialaccount_webhook.tencent import (
    AppUnavailableError,
    AuthenticationError,
    InvalidRequestError,
    OfficialAccountNotFoundError,
    PermissionDeniedError,
    ProfileLimitError,
    RateLimitedError,
    SubscriberPagingError,
    TencentApiError,
    TencentChatClient,
    TencentChatError,
    TencentInternalError,
)
from officialaccount_webhook.tencent.client import base_url_for
from tests.fake_tencent_oa import FakeTencentOA
from tests.tencent import SECRET_KEY, decode_usersig

SDK_APP_ID = 1400000000
ADMIN = "administrator"
FAST = RestSettings(
    rate_limit=1000, connect_timeout=1, read_timeout=2, max_retries=2, retry_backoff=0.01
)
NEWS = "@TOA#_news"


@pytest.fixture
def fake(httpserver: HTTPServer) -> FakeTencentOA:
    return FakeTencentOA().install(httpserver)


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(httpserver: HTTPServer, sleeps: list[float]) -> Iterator[TencentChatClient]:
    app = TencentApp(
        sdk_app_id=SDK_APP_ID,
        secret_key=SECRET_KEY,
        admin_identifier=ADMIN,
        api_base_url=httpserver.url_for("/"),
    )
    with TencentChatClient(app, FAST, sleep=sleeps.append) as client:
        yield client


# ------------------------------------------------------------------ accounts


def test_create_sends_every_field_and_returns_tencents_id(
    fake: FakeTencentOA, client: TencentChatClient
) -> None:
    created = client.create_official_account(
        "107867",
        "News",
        official_account=NEWS,
        introduction="Daily news",
        face_url="https://example.com/face.png",
        organization="Example Org",
        custom_string="x",
        max_subscriber_count=1000,
    )
    assert created == NEWS
    [(command, body, query)] = fake.requests
    assert command == "create_official_account"
    assert body == {
        "Owner_Account": "107867",
        "OfficialAccountUserID": NEWS,
        "Name": "News",
        "Introduction": "Daily news",
        "FaceUrl": "https://example.com/face.png",
        "Organization": "Example Org",
        "CustomString": "x",
        "MaxSubscriberNum": 1000,
    }
    assert query["sdkappid"] == str(SDK_APP_ID)
    assert query["identifier"] == ADMIN
    assert query["contenttype"] == "json"
    assert 0 <= int(query["random"]) < 2**32
    usersig = decode_usersig(query["usersig"])
    assert (usersig["TLS.identifier"], usersig["TLS.sdkappid"]) == (ADMIN, SDK_APP_ID)


def test_create_without_an_id_returns_the_one_tencent_made(
    fake: FakeTencentOA, client: TencentChatClient
) -> None:
    created = client.create_official_account("107867", "News")
    assert created.startswith("@TOA#_gen")
    assert fake.bodies("create_official_account") == [{"Owner_Account": "107867", "Name": "News"}]
    assert created in fake.accounts


def test_create_is_not_retried(fake: FakeTencentOA, client: TencentChatClient) -> None:
    # 60008 (Tencent's timeout) is retried for idempotent calls only: a repeated create
    # could make a second account.
    fake.fail("create_official_account", 60008)
    with pytest.raises(TencentApiError) as caught:
        client.create_official_account("107867", "News")
    assert caught.value.maybe_carried_out
    assert len(fake.bodies("create_official_account")) == 1


def test_create_refuses_a_custom_id_without_the_prefix(
    fake: FakeTencentOA, client: TencentChatClient
) -> None:
    with pytest.raises(ValueError, match="@TOA#_"):
        client.create_official_account("107867", "News", official_account="news")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("argument", "wire", "limit"),
    [
        ("name", "Name", 150),
        ("introduction", "Introduction", 400),
        ("face_url", "FaceUrl", 500),
        ("organization", "Organization", 500),
        ("custom_string", "CustomString", 3000),
    ],
)
def test_profile_limits_are_checked_in_bytes_before_any_call(
    fake: FakeTencentOA, client: TencentChatClient, argument: str, wire: str, limit: int
) -> None:
    fake.add_account(NEWS, name="News")
    too_long = "é" * (limit // 2) + "x"  # two bytes each in UTF-8: one byte over
    for call in (
        lambda value: client.create_official_account(
            **{"owner_account": "owner", "name": "N", argument: value}
        ),
        lambda value: client.modify_official_account(NEWS, **{argument: value}),
    ):
        with pytest.raises(ProfileLimitError) as caught:
            call(too_long)
        assert isinstance(caught.value, ValueError)
        assert (caught.value.field, caught.value.length, caught.value.limit) == (
            wire,
            limit + 1,
            limit,
        )
        assert wire in str(caught.value)
    assert fake.requests == []
    client.modify_official_account(NEWS, **{argument: "x" * limit})  # at the limit: sent
    assert fake.accounts[NEWS].profile[wire] == "x" * limit


def test_destroy(fake: FakeTencentOA, client: TencentChatClient) -> None:
    fake.add_account(NEWS)
    client.destroy_official_account(NEWS)
    assert fake.bodies("destroy_official_account") == [{"Official_Account": NEWS}]
    assert NEWS not in fake.accounts
    with pytest.raises(OfficialAccountNotFoundError) as caught:
        client.destroy_official_account(NEWS)
    assert caught.value.error_code == 10010
    assert isinstance(caught.value, TencentApiError)  # existing handlers still catch it


def test_modify_sends_only_the_fields_given(fake: FakeTencentOA, client: TencentChatClient) -> None:
    fake.add_account(NEWS, name="News", introduction="old")
    client.modify_official_account(NEWS, name="Daily News", max_subscriber_count=5)
    assert fake.bodies("modify_official_account_base_info") == [
        {"Official_Account": NEWS, "Name": "Daily News", "MaxSubscriberNum": 5}
    ]
    assert fake.accounts[NEWS].profile == {"Name": "Daily News", "Introduction": "old"}
    client.modify_official_account(NEWS, introduction="")  # emptying a field is a change
    assert fake.bodies("modify_official_account_base_info")[-1] == {
        "Official_Account": NEWS,
        "Introduction": "",
    }
    with pytest.raises(ValueError, match="Nothing to modify"):
        client.modify_official_account(NEWS)


def test_get_info_is_typed(fake: FakeTencentOA, client: TencentChatClient) -> None:
    fake.add_account(NEWS, name="News", organization="Org", owner_account="107867").subscribe(
        "alice", "bob"
    )
    [news, missing] = client.get_official_account_info([NEWS, "@TOA#_missing"])
    assert fake.bodies("get_official_account_info") == [
        {
            "OfficialAccountIdList": [
                {"Official_Account": NEWS},
                {"Official_Account": "@TOA#_missing"},
            ]
        }
    ]
    assert (news.official_account, news.name, news.owner_account, news.organization) == (
        NEWS,
        "News",
        "107867",
        "Org",
    )
    assert news.created_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert (news.subscriber_count, news.found, news.last_msg_time) == (2, True, None)
    assert (missing.official_account, missing.found, missing.error_code) == (
        "@TOA#_missing",
        False,
        10010,
    )


def test_get_info_asks_fifty_accounts_a_call(
    fake: FakeTencentOA, client: TencentChatClient
) -> None:
    names = [f"@TOA#_{index:03d}" for index in range(60)]
    for name in names:
        fake.add_account(name, name=name)
    infos = client.get_official_account_info(names)
    assert [info.name for info in infos] == names
    assert [
        len(body["OfficialAccountIdList"]) for body in fake.bodies("get_official_account_info")
    ] == [
        50,
        10,
    ]


def test_get_info_when_tencent_refuses_the_whole_call(
    fake: FakeTencentOA, client: TencentChatClient
) -> None:
    fake.not_found_fails_whole_call = True
    with pytest.raises(OfficialAccountNotFoundError):
        client.get_official_account_info(["@TOA#_missing"])


def test_subscribed_accounts_follow_the_offset_paging(
    httpserver: HTTPServer, client: TencentChatClient
) -> None:
    fake = FakeTencentOA(subscribed_page_cap=2).install(httpserver)
    for index in range(5):
        fake.add_account(f"@TOA#_{index}", name=f"A{index}").subscribe(
            "alice", at=1_700_000_000 + index, custom_string=f"c{index}"
        )
    fake.add_account("@TOA#_other").subscribe("bob")
    found = client.get_subscribed_official_accounts("alice")
    assert [item.account.official_account for item in found] == [f"@TOA#_{i}" for i in range(5)]
    assert [item.custom_string for item in found] == [f"c{i}" for i in range(5)]
    assert found[4].subscribed_at == datetime.fromtimestamp(1_700_000_004, tz=UTC)
    assert found[0].account.name == "A0"
    bodies = fake.bodies("get_subscribed_official_account_list")
    assert [(body["Subscriber_Account"], body["Offset"], body["Limit"]) for body in bodies] == [
        ("alice", 0, 200),
        ("alice", 2, 200),
        ("alice", 4, 200),
    ]


# ------------------------------------------------------------------ subscribers


def test_one_page_of_subscribers(fake: FakeTencentOA, client: TencentChatClient) -> None:
    fake.add_account(NEWS).subscribe("alice", "bob", "carol", at=1_700_000_500, custom_string="c")
    page = client.get_subscribers(NEWS, limit=2)
    assert fake.bodies("get_subscriber_info") == [
        {"Official_Account": NEWS, "Limit": 2, "Next": ""}
    ]
    assert [s.subscriber_account for s in page.subscribers] == ["alice", "bob"]
    first = page.subscribers[0]
    assert (first.subscribed_at, first.custom_string, first.msg_flag) == (
        datetime.fromtimestamp(1_700_000_500, tz=UTC),
        "c",
        "AcceptAndNotify",
    )
    assert (page.subscriber_count, page.finished) == (3, False)
    last = client.get_subscribers(NEWS, cursor=page.next_cursor, limit=2)
    assert fake.bodies("get_subscriber_info")[-1]["Next"] == page.next_cursor
    assert [s.subscriber_account for s in last.subscribers] == ["carol"]
    assert last.finished
    with pytest.raises(ValueError, match="limit"):
        client.get_subscribers(NEWS, limit=201)


def test_iter_subscribers_follows_the_cursor_a_page_at_a_time(
    httpserver: HTTPServer, client: TencentChatClient
) -> None:
    fake = FakeTencentOA(page_cap=3).install(httpserver)
    fake.add_account(NEWS).generate(8)
    pages = client.iter_subscribers(NEWS)
    first = next(pages)
    assert len(fake.requests) == 1  # asked only for what was taken
    rest = list(pages)
    assert [len(page.subscribers) for page in [first, *rest]] == [3, 3, 2]
    names = [s.subscriber_account for page in [first, *rest] for s in page.subscribers]
    assert names == sorted(fake.accounts[NEWS].subscribers)
    assert [body["Next"] for body in fake.bodies("get_subscriber_info")] == [
        "",
        first.next_cursor,
        rest[0].next_cursor,
    ]


def test_a_cursor_that_repeats_is_an_error(
    httpserver: HTTPServer, client: TencentChatClient
) -> None:
    httpserver.expect_request(
        "/v4/official_account_open_http_svc/get_subscriber_info"
    ).respond_with_json({"ErrorCode": 0, "Next": "same", "SubscriberNum": 9, "SubscriberList": []})
    with pytest.raises(SubscriberPagingError, match="repeated"):
        list(client.iter_subscribers(NEWS))


def test_add_subscribers_in_batches_of_a_hundred(
    fake: FakeTencentOA, client: TencentChatClient
) -> None:
    account = fake.add_account(NEWS).subscribe("user0000000")
    account.max_subscriber_num = 150
    asked = [f"user{index:07d}" for index in range(151)]
    results = client.add_subscribers(NEWS, asked)
    bodies = fake.bodies("add_subscriber")
    assert [len(body["SubscriberList"]) for body in bodies] == [100, 51]
    assert bodies[0]["SubscriberList"][:2] == [
        {"Subscriber_Account": "user0000000"},
        {"Subscriber_Account": "user0000001"},
    ]
    assert results.having(2) == ["user0000000"]  # already subscribed
    assert results.having(0) == ["user0000150"]  # the account was full
    assert len(results.having(1)) == 149
    assert not results.uncertain


def test_delete_and_modify_subscribers(fake: FakeTencentOA, client: TencentChatClient) -> None:
    fake.add_account(NEWS).subscribe("alice", "bob")
    results = client.delete_subscribers(NEWS, ["alice", "zed"])
    assert fake.bodies("delete_subscriber") == [
        {"Official_Account": NEWS, "SubscriberToDel_Account": ["alice", "zed"]}
    ]
    assert results.results == {"alice": 1, "zed": 2}
    client.modify_subscriber(NEWS, "bob", custom_string="vip")
    assert fake.bodies("modify_subscriber_info") == [
        {"Official_Account": NEWS, "Subscriber_Account": "bob", "CustomString": "vip"}
    ]
    assert fake.accounts[NEWS].subscribers["bob"].custom_string == "vip"
    with pytest.raises(ValueError, match="at least one"):
        client.add_subscribers(NEWS, [])


# ------------------------------------------------------------------ errors and regions


@pytest.mark.parametrize(
    ("code", "error_class"),
    [
        (10002, TencentInternalError),
        (10003, InvalidRequestError),
        (10004, InvalidRequestError),
        (10007, PermissionDeniedError),
        (60010, PermissionDeniedError),
        (10010, OfficialAccountNotFoundError),
        (60007, RateLimitedError),
        (70009, AuthenticationError),
        (70051, AuthenticationError),
        (60016, AppUnavailableError),
        (70020, AppUnavailableError),
        (12345, TencentApiError),
    ],
)
def test_each_documented_error_has_its_class(
    fake: FakeTencentOA, client: TencentChatClient, code: int, error_class: type[Exception]
) -> None:
    fake.add_account(NEWS)
    fake.fail("get_subscriber_info", code, "the reason", times=3)  # more than the retries
    with pytest.raises(TencentApiError) as caught:
        client.get_subscribers(NEWS)
    assert type(caught.value) is error_class
    assert (caught.value.error_code, caught.value.error_info) == (code, "the reason")
    assert isinstance(caught.value, TencentChatError)


def test_rate_limits_are_retried_before_they_are_an_error(
    fake: FakeTencentOA, client: TencentChatClient, sleeps: list[float]
) -> None:
    fake.add_account(NEWS).subscribe("alice")
    fake.fail("get_subscriber_info", 60018)
    page = client.get_subscribers(NEWS)
    assert [s.subscriber_account for s in page.subscribers] == ["alice"]
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("region", "domain"),
    [("mumbai", "adminapiind.im.qcloud.com"), ("Tokyo", "adminapijpn.im.qcloud.com")],
)
def test_regions(region: str, domain: str) -> None:
    assert base_url_for(TencentApp(sdk_app_id=1, region=region)) == f"https://{domain}"
