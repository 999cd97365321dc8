"""The admin: find a message, read it, and see why callbacks were refused, at any table size."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from tests.conftest import callback_query, element_samples, sample
from tests.settings import SIGNED_APP, UNSIGNED_APP

pytestmark = pytest.mark.django_db

MESSAGES = "admin:officialaccount_webhook_officialaccountmessage_changelist"
DELIVERIES = "admin:officialaccount_webhook_callbackdelivery_changelist"


def detail(message: OfficialAccountMessage) -> str:
    return reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk])


def rows(response: Any) -> list[OfficialAccountMessage]:
    return list(response.context["cl"].result_list)


def create(
    msg_key: str, *, when: datetime, account: str = "@TOA#_A", body: Any = None, **fields: Any
) -> OfficialAccountMessage:
    return OfficialAccountMessage.objects.create(
        sdk_app_id=fields.pop("sdk_app_id", SIGNED_APP),
        official_account=account,
        msg_key=msg_key,
        msg_time=when,
        event_time=when,
        msg_body=body
        if body is not None
        else [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"text of {msg_key}"}}],
        **fields,
    )


@pytest.fixture
def stored(post_callback: Any) -> list[OfficialAccountMessage]:
    for name in element_samples():
        post_callback(sample(name))
    post_callback(sample("text"), callback_query(token="wrong"))
    return list(OfficialAccountMessage.objects.all())


# ------------------------------------------------------------------ list


def test_list_shows_the_columns_people_ask_for(
    admin_client: Client, stored: list[OfficialAccountMessage]
) -> None:
    response = admin_client.get(reverse(MESSAGES))
    assert response.status_code == 200
    text = response.text
    for header in (
        "Message time",
        "Official account",
        "MsgKey",
        "Content",
        "Online only",
        "Marks",  # online only and recalled share a column of marks
        "Received at",
    ):
        assert header in text
    for preview in (
        "red packet",
        "[Image]",
        "price-list-2024.pdf",
        "[Location] someinfo",
        "notification",
        "hello [Face] world [Image] [Custom]",
    ):
        assert preview in text


def test_list_is_read_only_and_delete_needs_the_permission(
    stored: list[OfficialAccountMessage],
) -> None:
    viewer = User.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_officialaccountmessage"))
    client = Client()
    client.force_login(viewer)
    message = stored[0]
    assert client.get(reverse(MESSAGES)).status_code == 200
    assert (
        client.get(reverse("admin:officialaccount_webhook_officialaccountmessage_add")).status_code
        == 403
    )
    delete = reverse(
        "admin:officialaccount_webhook_officialaccountmessage_delete", args=[message.pk]
    )
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert OfficialAccountMessage.objects.filter(pk=message.pk).exists()
    viewer.user_permissions.add(Permission.objects.get(codename="delete_officialaccountmessage"))
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert not OfficialAccountMessage.objects.filter(pk=message.pk).exists()


def test_search_by_msg_key_account_and_text(
    admin_client: Client, stored: list[OfficialAccountMessage]
) -> None:
    url = reverse(MESSAGES)
    assert [m.msg_key for m in rows(admin_client.get(url, {"q": "76_1_1717000300"}))] == [
        "76_1_1717000300"
    ]
    assert len(rows(admin_client.get(url, {"q": "@TOA#_2J4SZEAEL"}))) == len(stored)
    assert [m.msg_key for m in rows(admin_client.get(url, {"q": "PRICE-LIST"}))] == [
        "77_1_1717000360"
    ]
    assert [m.msg_key for m in rows(admin_client.get(url, {"q": "someinfo"}))] == [
        "72_1_1717000060"
    ]
    assert rows(admin_client.get(url, {"q": "76_1_171"})) == []  # a MsgKey search is exact


def test_filters(admin_client: Client) -> None:
    when = datetime(2024, 6, 1, 12, tzinfo=UTC)
    image = sample("image")["MsgBody"]
    create("1_1_1", when=when, account="@TOA#_A", body=image)
    create("2_1_1", when=when, account="@TOA#_B", online_only=True)
    create("3_1_1", when=when, account="@TOA#_B", recalled_at=when, sdk_app_id=UNSIGNED_APP)
    url = reverse(MESSAGES)

    def keys(**params: str) -> list[str]:
        response = admin_client.get(url, params)
        assert response.status_code == 200, response.content
        return sorted(m.msg_key for m in rows(response))

    assert keys(official_account="@TOA#_B") == ["2_1_1", "3_1_1"]
    assert keys(element_type="TIMImageElem") == ["1_1_1"]
    assert keys(element_type="TIMTextElem") == ["2_1_1", "3_1_1"]
    assert keys(online_only__exact="1") == ["2_1_1"]
    assert keys(recalled="yes") == ["3_1_1"]
    assert keys(recalled="no") == ["1_1_1", "2_1_1"]
    assert keys(sdk_app_id=str(UNSIGNED_APP)) == ["3_1_1"]
    assert keys(sdk_app_id=str(SIGNED_APP), official_account="@TOA#_B") == ["2_1_1"]
    page = admin_client.get(url).text
    # SDKAppID choices come from the settings; element types from Tencent's list.
    assert f"?sdk_app_id={SIGNED_APP}" in page
    assert "?element_type=TIMVideoFileElem" in page


def test_account_filter_keeps_the_other_filters(admin_client: Client) -> None:
    create("1_1_1", when=datetime(2024, 6, 1, tzinfo=UTC))
    page = admin_client.get(reverse(MESSAGES), {"element_type": "TIMTextElem", "q": "text"}).text
    form = re.search(
        r'<form method="get" class="officialaccount-input-filter">(.*?)</form>', page, re.S
    )
    assert form is not None
    assert 'name="element_type" value="TIMTextElem"' in form.group(1)
    assert 'name="q" value="text"' in form.group(1)


def test_date_drill_down(admin_client: Client) -> None:
    create("1_1_1", when=datetime(2023, 12, 31, 23, tzinfo=UTC))
    create("2_1_1", when=datetime(2024, 2, 3, 8, tzinfo=UTC))
    create("3_1_1", when=datetime(2024, 2, 20, 8, tzinfo=UTC))
    create("4_1_1", when=datetime(2024, 7, 1, 8, tzinfo=UTC))
    url = reverse(MESSAGES)

    def drill(params: dict[str, str]) -> tuple[list[str], dict[str, str]]:
        response = admin_client.get(url, params)
        assert response.status_code == 200
        nav = re.search(r'<nav class="toplinks"[^>]*>(.*?)</nav>', response.text, re.S)
        assert nav is not None
        links = dict(
            (title.strip(), href.replace("&amp;", "&"))
            for href, title in re.findall(r'<a href="([^"]*)"[^>]*>([^<]*)</a>', nav.group(1))
        )
        return sorted(m.msg_key for m in rows(response)), links

    keys, links = drill({})
    assert set(links) == {"2023", "2024"}
    keys, links = drill(dict(parse_qsl(links["2024"].lstrip("?"))))
    assert keys == ["2_1_1", "3_1_1", "4_1_1"]
    back = "&lsaquo;"  # the back arrow, as the template writes it
    assert set(links) == {f"{back} All dates", "February 2024", "July 2024"}
    keys, links = drill(dict(parse_qsl(links["February 2024"].lstrip("?"))))
    assert keys == ["2_1_1", "3_1_1"]
    assert set(links) == {f"{back} 2024", "February 3", "February 20"}
    keys, links = drill(dict(parse_qsl(links["February 20"].lstrip("?"))))
    assert keys == ["3_1_1"]
    assert set(links) == {f"{back} February 2024"}


def test_volume_chart_per_account(admin_client: Client) -> None:
    today = timezone.now().replace(hour=12)
    for n in range(3):
        create(f"{n}_1_1", when=today - timedelta(days=n), account="@TOA#_<b>bold</b>")
    create("9_1_1", when=today, account="@TOA#_B")
    create("old", when=today - timedelta(days=40), account="@TOA#_OLD")
    page = admin_client.get(reverse(MESSAGES)).text
    chart = re.search(r'<figure class="officialaccount-volume".*?</figure>', page, re.S)
    assert chart is not None
    svg = chart.group(0)
    assert svg.count("<rect") == 4  # three days of one account, plus one of the other
    assert "@TOA#_&lt;b&gt;bold&lt;/b&gt; (3)" in svg
    assert "<b>bold</b>" not in svg
    assert "@TOA#_B (1)" in svg
    assert "@TOA#_OLD" not in svg


# ------------------------------------------------------------------ detail


def test_detail_shows_each_element_as_a_person_would(
    admin_client: Client, post_callback: Any
) -> None:
    mixed = sample("mixed")
    mixed["MsgBody"][0]["MsgContent"]["Text"] = "first line\nsecond line"
    mixed["MsgBody"] += (
        sample("file")["MsgBody"]
        + sample("sound")["MsgBody"]
        + sample("videofile")["MsgBody"]
        + sample("location")["MsgBody"]
        + [{"MsgType": "TIMFutureElem", "MsgContent": {"New": 1}}]
    )
    mixed["MsgBody"][4] = sample("custom")["MsgBody"][0]
    post_callback(mixed)
    message = OfficialAccountMessage.objects.get()
    page = admin_client.get(detail(message)).text
    assert "first line\nsecond line" in page and "white-space: pre-wrap" in page
    # The image waits for a click (ADMIN_IMAGE_HOSTS lists no host: tests/test_admin_images.py).
    assert 'data-src="https://example.com/img/198"' in page
    assert '<a href="https://example.com/img/0" rel="noopener noreferrer"' in page
    assert (
        'href="https://7492-5678539059-1253735326.cos.ap-shanghai.myqcloud.com/abc123/49be9d32c0fbfba7b31dafa4312c6c7d"'
        in page
    )
    assert ">price-list-2024.pdf</a>" in page
    assert "1.7\xa0MB" in page  # the file's size
    assert "1 s, 60.9\xa0KB" in page  # the sound's duration and size
    assert "5 s, 1.1\xa0MB, mp4" in page  # the video's
    assert "[Location]</span> someinfo" in page
    assert "29.340656774469956, 116.77497920478824" in page
    assert "index 1, content" in page  # the face
    assert "&quot;businessID&quot;: &quot;order_notice&quot;" in page  # custom Data, pretty
    assert "TIMFutureElem" in page and "&quot;New&quot;: 1" in page  # unknown: its JSON
    assert '<pre style="white-space: pre-wrap">your cloud custom data</pre>' in page
    assert "collapse" in page and "Raw JSON" in page


def test_custom_cloud_data_json_is_pretty_printed(admin_client: Client) -> None:
    message = create(
        "1_1_1", when=datetime(2024, 6, 1, tzinfo=UTC), cloud_custom_data='{"campaign":"spring"}'
    )
    assert (
        "{\n  &quot;campaign&quot;: &quot;spring&quot;\n}" in admin_client.get(detail(message)).text
    )


def test_everything_from_a_message_is_inert(admin_client: Client) -> None:
    hostile = [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "<script>alert(1)</script>"}},
        {
            "MsgType": "TIMImageElem",
            "MsgContent": {
                "ImageInfoArray": [
                    {"Type": 1, "URL": "javascript:alert(2)"},
                    {"Type": 3, "URL": "javascript:alert(3)"},
                ]
            },
        },
        {
            "MsgType": "TIMFileElem",
            "MsgContent": {
                "Url": "javascript:alert(4)",
                "FileName": "<img src=x onerror=alert(5)>",
            },
        },
        {
            "MsgType": "TIMCustomElem",
            "MsgContent": {"Data": "<script>alert(6)</script>", "Desc": "<b>x</b>"},
        },
        {"MsgType": "<script>alert(7)</script>", "MsgContent": {}},
    ]
    message = create(
        "1_1_1",
        when=datetime(2024, 6, 1, tzinfo=UTC),
        body=hostile,
        account="@TOA#_<script>alert(8)</script>",
        cloud_custom_data="<script>alert(9)</script>",
    )
    for page in (admin_client.get(detail(message)).text, admin_client.get(reverse(MESSAGES)).text):
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert 'href="javascript:' not in page and 'src="javascript:' not in page
    page = admin_client.get(detail(message)).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<code>javascript:alert(4)</code>" in page  # shown, not linked


def test_a_message_links_to_its_deliveries(admin_client: Client, post_callback: Any) -> None:
    post_callback(sample("text"))
    post_callback(sample("text"))
    post_callback(sample("image"))
    message = OfficialAccountMessage.objects.get(msg_key="71_1_1717000000")
    page = admin_client.get(detail(message)).text
    link = re.search(r'<a href="([^"]*message__id__exact=\d+)">', page)
    assert link is not None
    deliveries = admin_client.get(link.group(1).replace("&amp;", "&"))
    assert deliveries.status_code == 200
    assert {d.outcome for d in deliveries.context["cl"].result_list} == {"accepted", "duplicate"}


# ------------------------------------------------------------------ deliveries


def test_deliveries_show_outcome_reason_and_redacted_query(
    admin_client: Client, post_callback: Any
) -> None:
    post_callback(sample("text"))
    bad = callback_query(token="wrong")
    post_callback(sample("text"), bad)
    post_callback(
        {"CallbackCommand": "Group.CallbackAfterSendMsg"},
        callback_query(command="Group.CallbackAfterSendMsg"),
    )
    url = reverse(DELIVERIES)
    page = admin_client.get(url).text
    assert "Sign does not match any configured token" in page
    for outcome in ("rejected", "other_command", "accepted"):
        assert {
            d.outcome
            for d in admin_client.get(url, {"outcome__exact": outcome}).context["cl"].result_list
        } == {outcome}
    group = (
        admin_client.get(url, {"command": "Group.CallbackAfterSendMsg"}).context["cl"].result_list
    )
    assert [d.command for d in group] == ["Group.CallbackAfterSendMsg"]
    rejected = CallbackDelivery.objects.get(outcome="rejected")
    page = admin_client.get(
        reverse("admin:officialaccount_webhook_callbackdelivery_change", args=[rejected.pk])
    ).text
    assert "Sign=%5Bredacted%5D" in page
    assert bad["Sign"] not in page


def test_deliveries_drill_down_by_date(admin_client: Client, post_callback: Any) -> None:
    post_callback(sample("text"))
    CallbackDelivery.objects.update(received_at=datetime(2024, 3, 5, 10, tzinfo=UTC))
    post_callback(sample("image"))
    page = admin_client.get(reverse(DELIVERIES)).text
    nav = re.search(r'<nav class="toplinks"[^>]*>(.*?)</nav>', page, re.S)
    assert nav is not None
    assert "2024" in nav.group(1) and str(timezone.now().year) in nav.group(1)


# ------------------------------------------------------------------ scale


def many(count: int, start: int = 0) -> None:
    when = datetime(2024, 6, 1, tzinfo=UTC)
    image = sample("image")["MsgBody"]
    OfficialAccountMessage.objects.bulk_create(
        OfficialAccountMessage(
            sdk_app_id=SIGNED_APP,
            official_account=f"@TOA#_{n % 3}",
            msg_key=f"{n}_1_1",
            msg_time=when + timedelta(hours=n),
            event_time=when,
            msg_body=image,
            element_types=" TIMImageElem ",
            text_content="",
        )
        for n in range(start, start + count)
    )


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"official_account": "@TOA#_1"},
        {"q": "105_1_1"},  # a MsgKey of the second batch
        {"element_type": "TIMImageElem", "recalled": "no", "online_only__exact": "0"},
    ],
)
def test_list_makes_a_fixed_number_of_queries(
    admin_client: Client, django_assert_num_queries: Any, params: dict[str, str]
) -> None:
    many(60)
    admin_client.get(reverse(MESSAGES), params)  # warm the session and content types
    with CaptureQueriesContext(connection) as captured:
        admin_client.get(reverse(MESSAGES), params)
    expected = len(captured)  # now: the log it reads is reset by the next request
    many(600, start=60)
    with django_assert_num_queries(expected):
        response = admin_client.get(reverse(MESSAGES), params)
    assert response.status_code == 200


def test_detail_makes_a_fixed_number_of_queries(
    admin_client: Client, django_assert_num_queries: Any, post_callback: Any
) -> None:
    post_callback(sample("mixed"))
    message = OfficialAccountMessage.objects.get()
    admin_client.get(detail(message))
    with CaptureQueriesContext(connection) as captured:
        admin_client.get(detail(message))
    expected = len(captured)
    many(300)
    for _ in range(5):
        post_callback(sample("mixed"))  # duplicates: more deliveries for the same message
    with django_assert_num_queries(expected):
        assert admin_client.get(detail(message)).status_code == 200


def test_deliveries_list_makes_a_fixed_number_of_queries(
    admin_client: Client, django_assert_num_queries: Any, post_callback: Any
) -> None:
    post_callback(sample("text"))
    admin_client.get(reverse(DELIVERIES))
    with CaptureQueriesContext(connection) as captured:
        admin_client.get(reverse(DELIVERIES))
    expected = len(captured)
    for name in element_samples():
        post_callback(sample(name))
        post_callback(sample(name), callback_query(token="wrong"))
    with django_assert_num_queries(expected):
        assert admin_client.get(reverse(DELIVERIES)).status_code == 200


def test_volume_chart_says_when_there_is_nothing_to_draw(admin_client: Client) -> None:
    create("old", when=timezone.now() - timedelta(days=40))
    page = admin_client.get(reverse(MESSAGES)).text
    assert "No messages in the last 30 days." in page
    assert "<svg" not in page.split('class="officialaccount-volume"')[1].split("</figure>")[0]


# ------------------------------------------------------------------ odd data and odd URLs


def test_messages_at_the_ends_of_the_calendar_do_not_break_the_list(admin_client: Client) -> None:
    create("1_1_1", when=datetime(1970, 1, 1, tzinfo=UTC))
    create("2_1_1", when=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    create("3_1_1", when=datetime(2024, 6, 1, tzinfo=UTC))
    response = admin_client.get(reverse(MESSAGES))
    assert response.status_code == 200
    assert len(rows(response)) == 3


@pytest.mark.parametrize(
    "params",
    [
        {"msg_time__gte": "9999-12-01T00:00:00+00:00", "msg_time__lt": "9999-12-31T00:00:00+00:00"},
        {"msg_time__gte": "0001-01-01T00:00:00+05:00", "msg_time__lt": "0001-02-01T00:00:00+05:00"},
        {"msg_time__gte": "yesterday", "msg_time__lt": "today"},
        {"msg_key__regex": "("},
        {"text_content__regex": "["},
        {"msg_body__contains": "x"},
    ],
)
def test_crafted_query_strings_are_refused_not_a_500(
    admin_client: Client, params: dict[str, str]
) -> None:
    create("1_1_1", when=datetime(2024, 6, 1, tzinfo=UTC))
    response = admin_client.get(reverse(MESSAGES), params)
    assert response.status_code in (302, 400)  # Django's "?e=1" redirect, or Bad Request


@pytest.mark.parametrize(
    "params",
    [
        {"sdk_app_id": "²"},
        {"sdk_app_id": "9" * 5000},
        {"official_account": "a\x00b"},
        {"element_type": "TIMNoSuchElem"},
        {"recalled": "maybe"},
    ],
)
def test_odd_filter_values_match_nothing(admin_client: Client, params: dict[str, str]) -> None:
    create("1_1_1", when=datetime(2024, 6, 1, tzinfo=UTC))
    response = admin_client.get(reverse(MESSAGES), params)
    assert response.status_code == 200
    if "recalled" not in params:
        assert rows(response) == []


def test_odd_element_contents_are_shown_as_json_not_as_errors(admin_client: Client) -> None:
    odd = [
        {"MsgType": "TIMFileElem", "MsgContent": {"FileName": "big.bin", "FileSize": 10**400}},
        {"MsgType": "TIMSoundElem", "MsgContent": {"Size": -(10**400), "Second": 2}},
        {"MsgType": "TIMLocationElem", "MsgContent": {"Desc": "no coordinates"}},
        {"MsgType": "TIMFaceElem", "MsgContent": {"Data": "no index"}},
    ]
    message = create("1_1_1", when=datetime(2024, 6, 1, tzinfo=UTC), body=odd)
    page = admin_client.get(detail(message)).text
    assert "big.bin" in page
    assert "None" not in page.split('class="officialaccount-message"')[1].split("</fieldset>")[0]
    assert "&quot;Desc&quot;: &quot;no coordinates&quot;" in page  # shown as its JSON
    assert "&quot;Data&quot;: &quot;no index&quot;" in page


def test_element_type_filter_survives_many_unknown_types(admin_client: Client) -> None:
    body = [{"MsgType": f"TIMFuture{n:03d}Elem" * 3, "MsgContent": {}} for n in range(40)]
    body.append({"MsgType": "TIMTextElem", "MsgContent": {"Text": "still text"}})
    create("1_1_1", when=datetime(2024, 6, 1, tzinfo=UTC), body=body)
    found = rows(admin_client.get(reverse(MESSAGES), {"element_type": "TIMTextElem"}))
    assert [m.msg_key for m in found] == ["1_1_1"]


def test_only_indexed_columns_sort(admin_client: Client) -> None:
    create("1_1_1", when=datetime(2024, 6, 1, tzinfo=UTC))
    page = admin_client.get(reverse(MESSAGES)).text
    assert "column-msg_time" in page
    assert re.search(r'class="sortable[^"]*column-received_at', page) is None
    assert re.search(r'class="sortable[^"]*column-msg_time', page) is not None


def test_status_filter_offers_a_fixed_list(admin_client: Client, post_callback: Any) -> None:
    post_callback(sample("text"), callback_query(token="wrong"))
    post_callback(sample("text"))
    url = reverse(DELIVERIES)
    page = admin_client.get(url).text
    for status in ("200", "400", "403", "405", "413", "500"):
        assert f"?status_code={status}" in page
    assert [
        d.status_code
        for d in admin_client.get(url, {"status_code": "403"}).context["cl"].result_list
    ] == [403]
    assert admin_client.get(url, {"status_code": "999"}).context["cl"].result_list.count() == 0


def test_a_capped_count_is_said_and_select_all_is_refused(
    admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("officialaccount_webhook.admin.pagination.COUNT_CAP", 3)
    for n in range(5):
        create(f"{n}_1_1", when=datetime(2024, 6, 1, tzinfo=UTC) + timedelta(hours=n))
    page = admin_client.get(reverse(MESSAGES)).text
    assert "More than 3 official-account messages match" in page
    response = admin_client.post(
        reverse(MESSAGES),
        {
            "action": "delete_selected",
            "select_across": "1",
            "index": "0",
            "_selected_action": [OfficialAccountMessage.objects.first().pk],
        },
        follow=True,
    )
    assert "More than 3 rows match" in response.text
    assert OfficialAccountMessage.objects.count() == 5
