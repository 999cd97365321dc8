"""An authenticated callback is never lost: recalls traced (withdrawals before their message
included), refused callbacks kept and reprocessed, pruned messages not brought back, and other
products' callbacks handed on without keeping their bodies."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone
from pytest_httpserver import HTTPServer

from officialaccount_webhook.models import (
    CallbackDelivery,
    MessageRecall,
    OfficialAccountMessage,
    PrunedMessage,
)
from officialaccount_webhook.webhook.events import SentMessage
from officialaccount_webhook.webhook.ingest import store_backfilled
from officialaccount_webhook.webhook.wire import AFTER_MSG_WITHDRAW, AFTER_SEND_MSG
from tests.conftest import PostCallback, SignalLog, callback_query, sample
from tests.settings import OFFICIALACCOUNT_WEBHOOK, SIGNED_APP
from tests.tencent import ACCOUNT
from tests.test_operations import history_item, serve_history, tencent  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

Outcome = CallbackDelivery.Outcome
Result = MessageRecall.Result


def withdraw_query() -> dict[str, str]:
    # Signed when sent: a query signed at import is stale once the suite has run a minute.
    return callback_query(command=AFTER_MSG_WITHDRAW)


def withdrawal(*msg_keys: str) -> dict[str, Any]:
    return sample("withdraw") | {"WithdrawMsgList": [{"MsgKey": key} for key in msg_keys]}


def text(msg_key: str) -> dict[str, Any]:
    return sample("text") | {"Official_Account": ACCOUNT, "MsgKey": msg_key}


# ------------------------------------------------------------------ recalls traced


def test_a_withdrawal_says_what_it_did_to_each_key(
    post_callback: PostCallback, signal_log: SignalLog, admin_client: Client
) -> None:
    post_callback(text("1_1_1"))
    post_callback(text("2_1_2"))
    post_callback(withdrawal("2_1_2"), withdraw_query())
    post_callback(withdrawal("1_1_1", "2_1_2", "3_1_3"), withdraw_query())
    delivery = CallbackDelivery.objects.filter(outcome=Outcome.WITHDRAWAL).latest("pk")
    assert {(r.msg_key, r.result) for r in delivery.recalls.all()} == {
        ("1_1_1", Result.RECALLED),
        ("2_1_2", Result.ALREADY_RECALLED),
        ("3_1_3", Result.NOT_STORED),
    }
    assert [call["message"].msg_key for call in signal_log.recalled] == ["2_1_2", "1_1_1"]
    # The admin links the withdrawal to the messages, and each message shows its history.
    one = OfficialAccountMessage.objects.get(msg_key="1_1_1")
    page = admin_client.get(
        reverse("admin:officialaccount_webhook_callbackdelivery_change", args=[delivery.pk])
    ).text
    assert (
        reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[one.pk])
        in page
    )
    assert "not stored (yet)" in page and "already recalled" in page
    history = admin_client.get(
        reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[one.pk])
    ).text
    assert "withdrawal callback" in history
    assert (
        reverse("admin:officialaccount_webhook_callbackdelivery_change", args=[delivery.pk])
        in history
    )


def test_a_withdrawal_before_its_message_stores_it_recalled_once(
    post_callback: PostCallback, signal_log: SignalLog
) -> None:
    post_callback(withdrawal("7_1_7"), withdraw_query())
    post_callback(withdrawal("7_1_7"), withdraw_query())  # twice, before the message
    assert signal_log.recalled == []
    post_callback(text("7_1_7"))
    message = OfficialAccountMessage.objects.get()
    assert message.recalled_at is not None
    assert [call["message"].pk for call in signal_log.recalled] == [message.pk]
    assert [call["message"].pk for call in signal_log.received] == [message.pk]
    pending = MessageRecall.objects.filter(result=Result.NOT_STORED)
    assert pending.count() == 2
    assert all(r.applied_at is not None and r.message_id == message.pk for r in pending)
    # The message again (a duplicate), and a later withdrawal: nothing recalled twice.
    post_callback(text("7_1_7"))
    post_callback(withdrawal("7_1_7"), withdraw_query())
    assert len(signal_log.recalled) == 1
    assert MessageRecall.objects.latest("pk").result == Result.ALREADY_RECALLED


def test_a_withdrawal_before_a_backfilled_message(
    post_callback: PostCallback, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    post_callback(withdrawal("8_1_8"), withdraw_query())
    event = SentMessage.from_payload(AFTER_SEND_MSG, text("8_1_8"))
    with django_capture_on_commit_callbacks(execute=True):
        assert store_backfilled(SIGNED_APP, event)
    assert OfficialAccountMessage.objects.get().recalled_at is not None
    assert len(signal_log.recalled) == 1


def test_every_recall_through_the_service_is_in_the_history(
    post_callback: PostCallback,
    tencent: HTTPServer,  # noqa: F811
) -> None:
    from tests.tencent import RECALL_PATH, recall_reply

    post_callback(text("9_1_9"))
    tencent.expect_request(RECALL_PATH, method="POST").respond_with_json(recall_reply({"9_1_9": 0}))
    call_command(
        "officialaccount_recall",
        "9_1_9",
        "--sdkappid",
        str(SIGNED_APP),
        "--account",
        ACCOUNT,
        "--reason",
        "typo",
        stdout=StringIO(),
    )
    [recall] = MessageRecall.objects.all()
    assert (recall.source, recall.requested_by, recall.result, recall.ret_code) == (
        MessageRecall.Source.COMMAND,
        "command",
        Result.RECALLED,
        0,
    )
    assert (recall.reason, recall.message) == ("typo", OfficialAccountMessage.objects.get())


# ------------------------------------------------------------------ kept and reprocessed


def refused_record(body: bytes, **fields: Any) -> CallbackDelivery:
    """A refused delivery, as an earlier version (with a stricter parser) kept it."""
    command = fields.pop("command", AFTER_SEND_MSG)
    return CallbackDelivery.objects.create(
        command=command,
        outcome=Outcome.REFUSED,
        status_code=400,
        sdk_app_id=SIGNED_APP,
        reason="MsgTime: must be an integer, not a string",
        query_string=f"SdkAppid={SIGNED_APP}&CallbackCommand={command}&Sign=%5Bredacted%5D",
        raw_body=body,
        **fields,
    )


def reprocess(*args: str) -> str:
    out = StringIO()
    call_command("officialaccount_reprocess", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_reprocess_stores_what_now_parses_once(
    post_callback: PostCallback, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    parses = refused_record(json.dumps(text("5_1_5") | {"MsgTime": "1717000000"}).encode())
    # A record refused now, kept by the webhook itself: still refused on reprocess.
    missing_key = {k: v for k, v in text("6_1_6").items() if k != "MsgKey"}
    post_callback(missing_key)
    still = CallbackDelivery.objects.get(
        outcome=Outcome.REFUSED, reprocessed_at__isnull=True, pk__gt=parses.pk
    )
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(CommandError, match="1 record"),
    ):
        reprocess()
    message = OfficialAccountMessage.objects.get()
    assert message.msg_key == "5_1_5"
    assert message.repairs == ["MsgTime: the string '1717000000' read as the integer 1717000000"]
    parses.refresh_from_db()
    assert parses.reprocessed_at is not None and parses.message == message
    assert [call["message"].pk for call in signal_log.received] == [message.pk]
    still.refresh_from_db()
    assert still.reprocessed_at is None and "MsgKey" in still.reason
    # Twice: nothing stored or signalled twice.
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(CommandError):
        reprocess()
    assert OfficialAccountMessage.objects.count() == 1
    assert len(signal_log.received) == 1


def test_reprocess_of_a_message_stored_meanwhile_is_a_duplicate(
    post_callback: PostCallback, signal_log: SignalLog
) -> None:
    post_callback(text("5_1_5"))
    refused_record(json.dumps(text("5_1_5")).encode())
    assert "Stored 0 new message(s); 1 were stored already" in reprocess()
    assert len(signal_log.received) == 1


# ------------------------------------------------------------------ pruned stays pruned


def test_prune_then_backfill_stores_and_signals_nothing(
    tencent: HTTPServer,  # noqa: F811
    signal_log: SignalLog,
    django_capture_on_commit_callbacks: Any,
    post_callback: PostCallback,
) -> None:
    for seq in (1, 2, 3):
        post_callback(text(history_item(seq)["MsgKey"]))
    OfficialAccountMessage.objects.update(received_at=timezone.now() - timedelta(days=40))
    signal_log.received.clear()
    call_command("officialaccount_prune", "--older-than", "30", "--messages", stdout=StringIO())
    assert not OfficialAccountMessage.objects.exists()
    assert PrunedMessage.objects.count() == 3
    serve_history(tencent, [history_item(seq) for seq in (3, 2, 1)])
    args = ("--sdkappid", str(SIGNED_APP), "--account", ACCOUNT)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("officialaccount_backfill", *args, stdout=out)
    assert "stored 0" in out.getvalue() and "pruned before (not stored again) 3" in out.getvalue()
    assert not OfficialAccountMessage.objects.exists()
    assert signal_log.received == []
    with django_capture_on_commit_callbacks(execute=True):
        call_command("officialaccount_backfill", *args, "--include-pruned", stdout=StringIO())
    assert OfficialAccountMessage.objects.count() == 3


def test_tombstones_have_their_own_retention(post_callback: PostCallback) -> None:
    PrunedMessage.objects.create(
        sdk_app_id=SIGNED_APP,
        official_account=ACCOUNT,
        msg_key="old",
        pruned_at=timezone.now() - timedelta(days=400),
    )
    PrunedMessage.objects.create(sdk_app_id=SIGNED_APP, official_account=ACCOUNT, msg_key="new")
    call_command("officialaccount_prune", stdout=StringIO())
    assert list(PrunedMessage.objects.values_list("msg_key", flat=True)) == ["new"]


def test_reprocess_does_not_bring_back_a_pruned_message() -> None:
    refused_record(json.dumps(text("5_1_5")).encode())
    PrunedMessage.objects.create(sdk_app_id=SIGNED_APP, official_account=ACCOUNT, msg_key="5_1_5")
    assert "1 pruned message(s) not stored again" in reprocess()
    assert not OfficialAccountMessage.objects.exists()


# ------------------------------------------------------------------ other products' data


PRIVATE = "C2C.CallbackAfterSendMsg"
PRIVATE_BODY = {
    "CallbackCommand": PRIVATE,
    "From_Account": "alice",
    "To_Account": "bob",
    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "a private word"}}],
}


def test_private_chats_are_handed_on_and_not_kept(
    post_callback: PostCallback, signal_log: SignalLog
) -> None:
    assert post_callback(PRIVATE_BODY, callback_query(command=PRIVATE)).json()["ErrorCode"] == 0
    delivery = CallbackDelivery.objects.get()
    assert (delivery.outcome, delivery.body, delivery.raw_body) == (
        Outcome.OTHER_COMMAND,
        None,
        None,
    )
    [call] = signal_log.callbacks
    assert call["payload"] == PRIVATE_BODY


def test_private_chats_reach_a_task_worker_without_being_kept(
    post_callback: PostCallback, signal_log: SignalLog
) -> None:
    from officialaccount_webhook.notify import framework

    immediate = f"{framework.framework().__name__}.backends.immediate.ImmediateBackend"
    with override_settings(
        TASKS={"default": {"BACKEND": immediate}},
        OFFICIALACCOUNT_WEBHOOK={**OFFICIALACCOUNT_WEBHOOK, "SIGNAL_MODE": "task"},
    ):
        post_callback(PRIVATE_BODY, callback_query(command=PRIVATE))
    assert CallbackDelivery.objects.get().body is None
    [call] = signal_log.callbacks
    assert call["payload"] == PRIVATE_BODY


def test_kept_bodies_of_other_products_go_after_their_retention(
    post_callback: PostCallback,
) -> None:
    conf = {**OFFICIALACCOUNT_WEBHOOK, "KEEP_OTHER_COMMAND_BODIES": True}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        post_callback(PRIVATE_BODY, callback_query(command=PRIVATE))
        post_callback(PRIVATE_BODY, callback_query(command=PRIVATE))
        old = CallbackDelivery.objects.earliest("pk")
        CallbackDelivery.objects.filter(pk=old.pk).update(
            received_at=timezone.now() - timedelta(days=8)
        )
        call_command("officialaccount_prune", stdout=StringIO())
    assert [d.body for d in CallbackDelivery.objects.order_by("pk")] == [None, PRIVATE_BODY]


# ------------------------------------------------------------------ the spool, too


def spooled(tmp_path: Any, payload: dict[str, Any]) -> None:
    from officialaccount_webhook.webhook import spool

    spool.write(
        tmp_path,
        spool.SpooledCallback(
            sdk_app_id=SIGNED_APP,
            command=AFTER_SEND_MSG,
            payload=payload,
            query_string=f"SdkAppid={SIGNED_APP}&Sign=%5Bredacted%5D",
            remote_addr="203.0.113.7",
            spooled_at=timezone.now().timestamp(),
        ),
    )


def test_a_drained_message_whose_withdrawal_came_first_is_stored_recalled(
    post_callback: PostCallback,
    signal_log: SignalLog,
    tmp_path: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from officialaccount_webhook.webhook import spooling

    spooled(tmp_path, text("4_1_4"))  # the database was away when the message came
    post_callback(withdrawal("4_1_4"), withdraw_query())  # and back when its withdrawal came
    with django_capture_on_commit_callbacks(execute=True):
        assert spooling.drain(tmp_path).stored == 1
    message = OfficialAccountMessage.objects.get()
    assert message.recalled_at is not None
    assert [c["message"].pk for c in signal_log.recalled] == [message.pk]


def test_a_drain_does_not_bring_back_a_pruned_message(tmp_path: Any, signal_log: SignalLog) -> None:
    from officialaccount_webhook.webhook import spooling

    spooled(tmp_path, text("4_1_4"))
    PrunedMessage.objects.create(sdk_app_id=SIGNED_APP, official_account=ACCOUNT, msg_key="4_1_4")
    report = spooling.drain(tmp_path)
    assert (report.stored, report.failed, report.broken) == (1, [], [])  # handled: gone
    assert not OfficialAccountMessage.objects.exists()
    assert signal_log.received == []
    spooled(tmp_path, text("4_1_4"))
    spooling.drain(tmp_path, include_pruned=True)
    assert OfficialAccountMessage.objects.count() == 1


def test_reprocess_applies_a_refused_withdrawal(
    post_callback: PostCallback, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    post_callback(text("3_1_3"))
    body = json.dumps(withdrawal("3_1_3")).encode()
    record = refused_record(body, command=AFTER_MSG_WITHDRAW)
    with django_capture_on_commit_callbacks(execute=True):
        assert "1 withdrawal(s)" in reprocess()
    assert OfficialAccountMessage.objects.get().recalled_at is not None
    assert len(signal_log.recalled) == 1
    assert [r.result for r in record.recalls.all()] == [Result.RECALLED]


def test_reprocess_applies_a_withdrawal_that_missed_its_message(
    post_callback: PostCallback, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    """A withdrawal and its message committing at the same instant: each missed the other."""
    post_callback(text("2_1_2"))
    MessageRecall.objects.create(
        sdk_app_id=SIGNED_APP,
        official_account=ACCOUNT,
        msg_key="2_1_2",
        source=MessageRecall.Source.CALLBACK,
        result=Result.NOT_STORED,
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert "1 message(s) recalled by a withdrawal that came first" in reprocess()
    assert OfficialAccountMessage.objects.get().recalled_at is not None
    assert len(signal_log.recalled) == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert "0 message(s) recalled" in reprocess()
    assert len(signal_log.recalled) == 1


def test_reprocess_of_another_products_callback_keeps_nothing(
    signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    """A refused record named no command (so it was kept); it turns out to be a private chat."""
    record = refused_record(json.dumps(PRIVATE_BODY).encode(), command="")
    with django_capture_on_commit_callbacks(execute=True):
        assert "1 other callback(s)" in reprocess()
    record.refresh_from_db()
    assert (record.body, record.raw_body, record.reprocessed_at is not None) == (None, None, True)
    [call] = signal_log.callbacks
    assert call["payload"] == PRIVATE_BODY
