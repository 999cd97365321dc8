"""Per-app scope: with two apps configured, a staff user or API client limited to one of them
sees and acts on that one alone, in every admin page and in the REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.db import connection
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from officialaccount_webhook.admin import detail as detail_pages
from officialaccount_webhook.admin.scope import refuse_out_of_scope
from officialaccount_webhook.models import AppGrant, CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.scope import can_act_on, scoped, visible_app_ids
from tests.tencent import RECALL_PATH, SECRET_KEY, recall_body, recall_reply

pytestmark = pytest.mark.django_db

APP_A, APP_B = 1400000000, 1400000001
NOT_CONFIGURED = 1400000009
MESSAGES = "admin:officialaccount_webhook_officialaccountmessage_changelist"
DELIVERIES = "admin:officialaccount_webhook_callbackdelivery_changelist"
GRANTS = "admin:officialaccount_webhook_appgrant_changelist"
GRANT_ADD = "admin:officialaccount_webhook_appgrant_add"
API_MESSAGES = "/api/officialaccount/messages/"
API_RECALL = "/api/officialaccount/recall/"
PERMISSIONS = (
    "view_officialaccountmessage",
    "recall_officialaccountmessage",
    "view_callbackdelivery",
)


def configuration(httpserver: HTTPServer, **extra: Any) -> dict[str, Any]:
    app = {
        "CALLBACK_TOKENS": ["current-token"],
        "SECRET_KEY": SECRET_KEY,
        "API_BASE_URL": httpserver.url_for("/"),
    }
    return {"APPS": {APP_A: app, APP_B: app}, "REST_RETRY_BACKOFF": 0, **extra}


@pytest.fixture(autouse=True)
def tencent(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """Two apps, both able to call the local server that plays Tencent."""
    with override_settings(OFFICIALACCOUNT_WEBHOOK=configuration(httpserver)):
        yield httpserver


@pytest.fixture
def require_grants(tencent: HTTPServer) -> Iterator[None]:
    conf = configuration(tencent, REQUIRE_APP_GRANTS=True)
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        yield


def recall_all_ok(request: Request) -> Response:
    keys = recall_body(request)["MsgKeyList"]
    return Response(
        json.dumps(recall_reply(dict.fromkeys(keys, 0))), content_type="application/json"
    )


def message(sdk_app_id: int, msg_key: str, *, when: datetime | None = None) -> Any:
    when = when or timezone.now() - timedelta(hours=1)
    return OfficialAccountMessage.objects.create(
        sdk_app_id=sdk_app_id,
        official_account=f"@TOA#_{sdk_app_id}",
        msg_key=msg_key,
        msg_time=when,
        event_time=when,
        msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"text of {msg_key}"}}],
    )


@pytest.fixture
def stored() -> dict[int, OfficialAccountMessage]:
    """One message in each app, and for app B one more, years ago (for the drill-down)."""
    message(APP_B, "old_1_1", when=datetime(2020, 5, 1, tzinfo=UTC))
    return {APP_A: message(APP_A, "1_1_1"), APP_B: message(APP_B, "2_1_1")}


def staff(name: str, *permissions: str) -> User:
    user = User.objects.create_user(name, password="pw", is_staff=True)
    for codename in permissions or PERMISSIONS:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def granted_a() -> User:
    """Granted app A directly."""
    user = staff("alice")
    AppGrant.objects.create(sdk_app_id=APP_A, user=user)
    return user


@pytest.fixture
def granted_b() -> User:
    """Granted app B through a group."""
    user = staff("bob")
    group = Group.objects.create(name="support-b")
    AppGrant.objects.create(sdk_app_id=APP_B, group=group)
    user.groups.add(group)
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fresh(user: User) -> User:
    """The user as the next request loads it: nothing cached from an earlier one."""
    return User.objects.get(pk=user.pk)


# ------------------------------------------------------------------ who sees what


def test_a_grant_limits_a_user_to_its_app(granted_a: User, granted_b: User) -> None:
    assert visible_app_ids(fresh(granted_a)) == {APP_A}
    assert visible_app_ids(fresh(granted_b)) == {APP_B}  # through the group
    AppGrant.objects.create(sdk_app_id=APP_A, group=Group.objects.get())
    assert visible_app_ids(fresh(granted_b)) == {APP_A, APP_B}  # the group's and its own


def test_without_grants_a_user_sees_every_app_unless_grants_are_required(
    tencent: HTTPServer,
) -> None:
    user = staff("carol")
    assert visible_app_ids(fresh(user)) is None
    assert can_act_on(fresh(user), NOT_CONFIGURED)
    with override_settings(OFFICIALACCOUNT_WEBHOOK=configuration(tencent, REQUIRE_APP_GRANTS=True)):
        assert visible_app_ids(fresh(user)) == frozenset()
        assert not can_act_on(fresh(user), APP_A)


def test_superusers_see_every_app_and_inactive_users_none(
    require_grants: None, granted_a: User
) -> None:
    root = User.objects.create_superuser("root", password="pw")
    AppGrant.objects.create(sdk_app_id=APP_A, user=root)
    assert visible_app_ids(fresh(root)) is None
    root.is_active = False
    assert visible_app_ids(root) == frozenset()
    granted_a.is_active = False
    assert visible_app_ids(granted_a) == frozenset()
    assert visible_app_ids(AnonymousUser()) == frozenset()


def test_scoped_filters_on_the_app(
    stored: dict[int, OfficialAccountMessage], granted_a: User
) -> None:
    assert list(scoped(OfficialAccountMessage.objects.all(), fresh(granted_a))) == [stored[APP_A]]
    everyone = User.objects.create_superuser("root", password="pw")
    assert scoped(OfficialAccountMessage.objects.all(), everyone).count() == 3


def test_the_answer_is_kept_for_the_request(
    granted_a: User, django_assert_num_queries: Any
) -> None:
    user = fresh(granted_a)
    with django_assert_num_queries(1):
        for _ in range(3):
            assert visible_app_ids(user) == {APP_A}
            assert can_act_on(user, APP_A) and not can_act_on(user, APP_B)


# ------------------------------------------------------------------ the admin


def listed(client: Client, url: str = MESSAGES, **params: str) -> Any:
    response = client.get(reverse(url), params)
    assert response.status_code == 200
    return response


def keys(response: Any) -> set[str]:
    return {row.msg_key for row in response.context["cl"].result_list}


def test_admin_lists_only_the_users_apps(
    stored: dict[int, OfficialAccountMessage], granted_a: User, granted_b: User
) -> None:
    assert keys(listed(logged_in(granted_a))) == {"1_1_1"}
    assert keys(listed(logged_in(granted_b))) == {"2_1_1", "old_1_1"}
    root = User.objects.create_superuser("root", password="pw")
    assert keys(listed(logged_in(root))) == {"1_1_1", "2_1_1", "old_1_1"}
    # Asking for the other app by its filter shows nothing of it.
    assert keys(listed(logged_in(granted_a), sdk_app_id=str(APP_B))) == set()


def test_admin_shows_nothing_to_an_ungranted_user_when_grants_are_required(
    stored: dict[int, OfficialAccountMessage], require_grants: None
) -> None:
    client = logged_in(staff("carol"))
    assert keys(listed(client)) == set()
    url = reverse(
        "admin:officialaccount_webhook_officialaccountmessage_change", args=[stored[APP_A].pk]
    )
    assert client.get(url).status_code == 302


def test_admin_page_costs_one_grants_query(
    stored: dict[int, OfficialAccountMessage], granted_a: User
) -> None:
    client = logged_in(granted_a)
    with CaptureQueriesContext(connection) as queries:
        listed(client)
    table = AppGrant._meta.db_table
    assert sum(table in query["sql"] for query in queries.captured_queries) == 1


def test_admin_detail_of_another_apps_message_is_missing(
    stored: dict[int, OfficialAccountMessage], granted_a: User
) -> None:
    client = logged_in(granted_a)

    def detail(app: int) -> Any:
        url = "admin:officialaccount_webhook_officialaccountmessage_change"
        return client.get(reverse(url, args=[stored[app].pk]))

    assert detail(APP_A).status_code == 200
    response = detail(APP_B)
    # What Django answers for a message that does not exist: back to the index, with a note.
    assert (response.status_code, response["Location"]) == (302, reverse("admin:index"))
    assert "text of 2_1_1" not in client.get(response["Location"]).text
    # The whole body's own page too.
    raw_json = f"admin:{detail_pages.RAW_JSON_URL_NAME}"
    assert client.get(reverse(raw_json, args=[stored[APP_A].pk])).status_code == 200
    assert client.get(reverse(raw_json, args=[stored[APP_B].pk])).status_code == 404


def test_admin_filter_lists_only_the_users_apps(
    stored: dict[int, OfficialAccountMessage], granted_a: User
) -> None:
    def choices(user: User) -> list[str]:
        [spec] = [
            spec
            for spec in listed(logged_in(user)).context["cl"].filter_specs
            if getattr(spec, "parameter_name", "") == "sdk_app_id"
        ]
        return [value for value, _label in spec.lookup_choices]

    assert choices(granted_a) == [str(APP_A)]
    assert choices(User.objects.create_superuser("root", password="pw")) == [
        str(APP_A),
        str(APP_B),
    ]


def test_admin_chart_and_drill_down_count_only_the_users_apps(
    stored: dict[int, OfficialAccountMessage], granted_a: User
) -> None:
    def seen(user: User) -> tuple[dict[str, int], set[str]]:
        context = listed(logged_in(user)).context
        series = {s.label: s.total for s in context["volume_chart"]["series"]}
        drill = {choice["title"] for choice in context["drill_down"].get("choices", [])}
        return series, drill

    series, drill = seen(granted_a)
    assert series == {f"@TOA#_{APP_A}": 1}
    assert "2020" not in drill  # app B's old message is no year of theirs
    series, drill = seen(User.objects.create_superuser("root", password="pw"))
    assert series == {f"@TOA#_{APP_A}": 1, f"@TOA#_{APP_B}": 1}
    assert "2020" in drill


def test_admin_deliveries_are_scoped(granted_a: User) -> None:
    for sdk_app_id in (APP_A, APP_B, None):
        CallbackDelivery.objects.create(
            sdk_app_id=sdk_app_id,
            command="C2C.CallbackAfterSendMsg",
            outcome=CallbackDelivery.Outcome.ACCEPTED,
            status_code=200,
        )
    client = logged_in(granted_a)
    seen = {row.sdk_app_id for row in listed(client, DELIVERIES).context["cl"].result_list}
    assert seen == {APP_A}  # not B's, nor those of no app
    other = CallbackDelivery.objects.get(sdk_app_id=APP_B)
    url = reverse("admin:officialaccount_webhook_callbackdelivery_change", args=[other.pk])
    assert client.get(url).status_code == 302
    root = logged_in(User.objects.create_superuser("root", password="pw"))
    seen = {row.sdk_app_id for row in listed(root, DELIVERIES).context["cl"].result_list}
    assert seen == {APP_A, APP_B, None}


def test_admin_recall_refuses_a_selection_outside_the_users_apps(
    tencent: HTTPServer, stored: dict[int, OfficialAccountMessage], granted_a: User
) -> None:
    client = logged_in(granted_a)
    both = {
        "action": "recall_selected",
        "_selected_action": [stored[APP_A].pk, stored[APP_B].pk],
        "confirm": "yes",
    }
    response = client.post(reverse(MESSAGES), both, follow=True)
    assert "1 of the selected rows belong to apps you may not act on" in response.text
    assert tencent.log == []
    assert not OfficialAccountMessage.objects.filter(recall_ret_code__isnull=False).exists()

    tencent.expect_request(RECALL_PATH).respond_with_handler(recall_all_ok)
    own = both | {"_selected_action": [stored[APP_A].pk]}
    result = client.post(reverse(MESSAGES), own)
    assert 'class="recall-recalled"' in result.text
    [(request, _answer)] = tencent.log
    assert request.args["sdkappid"] == str(APP_A)
    assert OfficialAccountMessage.objects.get(msg_key="1_1_1").recalled_at is not None


def test_recall_refuses_rows_outside_the_scope_even_if_handed_them(
    stored: dict[int, OfficialAccountMessage], granted_a: User
) -> None:
    # An admin whose get_queryset forgot the scope still cannot recall another app's message.
    request = RequestFactory().post("/", {"select_across": "1"})
    request.user = fresh(granted_a)
    said: list[str] = []

    class Admin:
        def message_user(self, request: Any, message: str, level: int) -> None:
            said.append(str(message))

    everything = OfficialAccountMessage.objects.all()
    assert refuse_out_of_scope(Admin(), request, everything)
    assert said == [
        "2 of the selected rows belong to apps you may not act on, or no longer exist: "
        "nothing was done."
    ]
    assert not refuse_out_of_scope(Admin(), request, everything.filter(sdk_app_id=APP_A))


# ------------------------------------------------------------------ the grants' admin


def test_grants_admin_adds_a_grant_for_a_configured_app() -> None:
    root = logged_in(User.objects.create_superuser("root", password="pw"))
    user = staff("dave")
    group = Group.objects.create(name="support")
    form = root.get(reverse(GRANT_ADD)).context["adminform"].form
    assert [value for value, _label in form.fields["sdk_app_id"].choices][1:] == [APP_A, APP_B]

    def add(**data: Any) -> Any:
        return root.post(reverse(GRANT_ADD), data)

    assert add(sdk_app_id=APP_B, user=user.pk).status_code == 302
    assert add(sdk_app_id=APP_A, group=group.pk).status_code == 302
    assert set(AppGrant.objects.values_list("sdk_app_id", "user", "group")) == {
        (APP_B, user.pk, None),
        (APP_A, None, group.pk),
    }
    assert visible_app_ids(fresh(user)) == {APP_B}

    def errors(**data: Any) -> list[str]:
        response = add(**data)
        assert response.status_code == 200
        form = response.context["adminform"].form
        return [str(e) for field_errors in form.errors.values() for e in field_errors]

    assert errors(sdk_app_id=APP_A) == ["Choose a user or a group."]
    assert errors(sdk_app_id=APP_A, user=user.pk, group=group.pk) == [
        "Choose a user or a group, not both: make two grants."
    ]
    assert any("valid choice" in e for e in errors(sdk_app_id=NOT_CONFIGURED, user=user.pk))
    assert any("already exists" in e for e in errors(sdk_app_id=APP_B, user=user.pk))
    assert AppGrant.objects.count() == 2


def test_a_scoped_user_cannot_manage_grants(granted_a: User) -> None:
    for codename in ("view_appgrant", "add_appgrant", "change_appgrant", "delete_appgrant"):
        granted_a.user_permissions.add(Permission.objects.get(codename=codename))
    client = logged_in(granted_a)
    # Deleting their own grant would show them every app.
    assert client.get(reverse(GRANTS)).status_code == 403
    assert client.get(reverse(GRANT_ADD)).status_code == 403
    grant = AppGrant.objects.get()
    delete = reverse("admin:officialaccount_webhook_appgrant_delete", args=[grant.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert AppGrant.objects.filter(pk=grant.pk).exists()
    ungranted = staff("erin", "view_appgrant")
    assert logged_in(ungranted).get(reverse(GRANTS)).status_code == 200


# ------------------------------------------------------------------ the REST API


def api_keys(client: Client, **params: str) -> set[str]:
    response = client.get(API_MESSAGES, params)
    assert response.status_code == 200, response.content
    return {row["msg_key"] for row in response.json()["results"]}


def test_api_lists_and_retrieves_only_the_callers_apps(
    stored: dict[int, OfficialAccountMessage], granted_a: User, granted_b: User
) -> None:
    alice = logged_in(granted_a)
    assert api_keys(alice) == {"1_1_1"}
    assert api_keys(alice, sdk_app_id=str(APP_B)) == set()  # empty, not a 403: nothing to learn
    assert api_keys(logged_in(granted_b)) == {"2_1_1", "old_1_1"}
    assert api_keys(logged_in(User.objects.create_superuser("root", password="pw"))) == {
        "1_1_1",
        "2_1_1",
        "old_1_1",
    }
    assert alice.get(f"{API_MESSAGES}{stored[APP_A].pk}/").status_code == 200
    # Another app's message answers as a message that does not exist.
    missing = alice.get(f"{API_MESSAGES}{stored[APP_B].pk}/")
    absent = alice.get(f"{API_MESSAGES}{stored[APP_B].pk + 1000}/")
    assert (missing.status_code, missing.json()) == (absent.status_code, absent.json())
    assert missing.status_code == 404


def test_api_shows_nothing_to_an_ungranted_caller_when_grants_are_required(
    stored: dict[int, OfficialAccountMessage], require_grants: None
) -> None:
    client = logged_in(staff("carol"))
    assert api_keys(client) == set()
    assert client.get(f"{API_MESSAGES}{stored[APP_A].pk}/").status_code == 404


def test_api_recall_refuses_another_apps_keys(
    tencent: HTTPServer, stored: dict[int, OfficialAccountMessage], granted_a: User
) -> None:
    client = logged_in(granted_a)

    def recall(sdk_app_id: int, msg_key: str) -> Any:
        payload = {
            "sdk_app_id": sdk_app_id,
            "official_account": f"@TOA#_{sdk_app_id}",
            "msg_keys": [msg_key],
        }
        return client.post(API_RECALL, payload, content_type="application/json")

    refused = recall(APP_B, "2_1_1")
    assert refused.status_code == 403
    # The same answer for a key that is not stored, and for an app that is not configured.
    assert recall(APP_B, "nothing").json() == refused.json()
    assert recall(NOT_CONFIGURED, "nothing").json() == refused.json()
    assert tencent.log == []
    assert OfficialAccountMessage.objects.get(msg_key="2_1_1").recall_ret_code is None

    tencent.expect_request(RECALL_PATH).respond_with_handler(recall_all_ok)
    allowed = recall(APP_A, "1_1_1")
    assert allowed.status_code == 200
    assert allowed.json()["results"][0]["status"] == "recalled"
    [(request, _answer)] = tencent.log
    assert request.args["sdkappid"] == str(APP_A)


def test_api_recall_by_an_unscoped_caller_reaches_every_app(
    tencent: HTTPServer, stored: dict[int, OfficialAccountMessage]
) -> None:
    tencent.expect_request(RECALL_PATH).respond_with_handler(recall_all_ok)
    payload = {"sdk_app_id": APP_B, "official_account": f"@TOA#_{APP_B}", "msg_keys": ["2_1_1"]}
    response = logged_in(staff("carol")).post(API_RECALL, payload, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["results"][0]["status"] == "recalled"


def test_checking_recalls_again_is_scoped_too(
    tencent: HTTPServer, stored: dict[int, OfficialAccountMessage], granted_a: User
) -> None:
    OfficialAccountMessage.objects.update(recall_unknown_at=timezone.now())
    client = logged_in(granted_a)

    # The API: another app's keys are refused before Tencent is asked, as for a recall.
    payload = {"sdk_app_id": APP_B, "official_account": f"@TOA#_{APP_B}", "msg_keys": ["2_1_1"]}
    refused = client.post(API_RECALL + "check/", payload, content_type="application/json")
    assert refused.status_code == 403
    # The admin action: a selection that holds another app's message is refused whole.
    both = {
        "action": "check_recall_again",
        "_selected_action": [stored[APP_A].pk, stored[APP_B].pk],
    }
    response = client.post(reverse(MESSAGES), both, follow=True)
    assert "1 of the selected rows belong to apps you may not act on" in response.text
    assert tencent.log == []
    assert OfficialAccountMessage.objects.filter(recall_unknown_at__isnull=True).count() == 0
