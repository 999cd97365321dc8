"""The six account and subscriber callbacks keep the accounts mirror, with Tencent's sample
bodies: the mirror's state, the same callback twice, an older event after a newer one, the
signals (once, after commit, in the request or through the task worker), and the accounts that
any callback, a message included, makes known."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client

from officialaccount_webhook.accounts import mirror
from officialaccount_webhook.models import (
    CallbackDelivery,
    OfficialAccount,
    OfficialAccountMessage,
    OfficialAccountSubscriber,
)
from officialaccount_webhook.signals import account_changed, subscribers_changed
from officialaccount_webhook.webhook.wire import AFTER_MSG_WITHDRAW
from tests.conftest import PostCallback, callback_query, callback_url, sample
from tests.settings import SIGNED_APP
from tests.test_task_mode import IMMEDIATE, task_mode

pytestmark = pytest.mark.django_db

ACCOUNT = "@TOA#_test_OA_for_penn"
T0 = 1670574414123


@dataclass
class Changes:
    accounts: list[dict[str, Any]] = field(default_factory=list)
    subscribers: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def changes() -> Iterator[Changes]:
    log = Changes()

    def on_account(**kwargs: Any) -> None:
        # Sent after commit: the row it names is there, as the signal says.
        account = kwargs["account"]
        assert OfficialAccount.objects.filter(pk=account.pk).exists()
        log.accounts.append(kwargs)

    def on_subscribers(**kwargs: Any) -> None:
        log.subscribers.append(kwargs)

    account_changed.connect(on_account)
    subscribers_changed.connect(on_subscribers)
    yield log
    account_changed.disconnect(on_account)
    subscribers_changed.disconnect(on_subscribers)


def event(name: str, at: int = T0, **fields: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Tencent's sample body ``name`` for ACCOUNT at ``at`` (ms), with ``fields`` changed."""
    body = sample(name) | {"Official_Account": ACCOUNT, "EventTime": at} | fields
    return body, callback_query(command=body["CallbackCommand"])


def post(post_callback: PostCallback, name: str, at: int = T0, **fields: Any) -> str:
    """POST the event; the outcome its delivery record says."""
    response = post_callback(*event(name, at, **fields))
    assert response.status_code == 200, response.content
    assert response.json() == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
    return CallbackDelivery.objects.latest("id").outcome


def account() -> OfficialAccount:
    return OfficialAccount.objects.get(sdk_app_id=SIGNED_APP, official_account=ACCOUNT)


def moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def current() -> set[str]:
    return set(
        OfficialAccountSubscriber.objects.filter(unsubscribed_at__isnull=True).values_list(
            "subscriber_account", flat=True
        )
    )


def test_create_records_the_account_and_signals_once(
    post_callback: PostCallback, changes: Changes
) -> None:
    assert post(post_callback, "oa-after-create") == "applied"
    row = account()
    assert (row.name, row.owner_account) == ("TestOfficialAccount", "107867")
    assert row.created_at == moment(T0)
    assert row.destroyed_at is None
    [call] = changes.accounts
    assert (call["change"], call["event_time"], call["sender"]) == (
        "created",
        moment(T0),
        OfficialAccount,
    )
    assert call["account"].pk == row.pk
    # The same callback again: nothing changes, nothing is sent, and the record says so.
    assert post(post_callback, "oa-after-create") == "unchanged"
    assert len(changes.accounts) == 1
    assert CallbackDelivery.objects.filter(command__endswith="CreateOfficialAccount").count() == 2


def test_signals_wait_for_the_commit(
    client: Client, changes: Changes, django_capture_on_commit_callbacks: Any
) -> None:
    body, query = event("oa-after-add-subscriber")
    with django_capture_on_commit_callbacks() as pending:
        client.post(callback_url(query), data=body, content_type="application/json")
    assert changes.subscribers == []
    assert len(pending) == 1  # subscribers_changed (callback_received has no receiver)
    for send in pending:
        send()
    assert changes.subscribers[0]["added"] == ["jared", "leckie"]


