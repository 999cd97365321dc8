"""Bounded work in the admin and the API: searches an index serves, a time budget on every query
(QUERY_TIMEOUT), and detail pages of any message size (DETAIL_MAX_ELEMENTS)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from officialaccount_webhook.admin import OfficialAccountMessageAdmin, search
from officialaccount_webhook.admin import detail as admin_detail
from officialaccount_webhook.admin.rendering import PRETTY_JSON_MAX_CHARS
from officialaccount_webhook.api.views import MessageViewSet
from officialaccount_webhook.models import AppGrant, CallbackDelivery, OfficialAccountMessage
from tests.conftest import sample
from tests.settings import SIGNED_APP, UNSIGNED_APP

pytestmark = pytest.mark.django_db

MESSAGES = "admin:officialaccount_webhook_officialaccountmessage_changelist"
API_MESSAGES = "/api/officialaccount/messages/"
WHEN = datetime(2024, 6, 1, tzinfo=UTC)


def create(msg_key: str, body: list[Any] | None = None, **fields: Any) -> OfficialAccountMessage:
    return OfficialAccountMessage.objects.create(
        sdk_app_id=fields.pop("sdk_app_id", SIGNED_APP),
        official_account="@TOA#_A",
        msg_key=msg_key,
        msg_time=fields.pop("msg_time", WHEN),
        event_time=WHEN,
        msg_body=body or [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"text {msg_key}"}}],
        **fields,
    )


def texts(count: int) -> list[dict[str, Any]]:
    return [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": f"element {n:04d}"}} for n in range(count)
    ]


def rows(response: Any) -> list[OfficialAccountMessage]:
    return list(response.context["cl"].result_list)


def configured(**extra: Any) -> Any:
    return override_settings(OFFICIALACCOUNT_WEBHOOK={**settings.OFFICIALACCOUNT_WEBHOOK, **extra})


def viewer(name: str = "viewer", *codenames: str) -> Client:
    user = User.objects.create_user(name, password="pw", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


# ------------------------------------------------------------------ search


@pytest.fixture
def searchable() -> None:
    create("71_1_1717000000", [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}])
    create("72_1_1717000060", [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "spring sale"}}])


@pytest.mark.parametrize("q", ["ab", "x", "a b c", "a.b", "a_b_c", '""', "sale ab"])
def test_a_search_word_no_index_can_serve_is_refused_with_a_message(
    admin_client: Client, searchable: None, q: str
) -> None:
    with CaptureQueriesContext(connection) as captured:
        response = admin_client.get(reverse(MESSAGES), {"q": q})
    assert response.status_code == 200
    assert rows(response) == []
    assert "needs at least 3 letters or digits in a row" in response.text
    # Nothing read the table for it: no "contains" match ran at all.
    assert not [query for query in captured if "LIKE" in query["sql"].upper()]


def test_too_many_search_words_are_refused(admin_client: Client, searchable: None) -> None:
    url = reverse(MESSAGES)
    response = admin_client.get(url, {"q": "red red red red red red"})
    assert response.status_code == 200
    assert rows(response) == []
    assert "Search for at most 5 words at a time (6 were given)." in response.text
    found = rows(admin_client.get(url, {"q": "red red red red packet"}))
    assert [m.msg_key for m in found] == ["71_1_1717000000"]


def test_search_words_of_three_letters_or_more_work(admin_client: Client, searchable: None) -> None:
    url = reverse(MESSAGES)

    def keys(q: str) -> list[str]:
        response = admin_client.get(url, {"q": q})
        assert response.status_code == 200
        assert "letters or digits in a row" not in response.text
        return sorted(m.msg_key for m in rows(response))

    assert keys("red") == ["71_1_1717000000"]
    assert keys("PACKET red") == ["71_1_1717000000"]
    assert keys('"spring sale"') == ["72_1_1717000060"]
    assert keys('"g sal"') == ["72_1_1717000060"]  # "sal" is a run of three
    assert keys("72_1_1717000060") == ["72_1_1717000060"]  # an exact MsgKey
    assert keys("@TOA#_A") == ["71_1_1717000000", "72_1_1717000060"]  # an exact account


def test_a_search_with_a_nul_character_is_refused_not_a_500(
    admin_client: Client, searchable: None
) -> None:
    # Django's search form refuses it first (PostgreSQL cannot compare text with NUL).
    response = admin_client.get(reverse(MESSAGES), {"q": "red\x00packet"})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.text


def test_which_words_an_index_can_serve() -> None:
    assert search.indexable("abc") and search.indexable("x-y-z12") and search.indexable("红包雨")
    assert not search.indexable("ab") and not search.indexable("a.b.c")
    assert not search.indexable("__%") and not search.indexable("")
    assert search.terms("red \"spring sale\" 'x y'") == ["red", "spring sale", "x y"]
    assert search.refusal("") is None and search.refusal("   ") is None
    named = search.refusal("a b c d e")
    assert named is not None and "“a”, “b”, “c”, …" in named  # at most three named


# ------------------------------------------------------------------ the time budget

# A statement made slow for real, in the database itself: PostgreSQL sleeps, SQLite counts to
# five million (a progress handler stops it between steps; it cannot interrupt a sleep).
SLOW_SQL = {
    "postgresql": "(SELECT true FROM pg_sleep(3))",
    "sqlite": "(WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n "
    "WHERE x < 5000000) SELECT count(*) > 0 FROM n)",
}


def slow(queryset: QuerySet[Any]) -> QuerySet[Any]:
    clause = RawSQL(SLOW_SQL[connection.vendor], (), output_field=BooleanField())  # noqa: S611
    return queryset.filter(clause)


@pytest.fixture
def slow_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every query of the messages' admin and API is slow, and QUERY_TIMEOUT is a millisecond."""
    admin_queryset = OfficialAccountMessageAdmin.get_queryset
    api_queryset = MessageViewSet.get_queryset
    monkeypatch.setattr(
        OfficialAccountMessageAdmin,
        "get_queryset",
        lambda self, request: slow(admin_queryset(self, request)),
    )
    monkeypatch.setattr(MessageViewSet, "get_queryset", lambda self: slow(api_queryset(self)))
    with configured(QUERY_TIMEOUT=0.001):
        yield


