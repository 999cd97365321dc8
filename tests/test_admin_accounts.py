"""The admin of official accounts and subscribers: the pages, the per-app scope, and the actions
on Tencent, each behind its permission and a confirmation page, against a stateful fake of
Tencent's API (tests/fake_tencent_oa.py) on a local server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from pytest_httpserver import HTTPServer

from officialaccount_webhook.admin.times import moment
from officialaccount_webhook.models import (
    AppGrant,
    OfficialAccount,
    OfficialAccountMessage,
    OfficialAccountSubscriber,
)
from officialaccount_webhook.signals import account_changed, subscribers_changed
from tests.fake_tencent_oa import FakeTencentOA
from tests.settings import SIGNED_APP, UNSIGNED_APP
from tests.tencent import SECRET_KEY

pytestmark = pytest.mark.django_db

APP_A, APP_B = SIGNED_APP, UNSIGNED_APP  # A calls Tencent; B has no SECRET_KEY
NEWS, SPORTS = "@TOA#_news", "@TOA#_sports"
ACCOUNTS = "admin:officialaccount_webhook_officialaccount_changelist"
SUBSCRIBERS = "admin:officialaccount_webhook_officialaccountsubscriber_changelist"
MESSAGES = "admin:officialaccount_webhook_officialaccountmessage_changelist"
WHEN = datetime(2024, 6, 1, tzinfo=UTC)
VIEW = ("view_officialaccount", "view_officialaccountsubscriber", "view_officialaccountmessage")
# Each action, its permission, and a valid form for it.
ACTIONS = {
    "create": ("create_officialaccount", {"sdk_app_id": APP_A, "owner_account": "o", "name": "N"}),
    "modify": ("change_officialaccount_on_tencent", {"name": "News, daily"}),
    "destroy": ("destroy_officialaccount", {}),
    "add_subscribers": ("manage_officialaccountsubscribers", {"subscriber_accounts": "alice"}),
    "remove_subscribers": ("manage_officialaccountsubscribers", {"subscriber_accounts": "bob"}),
}


@pytest.fixture(autouse=True)
def fake(httpserver: HTTPServer) -> Iterator[FakeTencentOA]:
    """App A calls the fake Tencent; app B is configured for callbacks only."""
    conf = {
        "APPS": {
            APP_A: {
                "CALLBACK_TOKENS": ["current-token"],
                "SECRET_KEY": SECRET_KEY,
                "API_BASE_URL": httpserver.url_for("/"),
            },
            APP_B: {"CALLBACK_TOKENS": ["current-token"]},
        },
        "REST_RETRY_BACKOFF": 0,
        "REST_RATE_LIMIT": 100_000,
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        yield FakeTencentOA().install(httpserver)


def account(official_account: str = NEWS, sdk_app_id: int = APP_A, **fields: Any) -> Any:
    return OfficialAccount.objects.create(
        sdk_app_id=sdk_app_id, official_account=official_account, **fields
    )


def subscribe(to: OfficialAccount, *names: str, former: bool = False) -> None:
    OfficialAccountSubscriber.objects.bulk_create(
        OfficialAccountSubscriber(
            account=to,
            subscriber_account=name,
            subscribed_at=WHEN,
            unsubscribed_at=WHEN + timedelta(days=1) if former else None,
        )
        for name in names
    )


def message(official_account: str, msg_key: str, when: datetime, sdk_app_id: int = APP_A) -> Any:
    return OfficialAccountMessage.objects.create(
        sdk_app_id=sdk_app_id,
        official_account=official_account,
        msg_key=msg_key,
        msg_time=when,
        event_time=when,
        msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": msg_key}}],
    )


def staff(*permissions: str, name: str = "staff") -> Client:
    user = User.objects.create_user(name, password="pw", is_staff=True)
    for codename in (*VIEW, *permissions):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def action_url(name: str, target: OfficialAccount | None = None) -> str:
    view = f"admin:officialaccount_webhook_officialaccount_{name}"
    return reverse(view) if target is None else reverse(view, args=[target.pk])


def rows(response: Any) -> list[Any]:
    return list(response.context["cl"].result_list)


def shown(response: Any) -> str:
    """The page's text, tags removed: what a person reads."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


