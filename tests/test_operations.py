"""Repairing what went wrong: gaps, backfill from Tencent's history, replay and pruning."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.signals import message_received
from tests.conftest import TOKEN, SignalLog, sample
from tests.settings import SIGNED_APP
from tests.tencent import ACCOUNT, SECRET_KEY, error_reply

pytestmark = pytest.mark.django_db

HISTORY_PATH = "/v4/official_account_open_http_svc/official_account_msg_get_simple"


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def store(*seqs: int, account: str = ACCOUNT, **fields: Any) -> list[OfficialAccountMessage]:
    when = datetime(2024, 6, 1, tzinfo=UTC)
    return [
        OfficialAccountMessage.objects.create(
            sdk_app_id=SIGNED_APP,
            official_account=account,
            msg_key=f"{seq}_1_{1717200000 + seq}",
            msg_time=when + timedelta(minutes=seq),
            event_time=when,
            msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"message {seq}"}}],
            **fields,
        )
        for seq in seqs
    ]


# ------------------------------------------------------------------ gaps


def test_gaps_lists_the_missing_sequence_numbers() -> None:
    store(1, 2, 5, 9, 10, 11, 13)
    store(3, 4, account="@TOA#_OTHER")  # another account's sequence is its own
    output = run("officialaccount_gaps", "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT)
    assert "Stored 7 message(s), sequence 1 to 13." in output
    assert "Missing 6: 3-4, 6-8, 12" in output


def test_gaps_when_there_are_none_or_nothing_is_stored() -> None:
    assert "No messages" in run("officialaccount_gaps", "--sdkappid", "1", "--account", ACCOUNT)
    store(7, 8, 9)
    assert "No gaps." in run(
        "officialaccount_gaps", "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT
    )


# ------------------------------------------------------------------ backfill


@pytest.fixture
def tencent(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    app = {"SECRET_KEY": SECRET_KEY, "API_BASE_URL": httpserver.url_for("/")}
    conf = {
        # Its token too: tests that use this fixture also post signed callbacks, and an app
        # without a token refuses them all.
        "APPS": {SIGNED_APP: {**app, "CALLBACK_TOKENS": [TOKEN]}},
        "REST_RETRY_BACKOFF": 0,
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        yield httpserver


def history_item(seq: int, **extra: Any) -> dict[str, Any]:
    return {
        "From_Account": "admin",
        "IsPlaceMsg": 0,
        "MsgKey": f"{seq}_1_{1717200000 + seq}",
        "MsgTime": 1717200000 + seq,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"history {seq}"}}],
        "CloudCustomData": "",
    } | extra


def serve_history(
    tencent: HTTPServer, items: list[dict[str, Any]], page: int = 3
) -> list[dict[str, Any]]:
    """Answer official_account_msg_get_simple from ``items`` (newest first), ``page`` at a time."""
    requests: list[dict[str, Any]] = []

    def handler(request: Request) -> Response:
        body = json.loads(request.get_data())
        requests.append(body)
        start = 0
        if body.get("LastMsgKey"):
            start = (
                next(i for i, item in enumerate(items) if item.get("MsgKey") == body["LastMsgKey"])
                + 1
            )
        chunk = items[start : start + page]
        reply = {
            "ActionStatus": "OK",
            "ErrorCode": 0,
            "ErrorInfo": "",
            "Official_Account": body["Official_Account"],
            "IsFinished": int(start + page >= len(items)),
            "LastMsgKey": chunk[-1].get("MsgKey", "") if chunk else "",
            "RspMsgList": chunk,
        }
        return Response(json.dumps(reply), content_type="application/json")

    tencent.expect_request(HISTORY_PATH, method="POST").respond_with_handler(handler)
    return requests


def test_backfill_stores_what_is_missing_once(
    tencent: HTTPServer, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    store(1, 2, 4)
    items = [history_item(seq) for seq in (6, 5, 4, 3, 2, 1)]
    items[1] = {"IsPlaceMsg": 1, "MsgKey": "5_1_1717200005"}  # expired or deleted: a placeholder
    requests = serve_history(tencent, items)
    with django_capture_on_commit_callbacks(execute=True):
        output = run(
            "officialaccount_backfill", "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT
        )
    assert "Read 6 message(s) in 2 page(s): stored 2, already stored 3, placeholders 1," in output
    assert [r.get("LastMsgKey") for r in requests] == [None, "4_1_1717200004"]
    # Recalled messages are not asked for: history would not say they were recalled.
    assert all("WithRecalledMsg" not in r and r["Official_Account"] == ACCOUNT for r in requests)
    backfilled = OfficialAccountMessage.objects.filter(backfilled=True).order_by("msg_key")
    assert [m.msg_key for m in backfilled] == ["3_1_1717200003", "6_1_1717200006"]
    six = backfilled.get(msg_key="6_1_1717200006")
    assert six.msg_body == items[0]["MsgBody"]
    assert six.msg_time == datetime.fromtimestamp(1717200006, tz=UTC)
    assert six.extra == {"From_Account": "admin"}
    assert not CallbackDelivery.objects.exists()  # nothing was delivered
    assert sorted((c["message"].msg_key, c["backfilled"]) for c in signal_log.received) == [
        ("3_1_1717200003", True),
        ("6_1_1717200006", True),
    ]
    # Again: nothing new, no signal.
    with django_capture_on_commit_callbacks(execute=True):
        output = run(
            "officialaccount_backfill", "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT
        )
    assert "stored 0, already stored 5" in output
    assert len(signal_log.received) == 2
    # Only the placeholder is still missing: Tencent has no message for it either.
    gaps = run("officialaccount_gaps", "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT)
    assert "Missing 1: 5" in gaps


def test_backfill_since_stops_at_older_messages(tencent: HTTPServer) -> None:
    items = [history_item(seq) for seq in range(9, 0, -1)]
    requests = serve_history(tencent, items)
    since = datetime.fromtimestamp(1717200006, tz=UTC).isoformat()
    run(
        "officialaccount_backfill",
        "--sdkappid",
        str(SIGNED_APP),
        "--account",
        ACCOUNT,
        "--since",
        since,
    )
    keys = sorted(OfficialAccountMessage.objects.values_list("msg_key", flat=True))
    assert keys == ["6_1_1717200006", "7_1_1717200007", "8_1_1717200008", "9_1_1717200009"]
    assert len(requests) == 2  # it stopped paging once it passed --since


def test_backfill_builds_a_key_from_seq_and_time_and_skips_invalid_items(
    tencent: HTTPServer,
) -> None:
    items = [
        {"IsPlaceMsg": 0, "MsgSeq": 8, "MsgTimeStamp": 1717200008, "MsgBody": []},
        {"IsPlaceMsg": 0, "MsgKey": "7_1_1717200007", "MsgBody": "not a list"},
    ]
    serve_history(tencent, items)
    err = StringIO()
    call_command(
        "officialaccount_backfill",
        "--sdkappid",
        str(SIGNED_APP),
        "--account",
        ACCOUNT,
        stdout=StringIO(),
        stderr=err,
    )
    message = OfficialAccountMessage.objects.get()
    assert (message.msg_key, message.msg_body) == ("8_1_1717200008", [])
    assert message.msg_time == datetime.fromtimestamp(1717200008, tz=UTC)
    assert "MsgBody: must be an array" in err.getvalue()


def test_backfill_errors_are_clear(tencent: HTTPServer) -> None:
    tencent.expect_request(HISTORY_PATH).respond_with_json(
        error_reply(10010, "account does not exist")
    )
    with pytest.raises(CommandError, match="account does not exist"):
        run("officialaccount_backfill", "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT)
    with pytest.raises(CommandError, match="not configured"):
        run("officialaccount_backfill", "--sdkappid", "42", "--account", ACCOUNT)


# ------------------------------------------------------------------ replay


def test_replay_of_failed_messages_goes_past_failing_receivers() -> None:
    failed = store(1, 2, 3, receiver_error="earlier failure", receiver_failed_at=timezone.now())
    store(4)
    seen: list[str] = []

    def flaky(message: OfficialAccountMessage, **kwargs: Any) -> None:
        seen.append(message.msg_key)
        if message.msg_key.startswith("2_"):
            raise RuntimeError("still broken")

    message_received.connect(flaky)
    try:
        with pytest.raises(CommandError, match="1 message"):
            out = StringIO()
            call_command("officialaccount_replay", "--failed", stdout=out)
    finally:
        message_received.disconnect(flaky)
    assert "2 of 3" in out.getvalue()
    assert seen == [m.msg_key for m in failed]
    states = dict(OfficialAccountMessage.objects.values_list("msg_key", "receiver_error"))
    assert states[failed[0].msg_key] == "" and states[failed[2].msg_key] == ""
    assert "RuntimeError: still broken" in states[failed[1].msg_key]


def test_replay_selects_by_time_account_and_key() -> None:
    store(1, 2, 3)
    store(1, account="@TOA#_OTHER")
    seen: list[str] = []

    def receiver(message: OfficialAccountMessage, **kwargs: Any) -> None:
        seen.append(f"{message.official_account} {message.msg_key}")

    message_received.connect(receiver)
    try:
        assert "2 of 2" in run(
            "officialaccount_replay", "--account", ACCOUNT, "--since", "2024-06-01T00:02:00+00:00"
        )
        assert "1 of 1" in run(
            "officialaccount_replay", "--msg-key", "1_1_1717200001", "--account", "@TOA#_OTHER"
        )
        assert "1 of 1" in run(
            "officialaccount_replay", "--until", "2024-06-01T00:02:00+00:00", "--account", ACCOUNT
        )
    finally:
        message_received.disconnect(receiver)
    assert seen == [
        f"{ACCOUNT} 2_1_1717200002",
        f"{ACCOUNT} 3_1_1717200003",
        "@TOA#_OTHER 1_1_1717200001",
        f"{ACCOUNT} 1_1_1717200001",
    ]


# ------------------------------------------------------------------ prune


def test_prune_deletes_old_deliveries_in_batches_and_messages_on_request(
    post_callback: Any,
) -> None:
    for name in ("text", "image", "file"):
        post_callback(sample(name))
    old = timezone.now() - timedelta(days=40)
    CallbackDelivery.objects.update(received_at=old)
    OfficialAccountMessage.objects.filter(msg_key=sample("text")["MsgKey"]).update(received_at=old)
    post_callback(sample("sound"))
    output = run("officialaccount_prune", "--older-than", "30", "--batch-size", "2")
    assert "Deleted 3 delivery record(s)" in output
    assert CallbackDelivery.objects.count() == 1
    assert OfficialAccountMessage.objects.count() == 4
    output = run("officialaccount_prune", "--older-than", "30", "--messages")
    assert "Deleted 1 message(s)" in output
    assert OfficialAccountMessage.objects.count() == 3


def test_prune_uses_the_retention_setting(post_callback: Any) -> None:
    post_callback(sample("text"))
    CallbackDelivery.objects.update(received_at=timezone.now() - timedelta(days=8))
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"DELIVERY_RETENTION_DAYS": 10}):
        assert "Deleted 0" in run("officialaccount_prune")
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"DELIVERY_RETENTION_DAYS": 7}):
        assert "Deleted 1" in run("officialaccount_prune")
    with pytest.raises(CommandError):
        run("officialaccount_prune", "--older-than", "-1")


def test_backfill_stops_when_tencents_paging_goes_in_a_circle(tencent: HTTPServer) -> None:
    def circle(request: Request) -> Response:
        body = json.loads(request.get_data())
        # B after A, and A after B: a loop a naive pager would follow for ever.
        next_key = (
            "2_1_1717200002" if body.get("LastMsgKey") != "2_1_1717200002" else "1_1_1717200001"
        )
        item = history_item(int(next_key[0]))
        reply = {"ErrorCode": 0, "IsFinished": 0, "LastMsgKey": next_key, "RspMsgList": [item]}
        return Response(json.dumps(reply), content_type="application/json")

    tencent.expect_request(HISTORY_PATH).respond_with_handler(circle)
    with pytest.raises(CommandError, match="Stopped before the end of the history"):
        run("officialaccount_backfill", "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT)
    assert len(tencent.log) <= 3
    assert OfficialAccountMessage.objects.count() == 2


def test_backfill_stops_on_an_empty_unfinished_page(tencent: HTTPServer) -> None:
    tencent.expect_request(HISTORY_PATH).respond_with_json(
        {"ErrorCode": 0, "IsFinished": 0, "LastMsgKey": "", "RspMsgList": []}
    )
    with pytest.raises(CommandError, match="Stopped before the end"):
        run("officialaccount_backfill", "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT)


def test_prune_refuses_an_impossible_age() -> None:
    with pytest.raises(CommandError, match="before the calendar begins"):
        run("officialaccount_prune", "--older-than", "10000000")


def test_replay_unsignalled_finds_messages_whose_signal_never_went_out() -> None:
    old = timezone.now() - timedelta(minutes=5)
    [lost] = store(1, received_at=old)  # stored, but the process died before signalling
    store(2, received_at=old, signalled_at=old)
    store(3)  # just arrived: its own request may still be signalling
    seen: list[str] = []

    def receiver(message: OfficialAccountMessage, **kwargs: Any) -> None:
        seen.append(message.msg_key)

    message_received.connect(receiver)
    try:
        assert "1 of 1" in run("officialaccount_replay", "--unsignalled")
        assert "0 of 0" in run("officialaccount_replay", "--unsignalled")
    finally:
        message_received.disconnect(receiver)
    assert seen == [lost.msg_key]
