"""The admin lets people browse and find stored messages, and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from tests.conftest import callback_query, element_samples, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(post_callback: Any) -> list[OfficialAccountMessage]:
    for name in element_samples():
        post_callback(sample(name))
    post_callback(sample("text"), callback_query(token="wrong"))
    return list(OfficialAccountMessage.objects.all())


def test_message_list_and_search_by_msg_key(
    admin_client: Any, stored: list[OfficialAccountMessage]
) -> None:
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_changelist")
    response = admin_client.get(url)
    assert response.status_code == 200
    for message in stored:
        assert message.msg_key in response.text
    found = admin_client.get(url, {"q": "76_1_1717000300"})
    assert list(found.context["cl"].result_list) == [
        OfficialAccountMessage.objects.get(msg_key="76_1_1717000300")
    ]


def test_message_detail_is_read_only(
    admin_client: Any, stored: list[OfficialAccountMessage]
) -> None:
    message = stored[0]
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert message.msg_key in response.text
    assert admin_client.post(url, {"msg_key": "changed"}).status_code == 403
    message.refresh_from_db()
    assert message.msg_key != "changed"


def test_nothing_can_be_added(admin_client: Any) -> None:
    for model in ("officialaccountmessage", "callbackdelivery"):
        assert (
            admin_client.get(reverse(f"admin:officialaccount_webhook_{model}_add")).status_code
            == 403
        )


def test_delivery_list_shows_rejections_with_their_reason(
    admin_client: Any, stored: list[OfficialAccountMessage]
) -> None:
    response = admin_client.get(
        reverse("admin:officialaccount_webhook_callbackdelivery_changelist"),
        {"outcome": "rejected"},
    )
    assert response.status_code == 200
    [rejected] = response.context["cl"].result_list
    assert rejected == CallbackDelivery.objects.get(outcome="rejected")
    assert "Sign does not match any configured token" in response.text