def test_info_changed_updates_the_profile_and_an_older_event_does_not_undo_it(
    post_callback: PostCallback, changes: Changes
) -> None:
    post(post_callback, "oa-after-create", T0)
    assert post(post_callback, "oa-after-info-changed", T0 + 2000) == "applied"
    row = account()
    assert (row.name, row.introduction, row.face_url, row.organization) == (
        "NewName",
        "NewNotification",
        "http://this.is.newface.url",
        "NewOrganization",
    )
    assert row.owner_account == "107867"  # not in the info-changed body: kept
    # An older change, delivered late, and the same change again: neither touches the profile.
    assert post(post_callback, "oa-after-info-changed", T0 + 1000, Name="Older") == "unchanged"
    assert post(post_callback, "oa-after-info-changed", T0 + 2000) == "unchanged"
    assert account().name == "NewName"
    assert [call["change"] for call in changes.accounts] == ["created", "changed"]


def test_a_creation_arriving_after_a_newer_change_keeps_the_newer_profile(
    post_callback: PostCallback, changes: Changes
) -> None:
    post(post_callback, "oa-after-info-changed", T0 + 5000)
    assert post(post_callback, "oa-after-create", T0) == "applied"
    row = account()
    assert row.name == "NewName"
    assert row.created_at == moment(T0)
    assert [call["change"] for call in changes.accounts] == ["changed", "created"]


def test_destroy_and_full_and_their_order(post_callback: PostCallback, changes: Changes) -> None:
    post(post_callback, "oa-after-create", T0)
    assert post(post_callback, "oa-after-full", T0 + 1000) == "applied"
    assert account().is_full
    assert account().full_at == moment(T0 + 1000)
    assert post(post_callback, "oa-after-full", T0 + 1000) == "unchanged"
    assert post(post_callback, "oa-after-destroyed", T0 + 3000) == "applied"
    assert account().destroyed_at == moment(T0 + 3000)
    assert post(post_callback, "oa-after-destroyed", T0 + 3000) == "unchanged"
    # A creation older than the destruction does not bring the account back.
    assert post(post_callback, "oa-after-create", T0 + 2000) == "unchanged"
    assert account().is_destroyed
    assert [call["change"] for call in changes.accounts] == ["created", "full", "destroyed"]
    # A newer creation does: Tencent let the ID be used again.
    assert post(post_callback, "oa-after-create", T0 + 4000) == "applied"
    assert not account().is_destroyed
    assert changes.accounts[-1]["change"] == "created"


def test_a_destruction_older_than_the_creation_is_stale(post_callback: PostCallback) -> None:
    post(post_callback, "oa-after-create", T0 + 2000)
    assert post(post_callback, "oa-after-destroyed", T0 + 1000) == "unchanged"
    assert account().destroyed_at is None


def test_subscribers_added_and_removed(post_callback: PostCallback, changes: Changes) -> None:
    assert post(post_callback, "oa-after-add-subscriber", T0) == "applied"
    assert current() == {"jared", "leckie"}
    assert account().subscriber_count == 2
    [call] = changes.subscribers
    assert (call["added"], call["removed"], call["sender"]) == (
        ["jared", "leckie"],
        [],
        OfficialAccount,
    )
    assert post(post_callback, "oa-after-add-subscriber", T0) == "unchanged"
    assert len(changes.subscribers) == 1

    body_list = [{"Subscriber_Account": "jared"}]
    assert (
        post(post_callback, "oa-after-delete-subscriber", T0 + 10, SubscribeAccountList=body_list)
        == "applied"
    )
    assert current() == {"leckie"}
    assert account().subscriber_count == 1
    former = OfficialAccountSubscriber.objects.get(subscriber_account="jared")
    # The row is kept: history survives.
    assert (former.subscribed_at, former.unsubscribed_at) == (moment(T0), moment(T0 + 10))
    assert changes.subscribers[-1]["removed"] == ["jared"]


def test_a_late_subscription_does_not_undo_a_newer_unsubscription(
    post_callback: PostCallback, changes: Changes
) -> None:
    post(post_callback, "oa-after-delete-subscriber", T0 + 10)
    assert current() == set()
    # The subscription happened first but arrives second: history, not state.
    assert post(post_callback, "oa-after-add-subscriber", T0) == "unchanged"
    assert current() == set()
    jared = OfficialAccountSubscriber.objects.get(subscriber_account="jared")
    assert (jared.subscribed_at, jared.unsubscribed_at) == (moment(T0), moment(T0 + 10))
    assert [call["added"] for call in changes.subscribers] == [[]]
    # A newer subscription brings them back.
    post(post_callback, "oa-after-add-subscriber", T0 + 20)
    assert current() == {"jared", "leckie"}
    assert changes.subscribers[-1]["added"] == ["jared", "leckie"]