# ------------------------------------------------------------------ the accounts list


def test_accounts_list_shows_state_count_last_message_and_links(admin_client: Client) -> None:
    news = account(NEWS, name="News", subscriber_count=3)
    account(SPORTS, name="Sports", is_full=True)
    account("@TOA#_gone", name="Gone", destroyed_at=WHEN)
    message(NEWS, "1_1_1", WHEN)
    message(NEWS, "2_1_1", WHEN + timedelta(hours=5))
    # The same ID in another app, later: not this account's.
    message(NEWS, "3_1_1", WHEN + timedelta(days=9), sdk_app_id=APP_B)
    response = admin_client.get(reverse(ACCOUNTS))
    assert response.status_code == 200
    model_admin = response.context["cl"].model_admin
    by_id = {row.official_account: row for row in rows(response)}
    assert [model_admin.state(by_id[key]) for key in (NEWS, SPORTS, "@TOA#_gone")] == [
        "active",
        "full",
        "destroyed",
    ]
    assert model_admin.last_message(by_id[NEWS]) == moment(WHEN + timedelta(hours=5))
    assert model_admin.last_message(by_id[SPORTS]) == "-"
    text = shown(response)
    for header in ("Name", "Official account", "SDKAppID", "State", "Subscriber count"):
        assert header in text
    assert "Last message" in text and "2024-06-01 05:00:00 UTC" in text  # admin/times.py
    # The links: the account's messages (app and account) and its subscribers.
    subscribe(news, "alice")
    subscribe(account(NEWS, sdk_app_id=APP_B), "mallory")
    links = [unescape(link) for link in re.findall(r'href="([^"]+)"', response.text)]
    links = [link for link in links if link.endswith("official_account=%40TOA%23_news")]
    messages_link = next(link for link in links if "officialaccountmessage/?" in link)
    assert messages_link.endswith(f"?sdk_app_id={APP_A}&official_account=%40TOA%23_news")
    listed = admin_client.get(messages_link)
    assert sorted(m.msg_key for m in rows(listed)) == ["1_1_1", "2_1_1"]
    subscribers_link = next(link for link in links if "officialaccountsubscriber/?" in link)
    assert [s.subscriber_account for s in rows(admin_client.get(subscribers_link))] == ["alice"]


def test_accounts_filters_and_search(admin_client: Client) -> None:
    account(NEWS, name="Morning news")
    account(SPORTS, name="Sports", is_full=True)
    account("@TOA#_gone", name="Gone news", destroyed_at=WHEN, is_full=True)
    account("@TOA#_b", name="Other app", sdk_app_id=APP_B)

    def ids(**params: Any) -> list[str]:
        response = admin_client.get(reverse(ACCOUNTS), params)
        assert response.status_code == 200
        return sorted(row.official_account for row in rows(response))

    assert ids(state="active") == ["@TOA#_b", NEWS]
    assert ids(state="full") == [SPORTS]
    assert ids(state="destroyed") == ["@TOA#_gone"]
    assert ids(state="nonsense") == []
    assert ids(sdk_app_id=APP_B) == ["@TOA#_b"]
    assert ids(q="news") == ["@TOA#_gone", NEWS]
    assert ids(q=SPORTS) == [SPORTS]
    assert ids(q="@TOA#_spo") == []  # an ID matches whole