def test_a_slow_admin_list_answers_with_a_message(admin_client: Client, slow_queries: None) -> None:
    create("1_1_1")
    response = admin_client.get(reverse(MESSAGES))
    assert response.status_code == 200
    assert "ran longer than 0.001 seconds (QUERY_TIMEOUT) and was stopped" in response.text
    assert "Ask a narrower question" in response.text
    # The connection is still good for the next query, and the next request.
    assert OfficialAccountMessage.objects.count() == 1


def test_a_slow_admin_detail_page_answers_with_a_message(
    admin_client: Client, slow_queries: None
) -> None:
    message = create("1_1_1")
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert "(QUERY_TIMEOUT) and was stopped" in response.text
    raw = admin_client.get(admin_detail.raw_json_url(message))
    assert raw.status_code == 200 and "(QUERY_TIMEOUT) and was stopped" in raw.text


def test_a_slow_api_query_is_a_503_with_a_json_detail(
    admin_client: Client, slow_queries: None
) -> None:
    message = create("1_1_1")
    for url in (API_MESSAGES, f"{API_MESSAGES}{message.pk}/"):
        response = admin_client.get(url)
        assert response.status_code == 503
        assert response["Content-Type"] == "application/json"
        assert "ran longer than the server allows (QUERY_TIMEOUT)" in response.json()["detail"]


def test_pages_within_the_budget_are_unchanged(admin_client: Client) -> None:
    message = create("1_1_1")
    with configured(QUERY_TIMEOUT=30):
        assert [m.msg_key for m in rows(admin_client.get(reverse(MESSAGES)))] == ["1_1_1"]
        assert admin_client.get(f"{API_MESSAGES}{message.pk}/").json()["msg_key"] == "1_1_1"


postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="statement_timeout is PostgreSQL's"
)


@postgresql_only
def test_the_statement_timeout_ends_with_the_page(admin_client: Client) -> None:
    def timeout() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            return str(cursor.fetchone()[0])

    create("1_1_1")
    before = timeout()
    with configured(QUERY_TIMEOUT=7), CaptureQueriesContext(connection) as captured:
        assert admin_client.get(reverse(MESSAGES)).status_code == 200
    assert any("7000ms" in str(query) for query in captured)  # it was set for the page
    # The test's transaction is still open, as ATOMIC_REQUESTS's would be: it is given back.
    assert timeout() == before


@postgresql_only
def test_a_query_timeout_of_zero_sets_nothing(admin_client: Client) -> None:
    create("1_1_1")
    with configured(QUERY_TIMEOUT=0), CaptureQueriesContext(connection) as captured:
        assert admin_client.get(reverse(MESSAGES)).status_code == 200
        assert admin_client.get(API_MESSAGES).status_code == 200
    assert not [query for query in captured if "statement_timeout" in query["sql"]]


