"""The admin's "Compose broadcast" (permission, missing credentials, preview, confirm, Tencent's
errors) and the list of scheduled sends with its cancel action."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission, User
from django.core import signing
from django.test import Client, override_settings
from django.urls import reverse
from pytest_httpserver import HTTPServer

from officialaccount_webhook.admin.compose import RANDOM_SALT
from officialaccount_webhook.admin.detail import content
from officialaccount_webhook.compose import send_message
from officialaccount_webhook.models import (
    AppGrant,
    OfficialAccount,
    OfficialAccountMessage,
    ScheduledSend,
)
from tests.settings import SIGNED_APP
from tests.tencent import ACCOUNT, error_reply
from tests.test_send import (
    SEND_PATH,
    UNCONFIGURED_APP,
    bodies,
    send_reply,
    tencent_fixture,  # noqa: F401  (the "tencent" fixture)
)

pytestmark = pytest.mark.django_db

COMPOSE = reverse("admin:officialaccount_webhook_scheduledsend_compose")
SCHEDULED = reverse("admin:officialaccount_webhook_scheduledsend_changelist")
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
PREVIEW = re.compile(r'<div class="officialaccount-message">.*?\n</div>', re.DOTALL)
SIGNED_RANDOM = re.compile(r'name="signed_random" value="([^"]+)"')


def staff(*codenames: str, username: str = "alice") -> Client:
    user = User.objects.create_user(username, password="x", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def sender() -> Client:
    return staff("send_officialaccountmessage", "view_officialaccountmessage")


def form(**fields: Any) -> dict[str, Any]:
    return {"sdk_app_id": SIGNED_APP, "account_id": ACCOUNT, "text": "Release 2.0"} | fields


def signed_random(page: Any) -> str:
    """The preview's hidden, signed Random."""
    [value] = SIGNED_RANDOM.findall(page.content.decode())
    return str(value)


def confirm(client: Client, fields: dict[str, Any], button: str = "Send it") -> Any:
    """Preview ``fields``, then confirm that preview."""
    preview = client.post(COMPOSE, {**fields, "preview": "Preview"})
    return client.post(
        COMPOSE, {**fields, "signed_random": signed_random(preview), "confirm": button}
    )


def test_compose_needs_the_send_permission(tencent: HTTPServer) -> None:
    assert staff("view_officialaccountmessage").get(COMPOSE).status_code == 403
    assert (
        staff("view_officialaccountmessage", username="b").post(COMPOSE, form()).status_code == 403
    )
    assert tencent.log == []


def test_the_form_offers_the_apps_that_can_send_and_names_the_others(tencent: HTTPServer) -> None:
    page = sender().get(COMPOSE).content.decode()
    assert f'<option value="{SIGNED_APP}"' in page
    assert f'<option value="{UNCONFIGURED_APP}"' not in page
    assert f"App(s) {UNCONFIGURED_APP} cannot send" in page
    assert "TENCENT_CHAT_SECRET_KEY" in page


def test_missing_credentials_are_said_before_composing(tencent: HTTPServer) -> None:
    conf = {"APPS": {SIGNED_APP: {"CALLBACK_TOKENS": ["t"]}}}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        response = sender().get(COMPOSE)
    page = response.content.decode()
    assert response.status_code == 200
    assert "TENCENT_CHAT_SECRET_KEY" in page
    assert 'id="compose-form"' not in page


def test_a_user_who_may_act_on_no_app_gets_no_form(tencent: HTTPServer) -> None:
    client = sender()
    AppGrant.objects.create(sdk_app_id=1400009999, user=User.objects.get())
    page = client.get(COMPOSE).content.decode()
    assert 'id="compose-form"' not in page
    assert "None of the apps you may act on" in page


def test_preview_then_confirm_lands_on_the_stored_message(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply("71_1_1717000000"))
    client = sender()
    fields = form(
        image_url="https://example.com/a.png",
        image_width=640,
        image_height=480,
        custom_data='{"sku": 7}',
        custom_desc="New in store",
        online_only="on",
        cloud_custom_data="campaign-7",
    )
    preview = client.post(COMPOSE, {**fields, "preview": "Preview"})
    assert preview.status_code == 200
    assert tencent.log == []  # nothing is sent by a preview
    [shown] = PREVIEW.findall(preview.content.decode())
    assert "Release 2.0" in shown and "https://example.com/a.png" in shown

    confirmed = client.post(
        COMPOSE, {**fields, "signed_random": signed_random(preview), "confirm": "Send it"}
    )
    message = OfficialAccountMessage.objects.get()
    assert confirmed.status_code == 302
    assert confirmed["Location"] == reverse(
        "admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk]
    )
    assert (message.sent_by, message.online_only, message.cloud_custom_data) == (
        "admin:alice",
        True,
        "campaign-7",
    )
    [body] = bodies(tencent)
    assert [element["MsgType"] for element in body["MsgBody"]] == [
        "TIMTextElem",
        "TIMImageElem",
        "TIMCustomElem",
    ]
    # The preview is the stored message as its detail page renders it.
    assert shown == PREVIEW.findall(content(message))[0]
    detail = client.get(confirmed["Location"]).content.decode()
    assert shown in detail
    assert "Sent: MsgKey 71_1_1717000000" in detail