def test_accounts_list_makes_a_fixed_number_of_queries(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    def more(start: int, count: int) -> None:
        for n in range(start, start + count):
            account(f"@TOA#_{n}", name=f"Account {n}")
            message(f"@TOA#_{n}", f"{n}_1_1", WHEN + timedelta(minutes=n))

    more(0, 2)
    admin_client.get(reverse(ACCOUNTS))  # warm the session and content types
    with CaptureQueriesContext(connection) as captured:
        admin_client.get(reverse(ACCOUNTS))
    expected = len(captured)
    more(2, 40)
    with django_assert_max_num_queries(expected):
        response = admin_client.get(reverse(ACCOUNTS))
    assert len(rows(response)) == 42


def test_the_mirror_is_read_only_in_the_admin(admin_client: Client) -> None:
    news = account(NEWS, name="News")
    subscribe(news, "alice")
    row = OfficialAccountSubscriber.objects.get()
    for model, pk in (("officialaccount", news.pk), ("officialaccountsubscriber", row.pk)):
        base = f"admin:officialaccount_webhook_{model}"
        assert admin_client.get(reverse(f"{base}_add")).status_code == 403
        delete = reverse(f"{base}_delete", args=[pk])
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403
        page = admin_client.get(reverse(f"{base}_change", args=[pk]))
        assert page.status_code == 200 and 'name="_save"' not in page.text
    assert OfficialAccount.objects.count() == OfficialAccountSubscriber.objects.count() == 1


# ------------------------------------------------------------------ the subscribers list


@pytest.fixture
def followed() -> dict[str, OfficialAccount]:
    news, sports = account(NEWS, name="News"), account(SPORTS, name="Sports")
    other = account(NEWS, sdk_app_id=APP_B, name="News B")
    subscribe(news, "alice", "bob")
    subscribe(news, "carol", former=True)
    subscribe(sports, "alice")
    subscribe(other, "mallory")
    return {"news": news, "sports": sports, "other": other}


def subscriptions(client: Client, **params: Any) -> list[tuple[str, str]]:
    response = client.get(reverse(SUBSCRIBERS), params)
    assert response.status_code == 200
    return sorted((row.account.official_account, row.subscriber_account) for row in rows(response))


def test_subscribers_search_by_subscriber_account_or_both(
    admin_client: Client, followed: dict[str, OfficialAccount]
) -> None:
    assert subscriptions(admin_client, q="alice") == [(NEWS, "alice"), (SPORTS, "alice")]
    assert subscriptions(admin_client, q=SPORTS) == [(SPORTS, "alice")]
    assert subscriptions(admin_client, q=f"{NEWS} alice") == [(NEWS, "alice")]
    assert subscriptions(admin_client, q="ali") == []  # whole IDs only
    assert len(subscriptions(admin_client, q=NEWS)) == 4  # in both apps
    refused = admin_client.get(reverse(SUBSCRIBERS), {"q": "a b c d e f"})
    assert rows(refused) == [] and "at most 5 IDs" in refused.text
    assert subscriptions(admin_client, q="x" * 200) == []


def test_subscribers_filters(admin_client: Client, followed: dict[str, OfficialAccount]) -> None:
    assert subscriptions(admin_client, current="yes", official_account=NEWS) == [
        (NEWS, "alice"),
        (NEWS, "bob"),
        (NEWS, "mallory"),
    ]
    assert subscriptions(admin_client, current="no") == [(NEWS, "carol")]
    assert subscriptions(admin_client, sdk_app_id=APP_B) == [(NEWS, "mallory")]
    assert subscriptions(admin_client, sdk_app_id=APP_A, official_account=SPORTS) == [
        (SPORTS, "alice")
    ]
    assert subscriptions(admin_client, official_account="@TOA#_none") == []
    assert subscriptions(admin_client, current="maybe") == []
    assert subscriptions(admin_client, sdk_app_id="1e3") == []
    page = admin_client.get(reverse(SUBSCRIBERS)).text
    assert "Current subscribers" in page and "Former subscribers" in page


def test_subscribers_list_makes_a_fixed_number_of_queries(
    admin_client: Client, django_assert_max_num_queries: Any, followed: dict[str, Any]
) -> None:
    params = {"official_account": NEWS, "current": "yes", "q": "alice"}
    for query in ({}, params):
        admin_client.get(reverse(SUBSCRIBERS), query)
        with CaptureQueriesContext(connection) as captured:
            admin_client.get(reverse(SUBSCRIBERS), query)
        expected = len(captured)
        subscribe(account(f"@TOA#_{len(query)}"), *(f"user{n}" for n in range(60)))
        with django_assert_max_num_queries(expected):
            assert admin_client.get(reverse(SUBSCRIBERS), query).status_code == 200


# ------------------------------------------------------------------ messages: the account's name


def test_messages_show_the_accounts_name_beside_its_id(
    admin_client: Client, django_assert_max_num_queries: Any
) -> None:
    account(NEWS, name="Morning News")
    message(NEWS, "1_1_1", WHEN)
    message("@TOA#_unknown", "1_1_1", WHEN)
    response = admin_client.get(reverse(MESSAGES))
    assert "@TOA#_news (Morning News)" in shown(response)
    with CaptureQueriesContext(connection) as captured:
        admin_client.get(reverse(MESSAGES))
    expected = len(captured)
    for n in range(30):
        account(f"@TOA#_{n}", name=f"Account {n}")
        message(f"@TOA#_{n}", f"{n}_1_1", WHEN + timedelta(minutes=n))
    with django_assert_max_num_queries(expected):
        response = admin_client.get(reverse(MESSAGES))
    assert "@TOA#_29 (Account 29)" in shown(response)
    detail = OfficialAccountMessage.objects.get(official_account=NEWS)
    page = admin_client.get(
        reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[detail.pk])
    )
    assert "@TOA#_news (Morning News)" in shown(page)