def test_removing_subscribers_after_full_clears_it_and_a_stale_full_stays_cleared(
    post_callback: PostCallback,
) -> None:
    post(post_callback, "oa-after-add-subscriber", T0)
    post(post_callback, "oa-after-full", T0 + 1)
    assert account().is_full
    post(post_callback, "oa-after-delete-subscriber", T0 + 5)
    assert not account().is_full
    # A "full" from before the removal, delivered late, is stale.
    assert post(post_callback, "oa-after-full", T0 + 3) == "unchanged"
    assert not account().is_full


@pytest.mark.parametrize(
    ("name", "fields", "field_name"),
    [
        ("oa-after-create", {"Official_Account": ""}, "Official_Account"),
        ("oa-after-full", {"EventTime": "soon"}, "EventTime"),
        ("oa-after-add-subscriber", {"SubscribeAccountList": {"a": 1}}, "SubscribeAccountList"),
        (
            "oa-after-delete-subscriber",
            {"SubscribeAccountList": [{"Subscriber_Account": 7}]},
            "SubscribeAccountList[0].Subscriber_Account",
        ),
        ("oa-after-create", {"Owner_Account": "x" * 200}, "Owner_Account"),
    ],
)
def test_malformed_account_callbacks_are_refused_with_the_field_named_and_kept(
    post_callback: PostCallback, name: str, fields: dict[str, Any], field_name: str
) -> None:
    response = post_callback(*event(name, **fields))
    assert response.status_code == 400
    assert field_name in response.json()["ErrorInfo"]
    delivery = CallbackDelivery.objects.get()
    # This app's command, authenticated: its body is kept for officialaccount_reprocess.
    assert (delivery.outcome, bytes(delivery.raw_body) != b"") == ("refused", True)
    assert not OfficialAccount.objects.exists()


def test_a_message_and_a_withdrawal_make_their_account_known(post_callback: PostCallback) -> None:
    post_callback(sample("doc-example"))
    message = OfficialAccountMessage.objects.get()
    assert OfficialAccount.objects.for_message(message).get().name == ""
    withdrawal = sample("withdraw") | {"Official_Account": "@TOA#_other"}
    post_callback(withdrawal, callback_query(command=AFTER_MSG_WITHDRAW))
    assert set(OfficialAccount.objects.values_list("official_account", flat=True)) == {
        message.official_account,
        "@TOA#_other",
    }
    # A duplicate message changes nothing more.
    post_callback(sample("doc-example"))
    assert OfficialAccount.objects.count() == 2


def test_account_signals_reach_receivers_through_the_task_worker(
    post_callback: PostCallback, changes: Changes
) -> None:
    with task_mode(IMMEDIATE):
        post(post_callback, "oa-after-create")
        post(post_callback, "oa-after-add-subscriber")
    assert [call["change"] for call in changes.accounts] == ["created"]
    assert changes.accounts[0]["event_time"] == moment(T0)
    assert changes.subscribers[0]["added"] == ["jared", "leckie"]


def test_changes_made_through_this_app_are_not_undone_by_tencents_later_callback(
    post_callback: PostCallback,
) -> None:
    """The admin adds subscribers through Tencent's API, then records them (mirror.add_
    subscribers, stamped now); Tencent's callback for that change, stamped a moment earlier,
    arrives next and changes nothing."""
    mirror.ensure_account("default", SIGNED_APP, ACCOUNT)
    added = mirror.add_subscribers("default", account(), ["jared", "jared", "leckie"])
    assert added == ["jared", "leckie"]
    assert account().subscriber_count == 2
    assert post(post_callback, "oa-after-add-subscriber", T0) == "unchanged"
    assert mirror.remove_subscribers("default", account(), ["leckie"]) == ["leckie"]
    assert mirror.remove_subscribers("default", account(), ["leckie"]) == []
    assert current() == {"jared"}