def test_tencents_error_is_shown_in_words_and_nothing_stored(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(error_reply(10010, "account not exist"))
    response = confirm(sender(), form())
    assert response.status_code == 200
    assert "account not exist (ErrorCode 10010)" in response.content.decode()
    assert not OfficialAccountMessage.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        pytest.param(form(text=""), "A message needs at least one element", id="empty"),
        pytest.param(form(account_id=""), "Choose an official account", id="no-account"),
        pytest.param(
            form(image_url="https://example.com/a.png"), "width and height", id="image-without-size"
        ),
        pytest.param(form(text="x" * 12_300), "Tencent takes at most 12288", id="too-long"),
    ],
)
def test_what_tencent_would_refuse_is_said_before_any_call(
    tencent: HTTPServer, fields: dict[str, Any], error: str
) -> None:
    response = sender().post(COMPOSE, {**fields, "preview": "Preview"})
    assert error in response.content.decode()
    assert tencent.log == []


def test_the_account_comes_from_the_mirror(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply())
    OfficialAccount.objects.create(
        sdk_app_id=SIGNED_APP, official_account="@TOA#_news", name="News"
    )
    client = sender()
    assert "News @TOA#_news" in client.get(COMPOSE).content.decode()
    confirm(client, form(account_id="", account="@TOA#_news"))
    assert bodies(tencent)[0]["Official_Account"] == "@TOA#_news"


def test_a_mirrored_account_of_another_app_is_refused(tencent: HTTPServer) -> None:
    OfficialAccount.objects.create(sdk_app_id=UNCONFIGURED_APP, official_account="@TOA#_other")
    response = sender().post(
        COMPOSE, {**form(account_id="", account="@TOA#_other"), "preview": "Preview"}
    )
    assert "Select a valid choice" in response.content.decode()
    assert tencent.log == []


def test_compose_with_a_time_schedules_it(tencent: HTTPServer) -> None:
    with override_settings(TASKS=DB_TASKS):
        client = sender()
        fields = form(send_at="2030-01-01 09:00")
        preview = client.post(COMPOSE, {**fields, "preview": "Preview"})
        response = client.post(
            COMPOSE,
            {**fields, "signed_random": signed_random(preview), "confirm": "Schedule it"},
        )
    assert response.status_code == 302
    assert response["Location"] == SCHEDULED
    row = ScheduledSend.objects.get()
    assert (row.status, row.requested_by) == ("scheduled", "admin:alice")
    # Scheduled with the Random the preview drew.
    assert row.random == signing.loads(signed_random(preview), salt=RANDOM_SALT)
    assert tencent.log == []


def test_confirming_one_preview_twice_sends_the_same_random(tencent: HTTPServer) -> None:
    # A double click on "Send it": two confirms of one preview. Tencent drops a second message
    # with the same content and Random; this app stores one row for its one MsgKey.
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply("71_1_1717000000"))
    client = sender()
    preview = client.post(COMPOSE, {**form(), "preview": "Preview"})
    confirmed = {**form(), "signed_random": signed_random(preview), "confirm": "Send it"}
    first, second = client.post(COMPOSE, confirmed), client.post(COMPOSE, confirmed)
    assert first.status_code == second.status_code == 302
    randoms = [body["Random"] for body in bodies(tencent)]
    assert len(randoms) == 2 and randoms[0] == randoms[1]
    assert randoms[0] == signing.loads(signed_random(preview), salt=RANDOM_SALT)
    assert OfficialAccountMessage.objects.count() == 1
    # Two previews draw two Randoms.
    again = client.post(COMPOSE, {**form(), "preview": "Preview"})
    assert signed_random(again) != signed_random(preview)


@pytest.mark.parametrize("tampered", ["", "12345", "12345:forged"])
def test_a_confirm_without_the_previews_signed_random_sends_nothing(
    tencent: HTTPServer, tampered: str
) -> None:
    client = sender()
    response = client.post(COMPOSE, {**form(), "signed_random": tampered, "confirm": "Send it"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Check the preview, then send it from there." in page
    assert PREVIEW.findall(page)  # the preview again, with a Random of its own
    assert SIGNED_RANDOM.findall(page)
    assert tencent.log == []


def test_scheduled_sends_are_listed_and_cancelled(tencent: HTTPServer) -> None:
    with override_settings(TASKS=DB_TASKS):
        row = send_message(SIGNED_APP, ACCOUNT, ["later"], send_at=_later())
    client = sender()
    page = client.get(SCHEDULED).content.decode()
    assert "later" in page and "Compose broadcast" in page
    response = client.post(
        SCHEDULED,
        {"action": "cancel_selected", ACTION_CHECKBOX_NAME: [row.pk]},
        follow=True,
    )
    assert "Cancelled: 1." in response.content.decode()
    row.refresh_from_db()
    assert (row.status, row.cancelled_by) == ("cancelled", "admin:alice")


def test_scheduled_sends_need_the_send_permission(tencent: HTTPServer) -> None:
    assert staff("view_officialaccountmessage").get(SCHEDULED).status_code == 403


def _later() -> Any:
    from datetime import UTC, datetime

    return datetime(2030, 1, 1, 9, tzinfo=UTC)