# ------------------------------------------------------------------ scope


def test_a_user_of_one_app_sees_and_acts_on_that_app_only(
    followed: dict[str, OfficialAccount],
) -> None:
    client = staff(*(permission for permission, _ in ACTIONS.values()))
    AppGrant.objects.create(sdk_app_id=APP_B, user=User.objects.get(username="staff"))
    listed = client.get(reverse(ACCOUNTS))
    assert [(row.sdk_app_id, row.official_account) for row in rows(listed)] == [(APP_B, NEWS)]
    assert subscriptions(client) == [(NEWS, "mallory")]
    assert subscriptions(client, q="alice") == []
    news = followed["news"]
    change = reverse("admin:officialaccount_webhook_officialaccount_change", args=[news.pk])
    assert client.get(change).status_code == 302  # "does not exist", as Django says it
    for name in ("modify", "destroy", "add_subscribers", "remove_subscribers"):
        assert client.get(action_url(name, news)).status_code == 404
        assert client.post(action_url(name, news), {"confirm": "yes"}).status_code == 404
    # Creating: only in the user's app, which cannot call Tencent here.
    page = client.get(action_url("create"))
    assert page.context["mode"] == "unavailable"
    refused = client.post(action_url("create"), {**ACTIONS["create"][1], "confirm": "yes"})
    assert refused.context["mode"] == "unavailable"


# ------------------------------------------------------------------ actions: permissions


@pytest.mark.parametrize("name", list(ACTIONS))
def test_each_action_needs_its_own_permission(name: str, fake: FakeTencentOA) -> None:
    news = account(NEWS, name="News")
    fake.add_account(NEWS, name="News").subscribe("bob")
    target = None if name == "create" else news
    permission, data = ACTIONS[name]
    others = [other for other, _ in ACTIONS.values() if other != permission]
    without = staff(*others, name="without")
    assert without.get(action_url(name, target)).status_code == 403
    assert without.post(action_url(name, target), {**data, "confirm": "yes"}).status_code == 403
    assert fake.requests == []
    page = reverse(ACCOUNTS) if target is None else news_page(news)
    assert action_url(name, target) not in without.get(page).text
    with_it = staff(permission, name="with")
    assert with_it.get(action_url(name, target)).status_code == 200
    assert action_url(name, target) in with_it.get(page).text


def news_page(news: OfficialAccount) -> str:
    return reverse("admin:officialaccount_webhook_officialaccount_change", args=[news.pk])