# ------------------------------------------------------------------ large messages


def test_a_detail_page_renders_at_most_detail_max_elements(admin_client: Client) -> None:
    message = create("1_1_1", texts(1000))
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk])
    page = admin_client.get(url).text
    assert page.count('class="officialaccount-element ') == 200
    assert "element 0199" in page
    assert "element 0200" not in page and "element 0999" not in page  # nor in the raw JSON
    assert "The first 200 of 1000 elements are shown." in page
    assert f'href="{admin_detail.raw_json_url(message)}"' in page
    with configured(DETAIL_MAX_ELEMENTS=5):
        page = admin_client.get(url).text
    assert page.count('class="officialaccount-element ') == 5
    assert "element 0004" in page and "element 0005" not in page


def test_a_small_message_is_shown_whole(admin_client: Client) -> None:
    message = create("1_1_1", texts(3))
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk])
    page = admin_client.get(url).text
    assert page.count('class="officialaccount-element ') == 3
    assert "elements are shown" not in page
    assert f'href="{admin_detail.raw_json_url(message)}"' in page  # the raw JSON all the same


def test_big_json_fields_are_cut_on_the_detail_page(admin_client: Client) -> None:
    # CloudCustomData and extra can each be most of a 1 MB body: shown cut, saying how much.
    big = "x" * 900_000
    message = create("1_1_1", cloud_custom_data=big, extra={"Big": big})
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk])
    page = admin_client.get(url).text
    assert "x" * PRETTY_JSON_MAX_CHARS in page
    assert "x" * (PRETTY_JSON_MAX_CHARS + 1) not in page
    assert page.count("more characters") == 2
    assert len(page) < 4 * PRETTY_JSON_MAX_CHARS


def test_the_raw_json_view_gives_the_whole_body(admin_client: Client) -> None:
    body = [*texts(999), {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "<b>中文</b>"}}]
    message = create("1_1_1", body)
    response = admin_client.get(admin_detail.raw_json_url(message))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == body


def test_the_raw_json_view_is_permission_checked_like_the_detail_page() -> None:
    message = create("1_1_1", texts(3))
    other_app = create("2_1_1", texts(3), sdk_app_id=UNSIGNED_APP)
    url = admin_detail.raw_json_url(message)
    assert Client().get(url).status_code == 302  # to the login page
    assert viewer("nobody").get(url).status_code == 403
    reader = viewer("reader", "view_officialaccountmessage")
    assert reader.get(url).json() == message.msg_body
    assert reader.get(admin_detail.raw_json_url(other_app)).status_code == 200
    # Limited to the other app: this message is missing for them, as on its detail page.
    AppGrant.objects.create(sdk_app_id=UNSIGNED_APP, user=User.objects.get(username="reader"))
    assert reader.get(url).status_code == 404
    assert reader.get(admin_detail.raw_json_url(other_app)).status_code == 200
    missing = reverse(f"admin:{admin_detail.RAW_JSON_URL_NAME}", args=[10**9])
    assert reader.get(missing).status_code == 404


def test_a_delivery_page_bounds_its_body_too(admin_client: Client, post_callback: Any) -> None:
    callback = sample("text")
    callback["MsgBody"] = texts(1000)
    assert post_callback(callback).status_code == 200
    delivery = CallbackDelivery.objects.get()
    assert delivery.message is not None
    url = reverse("admin:officialaccount_webhook_callbackdelivery_change", args=[delivery.pk])
    page = admin_client.get(url).text
    assert "element 0199" in page and "element 0200" not in page
    assert "The first 200 of 1000 elements are shown." in page
    assert f'href="{admin_detail.raw_json_url(delivery.message)}"' in page


def test_a_list_preview_reads_the_first_elements_only(admin_client: Client) -> None:
    empty = {"MsgType": "TIMTextElem", "MsgContent": {"Text": ""}}
    tail = {"MsgType": "TIMTextElem", "MsgContent": {"Text": "the tail"}}
    create("1_1_1", [empty] * 5000 + [tail], msg_time=WHEN + timedelta(hours=1))
    create("2_1_1", [empty] * 5 + [tail])
    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(reverse(MESSAGES)).text
    assert page.count("the tail") == 2  # the short one (its text and its title); never the long one
    # Not even fetched: the list reads its first elements in the database, never the column.
    whole_column = re.compile(r'\."msg_body"(,\s*"|\s+FROM)')
    assert not [q["sql"] for q in queries.captured_queries if whole_column.search(q["sql"])]
    assert admin_detail.preview([empty] * 5000 + [tail]) == "…"
