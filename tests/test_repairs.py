"""Lenient where the meaning is unambiguous: each repair is stored with the message, as a note
the admin and the API show, and nothing else about the message changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.webhook.events import SentMessage
from officialaccount_webhook.webhook.wire import AFTER_SEND_MSG
from tests.conftest import PostCallback, SignalLog, sample

pytestmark = pytest.mark.django_db

TEXT = sample("text")
EVENT_MS = TEXT["EventTime"]

# (what the callback says, the stored field and value, the note)
REPAIRS = [
    (
        {"MsgTime": str(TEXT["MsgTime"])},
        ("msg_time", datetime.fromtimestamp(TEXT["MsgTime"], tz=UTC)),
        f"MsgTime: the string '{TEXT['MsgTime']}' read as the integer {TEXT['MsgTime']}",
    ),
    (
        {"EventTime": str(EVENT_MS)},
        ("event_time", datetime.fromtimestamp(EVENT_MS / 1000, tz=UTC)),
        f"EventTime: the string '{EVENT_MS}' read as the integer {EVENT_MS}",
    ),
    (
        {"OnlineOnlyFlag": "1"},
        ("online_only", True),
        "OnlineOnlyFlag: the string '1' read as the integer 1",
    ),
    ({"OnlineOnlyFlag": True}, ("online_only", True), "OnlineOnlyFlag: the boolean true read as 1"),
    (
        {"OnlineOnlyFlag": False},
        ("online_only", False),
        "OnlineOnlyFlag: the boolean false read as 0",
    ),
    (
        {"CloudCustomData": {"campaign": "双十一", "n": [1, 2]}},
        ("cloud_custom_data", '{"campaign":"双十一","n":[1,2]}'),
        'CloudCustomData: a JSON value, not a string, kept as its JSON text {"campaign":"双十一"',
    ),
    ({"CloudCustomData": 5}, ("cloud_custom_data", "5"), "CloudCustomData: a JSON value"),
    (
        {"EventTime": 1717000123},
        ("event_time", datetime.fromtimestamp(1717000123, tz=UTC)),
        "EventTime: 1717000123 is too small for milliseconds; taken as seconds",
    ),
]


@pytest.mark.parametrize(("change", "stored", "note"), REPAIRS)
def test_each_repair_is_stored_with_its_note(
    post_callback: PostCallback,
    signal_log: SignalLog,
    change: dict[str, Any],
    stored: tuple[str, Any],
    note: str,
) -> None:
    response = post_callback(TEXT | change)
    assert response.json()["ErrorCode"] == 0
    message = OfficialAccountMessage.objects.get()
    field, value = stored
    assert getattr(message, field) == value
    [repair] = message.repairs
    assert repair.startswith(note)
    # Everything else as sent, and the delivery keeps the body exactly as received.
    assert message.msg_body == TEXT["MsgBody"]
    assert CallbackDelivery.objects.get().body == TEXT | change
    assert len(signal_log.received) == 1


def test_a_message_sent_as_documented_has_no_repairs(post_callback: PostCallback) -> None:
    post_callback(TEXT)
    assert OfficialAccountMessage.objects.get().repairs == []


def test_several_repairs_are_all_noted_in_order() -> None:
    event = SentMessage.from_payload(
        AFTER_SEND_MSG, TEXT | {"MsgTime": "1717000000", "OnlineOnlyFlag": True, "EventTime": 5}
    )
    assert [note.split(":")[0] for note in event.repairs] == [
        "MsgTime",
        "OnlineOnlyFlag",
        "EventTime",
    ]


def test_a_long_json_value_is_quoted_short_in_its_note() -> None:
    event = SentMessage.from_payload(AFTER_SEND_MSG, TEXT | {"CloudCustomData": ["x" * 500]})
    assert event.cloud_custom_data == f'["{"x" * 500}"]'
    [note] = event.repairs
    assert len(note) < 120 and note.endswith("…")


def test_an_event_time_in_milliseconds_is_not_repaired() -> None:
    assert SentMessage.from_payload(AFTER_SEND_MSG, TEXT).repairs == ()


def test_the_api_and_the_admin_show_the_notes(
    post_callback: PostCallback, admin_client: Client
) -> None:
    post_callback(TEXT | {"OnlineOnlyFlag": "1"})
    message = OfficialAccountMessage.objects.get()
    api = admin_client.get(reverse("officialaccount_webhook_api:message-detail", args=[message.pk]))
    assert api.json()["repairs"] == ["OnlineOnlyFlag: the string '1' read as the integer 1"]
    page = admin_client.get(
        reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk])
    )
    assert "OnlineOnlyFlag: the string &#x27;1&#x27; read as the integer 1" in page.text