def test_a_destroyed_account_offers_no_action(admin_client: Client, fake: FakeTencentOA) -> None:
    gone = account(NEWS, name="News", destroyed_at=WHEN)
    assert action_url("modify", gone) not in admin_client.get(news_page(gone)).text
    response = admin_client.post(action_url("modify", gone), {"name": "x", "confirm": "yes"})
    assert response.status_code == 302 and response.url == news_page(gone)
    assert fake.requests == []


# ------------------------------------------------------------------ actions: Tencent first


def test_create_asks_then_confirms_then_mirrors_tencents_answer(
    admin_client: Client, fake: FakeTencentOA
) -> None:
    form = admin_client.get(action_url("create"))
    assert form.context["mode"] == "form"
    assert "admin/officialaccount_webhook/officialaccount/tencent_action.html" in [
        template.name for template in form.templates
    ]
    data = {
        "sdk_app_id": APP_A,
        "owner_account": "107867",
        "name": "Weather",
        "official_account": "@TOA#_weather",
        "introduction": "Rain or shine",
    }
    confirm = admin_client.post(action_url("create"), data)
    assert confirm.context["mode"] == "confirm"
    assert "Rain or shine" in shown(confirm) and "Yes, create it" in confirm.text
    assert fake.requests == []  # nothing asked of Tencent before the confirmation
    assert OfficialAccount.objects.count() == 0

    def tencent_sets_organization(command: str, body: dict[str, Any]) -> None:
        if command == "get_official_account_info":
            fake.accounts["@TOA#_weather"].profile["Organization"] = "Set by Tencent"

    fake.hook = tencent_sets_organization
    done = admin_client.post(action_url("create"), {**data, "confirm": "yes"})
    created = OfficialAccount.objects.get()
    assert done.status_code == 302 and done.url == news_page(created)
    assert [command for command, _, _ in fake.requests] == [
        "create_official_account",
        "get_official_account_info",
    ]
    assert fake.bodies("create_official_account") == [
        {
            "Owner_Account": "107867",
            "OfficialAccountUserID": "@TOA#_weather",
            "Name": "Weather",
            "Introduction": "Rain or shine",
        }
    ]
    assert (created.sdk_app_id, created.official_account, created.name) == (
        APP_A,
        "@TOA#_weather",
        "Weather",
    )
    assert created.organization == "Set by Tencent"  # read back from Tencent
    assert created.created_at == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert "Tencent created the official account @TOA#_weather." in shown(
        admin_client.get(done.url)
    )


def test_create_without_an_id_takes_tencents(admin_client: Client, fake: FakeTencentOA) -> None:
    data = {"sdk_app_id": APP_A, "owner_account": "107867", "name": "Weather", "confirm": "yes"}
    admin_client.post(action_url("create"), data)
    assert OfficialAccount.objects.get().official_account == "@TOA#_gen1"
    assert "OfficialAccountUserID" not in fake.bodies("create_official_account")[0]


def test_the_form_refuses_what_tencent_would(admin_client: Client, fake: FakeTencentOA) -> None:
    data = {"sdk_app_id": APP_A, "owner_account": "o", "name": "名" * 51, "confirm": "yes"}
    data["official_account"] = "weather"
    response = admin_client.post(action_url("create"), data)
    errors = response.context["form"].errors
    assert "At most 150 bytes" in str(errors["name"])
    assert "starts with @TOA#_" in str(errors["official_account"])
    assert (
        admin_client.post(action_url("create"), {**data, "sdk_app_id": APP_B})
        .context["form"]
        .errors["sdk_app_id"]
    )
    assert fake.requests == []


def test_tencents_error_is_shown_in_words_and_the_mirror_stays(
    admin_client: Client, fake: FakeTencentOA
) -> None:
    fake.fail("create_official_account", 10004, "Name is invalid")
    data = {"sdk_app_id": APP_A, "owner_account": "o", "name": "Weather", "confirm": "yes"}
    response = admin_client.post(action_url("create"), data)
    assert response.status_code == 200 and response.context["mode"] == "form"
    error = response.context["tencent_error"]
    assert error.startswith("Tencent refused the request as invalid.")
    assert "Name is invalid (ErrorCode 10004)" in error
    assert error in shown(response)
    assert response.context["form"]["name"].value() == "Weather"  # to try again
    assert OfficialAccount.objects.count() == 0


