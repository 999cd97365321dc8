"""Triage on the delivery list (admin/triage.py), times people can read (admin/times.py), and
the stylesheet that makes the lists fit (admin/base.py's Media)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.staticfiles import finders
from django.test import Client, override_settings
from django.urls import reverse

from officialaccount_webhook.admin import pagination, times, triage
from officialaccount_webhook.models import AppGrant, CallbackDelivery, OfficialAccountMessage
from tests.settings import SIGNED_APP, UNSIGNED_APP

pytestmark = pytest.mark.django_db

DELIVERIES = reverse("admin:officialaccount_webhook_callbackdelivery_changelist")
NOW = datetime(2024, 6, 10, 12, 0, 0, tzinfo=UTC)
SEND = "OfficialAccount.CallbackAfterSendMsg"
Outcome = CallbackDelivery.Outcome


def delivery(outcome: str, ago: timedelta, **fields: Any) -> CallbackDelivery:
    status = 200 if outcome not in (Outcome.REJECTED, Outcome.REFUSED) else 403
    return CallbackDelivery.objects.create(
        received_at=fields.pop("received_at", NOW - ago),
        sdk_app_id=fields.pop("sdk_app_id", SIGNED_APP),
        command=fields.pop("command", SEND),
        outcome=outcome,
        status_code=fields.pop("status_code", status),
        **fields,
    )


def message(msg_key: str = "5_1_1717000000", **fields: Any) -> OfficialAccountMessage:
    return OfficialAccountMessage.objects.create(
        sdk_app_id=SIGNED_APP,
        official_account="@TOA#_A",
        msg_key=msg_key,
        msg_time=NOW,
        event_time=NOW + timedelta(milliseconds=123),
        received_at=NOW,
        msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}],
        **fields,
    )


def counts(summary: dict[str, Any]) -> dict[str, list[int]]:
    return {
        row["outcome"].value: [cell["count"] for cell in row["cells"]] for row in summary["rows"]
    }


# ------------------------------------------------------------------ summary


def test_the_summary_counts_each_outcome_by_hour_day_and_week() -> None:
    delivery(Outcome.ACCEPTED, timedelta(minutes=10))
    delivery(Outcome.REJECTED, timedelta(minutes=20), reason="Sign does not match")
    delivery(Outcome.REJECTED, timedelta(minutes=59), reason="Sign does not match")
    delivery(Outcome.REJECTED, timedelta(hours=5), reason="RequestTime too old")
    delivery(Outcome.ACCEPTED, timedelta(days=3))
    delivery(Outcome.REFUSED, timedelta(days=6), reason="MsgBody is not a list")
    delivery(Outcome.DUPLICATE, timedelta(days=8))  # older than a week: not in the summary
    summary = triage.summary(CallbackDelivery.objects.all(), NOW)
    assert counts(summary) == {
        "accepted": [1, 1, 2],
        "refused": [0, 0, 1],
        "rejected": [2, 3, 3],
    }
    # Each count links to the list of those deliveries since then, which the list accepts.
    rejected_day = next(row for row in summary["rows"] if row["outcome"] == Outcome.REJECTED)
    assert "outcome__exact=rejected" in rejected_day["cells"][1]["url"]
    assert "received_at__gte=2024-06-09T12%3A00%3A00%2B00%3A00" in rejected_day["cells"][1]["url"]


def test_the_summary_counts_stop_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagination, "COUNT_CAP", 2)
    for minutes in range(4):
        delivery(Outcome.ACCEPTED, timedelta(minutes=minutes))
    row = triage.summary(CallbackDelivery.objects.all(), NOW)["rows"][0]
    assert [(cell["count"], cell["more"]) for cell in row["cells"]] == [(2, True)] * 3


def test_the_latest_refusal_reasons_are_grouped_newest_first(admin_client: Client) -> None:
    for minutes in (5, 6, 7):
        delivery(Outcome.REJECTED, timedelta(minutes=minutes), reason="Sign does not match")
    delivery(Outcome.REJECTED, timedelta(minutes=1), reason="RequestTime too old")
    delivery(Outcome.REFUSED, timedelta(minutes=3), reason="MsgBody is not a list")
    delivery(Outcome.ACCEPTED, timedelta(minutes=0))
    reasons = triage.summary(CallbackDelivery.objects.all(), NOW)["reasons"]
    assert [(r["outcome"].value, r["reason"], r["count"]) for r in reasons] == [
        ("rejected", "RequestTime too old", 1),
        ("refused", "MsgBody is not a list", 1),
        ("rejected", "Sign does not match", 3),
    ]
    assert reasons[2]["newest_shown"] == "2024-06-10 11:55:00 UTC"
    # Its link lists exactly those deliveries.
    listed = admin_client.get(reasons[2]["url"])
    assert listed.status_code == 200
    assert {row.reason for row in listed.context["cl"].result_list} == {"Sign does not match"}
    assert len(listed.context["cl"].result_list) == 3


def test_the_delivery_list_shows_the_summary_of_the_users_apps_only(client: Client) -> None:
    delivery(Outcome.REJECTED, timedelta(minutes=5), reason="mine")
    delivery(Outcome.REJECTED, timedelta(minutes=5), reason="theirs", sdk_app_id=UNSIGNED_APP)
    user = User.objects.create_user("triager", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_callbackdelivery"))
    AppGrant.objects.create(sdk_app_id=SIGNED_APP, user=user)
    client.force_login(user)
    page = client.get(DELIVERIES)
    text = page.text
    assert 'class="officialaccount-triage"' in text
    assert "Latest refusal reasons" in text and ">mine<" in text and "theirs" not in text
    # The summary is of the user's deliveries, lately: the clock is the server's, so the
    # rows made "5 minutes before NOW" (in 2024) are outside its week.
    assert [r["reason"] for r in page.context["triage"]["reasons"]] == ["mine"]


# ------------------------------------------------------------------ search


def search(admin_client: Client, term: str) -> list[CallbackDelivery]:
    page = admin_client.get(DELIVERIES, {"q": term})
    assert page.status_code == 200
    return list(page.context["cl"].result_list)


def test_the_search_takes_each_word_for_what_it_looks_like(admin_client: Client) -> None:
    linked = message("7_1_1717000000")
    by_ip = delivery(Outcome.REJECTED, timedelta(minutes=1), remote_addr="203.0.113.9")
    by_msg_key = delivery(Outcome.ACCEPTED, timedelta(minutes=2), message=linked)
    by_command = delivery(Outcome.OTHER_COMMAND, timedelta(minutes=3), command="Group.Other")
    by_reason = delivery(Outcome.REJECTED, timedelta(minutes=4), reason="Sign does not match")
    assert search(admin_client, "203.0.113.9") == [by_ip]
    assert search(admin_client, "7_1_1717000000") == [by_msg_key]
    assert search(admin_client, "Group.Other") == [by_command]
    assert search(admin_client, "sign match") == [by_reason]  # every word, anywhere in it
    assert search(admin_client, "sign 203.0.113.9") == []  # words are ANDed
    assert search(admin_client, "Group") == []  # a command is matched whole


def test_a_search_of_too_many_words_is_refused_with_a_message(admin_client: Client) -> None:
    delivery(Outcome.REJECTED, timedelta(minutes=1), reason="a b c d e f")
    page = admin_client.get(DELIVERIES, {"q": "a b c d e f"})
    assert list(page.context["cl"].result_list) == []
    assert "Search for at most 5 words at a time (6 were given)." in page.text
    assert len(search(admin_client, "a b c d e")) == 1  # five words are searched


# ------------------------------------------------------------------ times


def test_lists_and_pages_show_seconds_and_the_time_zone(admin_client: Client) -> None:
    row = delivery(Outcome.ACCEPTED, timedelta(seconds=-7), message=message())
    text = admin_client.get(DELIVERIES).text
    assert "2024-06-10 12:00:07 UTC" in text
    detail = reverse("admin:officialaccount_webhook_callbackdelivery_change", args=[row.pk])
    page = admin_client.get(detail).text
    # Its title and its field agree.
    assert str(row) == f"{SEND} accepted at 2024-06-10 12:00:07 UTC"
    assert page.count("2024-06-10 12:00:07 UTC") >= 2
    messages = admin_client.get(
        reverse("admin:officialaccount_webhook_officialaccountmessage_changelist")
    )
    assert "2024-06-10 12:00:00 UTC" in messages.text


@override_settings(TIME_ZONE="Asia/Shanghai")
def test_times_are_in_the_projects_time_zone_and_event_time_has_milliseconds(
    admin_client: Client,
) -> None:
    stored = message()
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[stored.pk])
    page = admin_client.get(url).text
    assert "2024-06-10 20:00:00 CST" in page  # MsgTime
    assert "2024-06-10 20:00:00.123 CST" in page  # EventTime, to the millisecond
    assert "June 10, 2024" not in page  # no other format on the page
    row = delivery(Outcome.ACCEPTED, timedelta(0))
    assert str(row).endswith("at 2024-06-10 20:00:00 CST")
    assert times.moment(None) == "-"


def test_every_moment_field_of_the_apps_admins_is_shown_through_times() -> None:
    from django.contrib import admin
    from django.db.models import DateTimeField

    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "officialaccount_webhook":
            continue
        moments = {f.name for f in model._meta.fields if isinstance(f, DateTimeField)}
        named = [*model_admin.list_display, *(model_admin.fields or ())]
        for _title, options in model_admin.fieldsets or ():
            named += list(options["fields"])
        assert not moments & set(named), (model, moments & set(named))


# ------------------------------------------------------------------ lists that fit


def test_the_stylesheet_is_shipped_and_included(admin_client: Client) -> None:
    found = finders.find("officialaccount_webhook/admin.css")
    assert found, "the stylesheet is in the package's static files"
    with open(found, encoding="utf-8") as css:
        rules = css.read()
    assert "text-overflow: ellipsis" in rules and "white-space: nowrap" in rules
    for url in (
        DELIVERIES,
        reverse("admin:officialaccount_webhook_officialaccountmessage_changelist"),
    ):
        assert 'href="/static/officialaccount_webhook/admin.css"' in admin_client.get(url).text


def test_long_cells_are_one_line_with_the_whole_on_hover(admin_client: Client) -> None:
    reason = "Sign does not match any configured token " * 4
    delivery(Outcome.REJECTED, timedelta(0), reason=reason.strip())
    text = admin_client.get(DELIVERIES).text
    assert f'<span class="officialaccount-cut" title="{reason.strip()}">' in text
    assert 'class="officialaccount-outcome officialaccount-outcome-rejected"' in text


def test_refused_and_failed_deliveries_stand_out_on_the_messages_page(
    admin_client: Client,
) -> None:
    stored = message(receiver_error="ConnectionError", receiver_failed_at=NOW)
    delivery(Outcome.ACCEPTED, timedelta(minutes=2), message=stored)
    delivery(Outcome.REJECTED, timedelta(minutes=1), message=stored, reason="replayed")
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[stored.pk])
    page = admin_client.get(url).text
    assert page.count('class="officialaccount-delivery-bad"') == 1
    assert page.count('class="officialaccount-delivery"') == 1
    assert "officialaccount-receiver-failed" in page and "ConnectionError" in page
    listed = admin_client.get(
        reverse("admin:officialaccount_webhook_officialaccountmessage_changelist")
    ).text
    assert "officialaccount-mark-failed" in listed