def test_missing_credentials_are_said_before_the_form(admin_client: Client) -> None:
    other = account(NEWS, sdk_app_id=APP_B, name="News B")
    for name in ("modify", "destroy", "add_subscribers", "remove_subscribers"):
        response = admin_client.get(action_url(name, other))
        assert response.context["mode"] == "unavailable"
        assert "SECRET_KEY is needed to call Tencent" in shown(response)
        assert "<textarea" not in response.text and 'name="confirm"' not in response.text
    # Creating: the apps that cannot call Tencent are not offered, and said so.
    form = admin_client.get(action_url("create")).context
    assert form["mode"] == "form"
    assert [choice for choice, _ in form["form"].fields["sdk_app_id"].choices] == [APP_A]
    assert any(f"App {APP_B}" in reason for reason in form["refusals"])


def test_modify_is_prefilled_sends_only_the_changes_and_mirrors_tencent(
    admin_client: Client, fake: FakeTencentOA
) -> None:
    news = account(NEWS, name="News", introduction="Daily")
    fake.add_account(NEWS, name="News", introduction="Daily")
    form = admin_client.get(action_url("modify", news)).context["form"]
    assert form["name"].value() == "News" and form["introduction"].value() == "Daily"
    same = {"name": "News", "introduction": "Daily"}
    unchanged = admin_client.post(action_url("modify", news), same)
    assert "Nothing was changed." in unchanged.text
    data = {**same, "name": "News, daily"}
    confirm = admin_client.post(action_url("modify", news), data)
    assert confirm.context["summary"] == [("name", "News → News, daily")]
    back = admin_client.post(action_url("modify", news), {**data, "edit": "1", "confirm": "yes"})
    assert back.context["mode"] == "form" and back.context["form"]["name"].value() == "News, daily"
    assert fake.requests == []
    done = admin_client.post(action_url("modify", news), {**data, "confirm": "yes"})
    assert done.status_code == 302
    assert fake.bodies("modify_official_account_base_info") == [
        {"Official_Account": NEWS, "Name": "News, daily"}
    ]
    news.refresh_from_db()
    assert news.name == "News, daily" and news.synced_at is not None


def test_destroy_confirms_then_marks_the_account_destroyed(
    admin_client: Client, fake: FakeTencentOA, django_capture_on_commit_callbacks: Any
) -> None:
    news = account(NEWS, name="News", created_at=WHEN)
    fake.add_account(NEWS, name="News")
    confirm = admin_client.get(action_url("destroy", news))
    assert confirm.context["mode"] == "confirm"
    assert "This cannot be undone." in confirm.text and "Yes, destroy it" in confirm.text
    assert fake.requests == []
    changes: list[str] = []

    def on_change(change: str, **_: Any) -> None:
        changes.append(change)

    account_changed.connect(on_change)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            done = admin_client.post(action_url("destroy", news), {"confirm": "yes"})
    finally:
        account_changed.disconnect(on_change)
    assert done.status_code == 302 and done.url == news_page(news)
    assert fake.bodies("destroy_official_account") == [{"Official_Account": NEWS}]
    assert NEWS not in fake.accounts
    news.refresh_from_db()
    assert news.destroyed_at is not None
    assert changes == ["destroyed"]


def test_destroy_refused_by_tencent_changes_nothing(
    admin_client: Client, fake: FakeTencentOA
) -> None:
    news = account(NEWS, name="News")  # Tencent has no such account
    response = admin_client.post(action_url("destroy", news), {"confirm": "yes"})
    assert response.context["mode"] == "confirm"
    assert "Tencent has no such official account" in response.context["tencent_error"]
    news.refresh_from_db()
    assert news.destroyed_at is None


def test_add_subscribers_records_whom_tencent_subscribed(
    admin_client: Client, fake: FakeTencentOA, django_capture_on_commit_callbacks: Any
) -> None:
    news = account(NEWS, name="News", subscriber_count=1)
    subscribe(news, "bob")
    fake.add_account(NEWS).subscribe("bob", "dave")  # dave: Tencent has him, the mirror not
    fake.accounts[NEWS].max_subscriber_num = 4
    typed = "alice, bob\ncarol dave\r\nerin alice"
    confirm = admin_client.post(action_url("add_subscribers", news), {"subscriber_accounts": typed})
    assert confirm.context["summary"] == [("Subscriber accounts", "alice\nbob\ncarol\ndave\nerin")]
    assert fake.requests == []
    added: list[list[str]] = []

    def on_change(added_accounts: list[str] | None = None, **kwargs: Any) -> None:
        added.append(sorted(kwargs["added"]))

    subscribers_changed.connect(on_change)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            done = admin_client.post(
                action_url("add_subscribers", news),
                {"subscriber_accounts": typed, "confirm": "yes"},
            )
    finally:
        subscribers_changed.disconnect(on_change)
    assert fake.bodies("add_subscriber") == [
        {
            "Official_Account": NEWS,
            "SubscriberList": [
                {"Subscriber_Account": name} for name in ("alice", "bob", "carol", "dave", "erin")
            ],
        }
    ]
    # Tencent: alice and carol subscribed (1), bob and dave already (2), erin refused (full).
    current = OfficialAccountSubscriber.objects.filter(account=news, unsubscribed_at=None)
    assert sorted(current.values_list("subscriber_account", flat=True)) == [
        "alice",
        "bob",
        "carol",
        "dave",
    ]
    assert added == [["alice", "carol", "dave"]]
    notes = shown(admin_client.get(done.url))
    assert "Tencent subscribed 4 of 5; the mirror changed for 3." in notes
    assert "Tencent refused: erin." in notes


def test_remove_subscribers_keeps_their_history(admin_client: Client, fake: FakeTencentOA) -> None:
    news = account(NEWS, name="News", subscriber_count=2)
    subscribe(news, "alice", "bob")
    fake.add_account(NEWS).subscribe("alice")  # bob: gone on Tencent, current in the mirror
    data = {"subscriber_accounts": "alice bob zed", "confirm": "yes"}
    done = admin_client.post(action_url("remove_subscribers", news), data)
    assert done.status_code == 302
    assert fake.bodies("delete_subscriber") == [
        {"Official_Account": NEWS, "SubscriberToDel_Account": ["alice", "bob", "zed"]}
    ]
    rows_now = {
        row.subscriber_account: row
        for row in OfficialAccountSubscriber.objects.filter(account=news)
    }
    assert set(rows_now) == {"alice", "bob"}  # zed was never a subscriber: no row
    assert all(row.unsubscribed_at is not None for row in rows_now.values())
    news.refresh_from_db()
    assert news.subscriber_count == 0


def test_a_subscriber_change_refused_by_tencent_changes_nothing(
    admin_client: Client, fake: FakeTencentOA
) -> None:
    news = account(NEWS, name="News")
    fake.add_account(NEWS)
    fake.fail("add_subscriber", 60018, "too many requests", times=10)
    data = {"subscriber_accounts": "alice", "confirm": "yes"}
    response = admin_client.post(action_url("add_subscribers", news), data)
    assert response.context["mode"] == "form"
    assert "called too often" in response.context["tencent_error"]
    assert OfficialAccountSubscriber.objects.count() == 0


def test_the_subscriber_list_is_bounded(admin_client: Client, fake: FakeTencentOA) -> None:
    news = account(NEWS, name="News")
    many = " ".join(f"user{n}" for n in range(501))
    response = admin_client.post(action_url("add_subscribers", news), {"subscriber_accounts": many})
    assert "501 user IDs were given; at most 500" in response.text
    empty = admin_client.post(action_url("add_subscribers", news), {"subscriber_accounts": " , "})
    assert empty.context["form"].errors
    assert fake.requests == []
