"""Recall: the service, the command, the admin action and the REST API, against a local server
that plays Tencent's REST API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from officialaccount_webhook.messages.recall import RecallError, recall_messages
from officialaccount_webhook.models import OfficialAccountMessage, derived_columns
from officialaccount_webhook.webhook.wire import AFTER_MSG_WITHDRAW
from tests.conftest import SignalLog, callback_query, sample
from tests.settings import SIGNED_APP
from tests.tencent import (
    ACCOUNT,
    RECALL_PATH,
    SECRET_KEY,
    Stall,
    calling_app,
    error_reply,
    recall_body,
    recall_reply,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def tencent(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """Point the signed test app at the local server that plays Tencent."""
    conf = {
        "APPS": {
            SIGNED_APP: calling_app(httpserver.url_for("/")),
            1400000002: {},  # configured for callbacks, but it cannot call Tencent
        },
        "REST_RETRY_BACKOFF": 0,
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        yield httpserver


def store(*msg_keys: str, account: str = ACCOUNT) -> list[OfficialAccountMessage]:
    when = datetime(2024, 6, 1, tzinfo=UTC)
    return [
        OfficialAccountMessage.objects.create(
            sdk_app_id=SIGNED_APP,
            official_account=account,
            msg_key=key,
            msg_time=when + timedelta(minutes=index),
            msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"message {key}"}}],
            event_time=when,
        )
        for index, key in enumerate(msg_keys)
    ]


def answer(ret_codes: dict[str, int]) -> Any:
    return lambda request: Response(
        json.dumps(recall_reply(ret_codes)), content_type="application/json"
    )


def recall_all_ok(request: Request) -> Response:
    body = recall_body(request)
    return Response(
        json.dumps(recall_reply(dict.fromkeys(body["MsgKeyList"], 0))),
        content_type="application/json",
    )


# ------------------------------------------------------------------ the service


def test_full_success(
    tencent: HTTPServer, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    first, second = store("71_1_1", "72_1_1")
    tencent.expect_request(RECALL_PATH, method="POST").respond_with_handler(recall_all_ok)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = recall_messages([first, second], reason="wrong price", requested_by="ops")
    assert [(o.msg_key, o.status, o.ret_code) for o in outcomes] == [
        ("71_1_1", "recalled", 0),
        ("72_1_1", "recalled", 0),
    ]
    for message in (first, second):
        message.refresh_from_db()
        assert message.recalled_at is not None
        assert (message.recall_ret_code, message.recall_reason, message.recall_requested_by) == (
            0,
            "wrong price",
            "ops",
        )
    assert sorted(call["message"].msg_key for call in signal_log.recalled) == ["71_1_1", "72_1_1"]
    [request] = [entry[0] for entry in tencent.log]
    assert recall_body(request) == {
        "Official_Account": ACCOUNT,
        "MsgKeyList": ["71_1_1", "72_1_1"],
        "Reason": "wrong price",
    }


def test_tencents_withdraw_callback_afterwards_sends_no_second_signal(
    tencent: HTTPServer,
    signal_log: SignalLog,
    post_callback: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    [message] = store("71_1_1698741698")
    tencent.expect_request(RECALL_PATH).respond_with_handler(recall_all_ok)
    with django_capture_on_commit_callbacks(execute=True):
        recall_messages([message])
    response = post_callback(sample("withdraw"), callback_query(command=AFTER_MSG_WITHDRAW))
    assert response.status_code == 200
    assert len(signal_log.recalled) == 1


def test_partial_failure(tencent: HTTPServer, signal_log: SignalLog) -> None:
    store("71_1_1", "72_1_1")
    tencent.expect_request(RECALL_PATH).respond_with_handler(answer({"71_1_1": 10030, "72_1_1": 0}))
    outcomes = recall_messages(OfficialAccountMessage.objects.order_by("msg_key"))
    assert [(o.msg_key, o.status, o.ret_code, o.ok) for o in outcomes] == [
        ("71_1_1", "failed", 10030, False),
        ("72_1_1", "recalled", 0, True),
    ]
    failed = OfficialAccountMessage.objects.get(msg_key="71_1_1")
    assert (failed.recalled_at, failed.recall_ret_code) == (None, 10030)
    assert OfficialAccountMessage.objects.get(msg_key="72_1_1").recalled_at is not None


def test_key_missing_from_the_reply_is_a_failure(tencent: HTTPServer) -> None:
    store("71_1_1", "72_1_1")
    tencent.expect_request(RECALL_PATH).respond_with_handler(answer({"72_1_1": 0}))
    outcomes = recall_messages(OfficialAccountMessage.objects.order_by("msg_key"))
    assert (outcomes[0].status, outcomes[0].detail) == (
        "failed",
        "Tencent's reply has no RetCode for this key",
    )


@pytest.mark.parametrize(
    "first_answer",
    [
        pytest.param(
            lambda r: r.respond_with_json(error_reply(60007, "too many")), id="rate-limit"
        ),
        pytest.param(lambda r: r.respond_with_data("bad gateway", status=502), id="5xx"),
        pytest.param(
            lambda r: r.respond_with_json(error_reply(70001, "UserSig expired")),
            id="expired-usersig",
        ),
    ],
)
def test_a_passing_failure_then_success(tencent: HTTPServer, first_answer: Any) -> None:
    store("71_1_1")
    first_answer(tencent.expect_ordered_request(RECALL_PATH))
    tencent.expect_ordered_request(RECALL_PATH).respond_with_json(recall_reply({"71_1_1": 0}))
    [outcome] = recall_messages(OfficialAccountMessage.objects.all())
    assert outcome.status == "recalled"
    assert len(tencent.log) == 2
    assert OfficialAccountMessage.objects.get().recalled_at is not None


def test_timeout_leaves_the_outcome_unknown_and_records_no_answer(tencent: HTTPServer) -> None:
    store("71_1_1")
    stall = Stall(0.6)

    def slow(request: Request) -> Response:
        stall()
        return Response(json.dumps(recall_reply({"71_1_1": 0})), content_type="application/json")

    tencent.expect_request(RECALL_PATH).respond_with_handler(slow)
    conf = {
        "APPS": {SIGNED_APP: {"SECRET_KEY": SECRET_KEY, "API_BASE_URL": tencent.url_for("/")}},
        "REST_READ_TIMEOUT": 0.2,
        "REST_MAX_RETRIES": 0,
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        [outcome] = recall_messages(OfficialAccountMessage.objects.all())
    assert stall.done.wait(5)
    # The request reached Tencent, which may have recalled the message before the answer was
    # cut off: Tencent's recall callback, or a check of its history, will tell.
    assert (outcome.status, outcome.ret_code, outcome.ok) == ("unknown", None, False)
    assert "timed out" in outcome.detail
    message = OfficialAccountMessage.objects.get()
    assert (message.recalled_at, message.recall_ret_code) == (None, None)
    assert message.recall_unknown_at is not None


def test_retry_after_a_timeout_cannot_prove_a_failure(tencent: HTTPServer) -> None:
    store("71_1_1")
    calls: list[int] = []
    stall = Stall(0.6)

    def recalled_then_gone(request: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:  # Tencent recalls it, but the answer comes too late
            stall()
            return Response(
                json.dumps(recall_reply({"71_1_1": 0})), content_type="application/json"
            )
        return Response(
            json.dumps(recall_reply({"71_1_1": 10030})), content_type="application/json"
        )

    tencent.expect_request(RECALL_PATH).respond_with_handler(recalled_then_gone)
    conf = {
        "APPS": {SIGNED_APP: {"SECRET_KEY": SECRET_KEY, "API_BASE_URL": tencent.url_for("/")}},
        "REST_READ_TIMEOUT": 0.2,
        "REST_MAX_RETRIES": 5,
        "REST_RETRY_BACKOFF": 0,
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        [outcome] = recall_messages(OfficialAccountMessage.objects.all())
    assert stall.done.wait(5)
    assert (outcome.status, outcome.ret_code) == ("unknown", 10030)
    assert "may have recalled it" in outcome.detail
    assert OfficialAccountMessage.objects.get().recall_ret_code is None


def test_out_of_range_codes_are_no_codes(tencent: HTTPServer) -> None:
    store("71_1_1")
    tencent.expect_request(RECALL_PATH).respond_with_json(
        {"ErrorCode": 0, "RecallRetList": [{"MsgKey": "71_1_1", "RetCode": 2**40}]}
    )
    [outcome] = recall_messages(OfficialAccountMessage.objects.all())
    assert (outcome.status, outcome.ret_code) == ("failed", None)
    assert OfficialAccountMessage.objects.get().recall_ret_code is None


@pytest.mark.django_db(transaction=True)  # the fake Tencent writes from its own thread
def test_a_failure_does_not_overwrite_a_recall_that_happened_meanwhile(tencent: HTTPServer) -> None:
    [message] = store("71_1_1")
    recalled_at = datetime(2024, 6, 2, tzinfo=UTC)

    def recalled_elsewhere_meanwhile(request: Request) -> Response:
        OfficialAccountMessage.objects.filter(pk=message.pk).update(recalled_at=recalled_at)
        connection.close()  # this thread's own connection, or teardown finds it still open
        return Response(
            json.dumps(recall_reply({"71_1_1": 10030})), content_type="application/json"
        )

    tencent.expect_request(RECALL_PATH).respond_with_handler(recalled_elsewhere_meanwhile)
    [outcome] = recall_messages([message], reason="mine")
    assert outcome.status == "failed"
    message.refresh_from_db()
    assert (message.recalled_at, message.recall_ret_code, message.recall_reason) == (
        recalled_at,
        None,
        "",
    )


def test_more_than_ten_keys_take_several_calls(
    tencent: HTTPServer, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    keys = [f"{seq}_1_1717000000" for seq in range(23)]
    store(*keys)
    tencent.expect_request(RECALL_PATH).respond_with_handler(recall_all_ok)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = recall_messages(OfficialAccountMessage.objects.order_by("msg_time"))
    assert [o.status for o in outcomes] == ["recalled"] * 23
    sent = [recall_body(entry[0])["MsgKeyList"] for entry in tencent.log]
    assert [len(batch) for batch in sent] == [10, 10, 3]
    assert [key for batch in sent for key in batch] == keys
    assert len(signal_log.recalled) == 23


def test_accounts_are_recalled_separately(tencent: HTTPServer) -> None:
    store("1_1_1", "2_1_1")
    store("1_1_1", account="@TOA#_OTHER")
    tencent.expect_request(RECALL_PATH).respond_with_handler(recall_all_ok)
    outcomes = recall_messages(OfficialAccountMessage.objects.order_by("id"))
    assert all(o.status == "recalled" for o in outcomes)
    calls = sorted(
        (recall_body(e[0])["Official_Account"], tuple(recall_body(e[0])["MsgKeyList"]))
        for e in tencent.log
    )
    assert calls == [("@TOA#_2J4SZEAEL", ("1_1_1", "2_1_1")), ("@TOA#_OTHER", ("1_1_1",))]


def test_a_failed_call_fails_only_its_batch(tencent: HTTPServer) -> None:
    store("1_1_1")
    store("1_1_1", account="@TOA#_GONE")

    def handler(request: Request) -> Response:
        if recall_body(request)["Official_Account"] == "@TOA#_GONE":
            return Response(
                json.dumps(error_reply(10010, "official account does not exist")),
                content_type="application/json",
            )
        return recall_all_ok(request)

    tencent.expect_request(RECALL_PATH).respond_with_handler(handler)
    outcomes = recall_messages(OfficialAccountMessage.objects.order_by("id"))
    assert [(o.official_account, o.status, o.ret_code) for o in outcomes] == [
        (ACCOUNT, "recalled", 0),
        ("@TOA#_GONE", "failed", 10010),
    ]
    assert "official account does not exist" in outcomes[1].detail


@pytest.mark.parametrize("reason", ["x" * 101, "红" * 34])
def test_over_long_reason_is_refused_before_any_call(tencent: HTTPServer, reason: str) -> None:
    store("71_1_1")
    with pytest.raises(RecallError, match="at most 100"):
        recall_messages(OfficialAccountMessage.objects.all(), reason=reason)
    assert tencent.log == []


def test_reason_of_exactly_100_bytes_is_sent(tencent: HTTPServer) -> None:
    store("71_1_1")
    tencent.expect_request(RECALL_PATH).respond_with_handler(recall_all_ok)
    reason = "红" * 33 + "x"
    recall_messages(OfficialAccountMessage.objects.all(), reason=reason)
    assert recall_body(tencent.log[0][0])["Reason"] == reason


def test_already_recalled_is_a_no_op(tencent: HTTPServer, signal_log: SignalLog) -> None:
    [message] = store("71_1_1")
    OfficialAccountMessage.objects.update(recalled_at=datetime(2024, 6, 2, tzinfo=UTC))
    [outcome] = recall_messages([message])
    assert (outcome.status, outcome.ok) == ("already_recalled", True)
    assert tencent.log == []
    assert signal_log.recalled == []


def test_triples_of_messages_not_stored_are_still_recalled(tencent: HTTPServer) -> None:
    tencent.expect_request(RECALL_PATH).respond_with_handler(recall_all_ok)
    [outcome] = recall_messages([(SIGNED_APP, ACCOUNT, "99_1_1")])
    assert outcome.status == "recalled"
    assert not OfficialAccountMessage.objects.exists()


@pytest.mark.parametrize(
    ("sdk_app_id", "message"), [(1400000002, "SECRET_KEY"), (42, "not configured")]
)
def test_app_that_cannot_call_tencent_is_refused_before_any_call(
    tencent: HTTPServer, sdk_app_id: int, message: str
) -> None:
    with pytest.raises(RecallError, match=message):
        recall_messages([(SIGNED_APP, ACCOUNT, "1_1_1"), (sdk_app_id, ACCOUNT, "1_1_1")])
    assert tencent.log == []


# ------------------------------------------------------------------ the command


def run_recall(*args: str) -> str:
    out = StringIO()
    call_command("officialaccount_recall", *args, stdout=out)
    return out.getvalue()


def test_command_prints_each_result(tencent: HTTPServer) -> None:
    store("71_1_1", "72_1_1")
    tencent.expect_request(RECALL_PATH).respond_with_handler(recall_all_ok)
    output = run_recall(
        "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT, "--reason", "typo", "71_1_1", "72_1_1"
    )
    assert "71_1_1: recalled (RetCode 0)" in output
    assert "72_1_1: recalled (RetCode 0)" in output
    assert OfficialAccountMessage.objects.get(msg_key="71_1_1").recall_requested_by == "command"


def test_command_fails_if_any_key_failed(tencent: HTTPServer) -> None:
    tencent.expect_request(RECALL_PATH).respond_with_handler(answer({"71_1_1": 0, "72_1_1": 10030}))
    out = StringIO()
    with pytest.raises(CommandError, match="1 of 2 keys were not recalled"):
        call_command(
            "officialaccount_recall",
            "--sdkappid",
            str(SIGNED_APP),
            "--account",
            ACCOUNT,
            "71_1_1",
            "72_1_1",
            stdout=out,
        )
    assert "72_1_1: failed (RetCode 10030)" in out.getvalue()


def test_command_refuses_an_over_long_reason(tencent: HTTPServer) -> None:
    with pytest.raises(CommandError, match="at most 100"):
        run_recall(
            "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT, "--reason", "x" * 101, "71_1_1"
        )
    assert tencent.log == []


# ------------------------------------------------------------------ the admin action


def staff(*permissions: str) -> User:
    user = User.objects.create_user("operator", password="pw", is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


CHANGELIST = "admin:officialaccount_webhook_officialaccountmessage_changelist"


def test_action_needs_the_recall_permission(tencent: HTTPServer, client: Client) -> None:
    [message] = store("71_1_1")
    client.force_login(staff("view_officialaccountmessage"))
    page = client.get(reverse(CHANGELIST))
    assert page.status_code == 200
    assert "recall_selected" not in page.text
    response = client.post(
        reverse(CHANGELIST), {"action": "recall_selected", "_selected_action": [message.pk]}
    )
    assert "recall-confirmation" not in response.content.decode()
    confirmed = client.post(
        reverse(CHANGELIST),
        {"action": "recall_selected", "_selected_action": [message.pk], "confirm": "yes"},
    )
    assert "recall-result" not in confirmed.content.decode()
    assert tencent.log == []
    assert OfficialAccountMessage.objects.get().recalled_at is None


def test_action_refuses_a_huge_selection(tencent: HTTPServer, client: Client) -> None:
    messages = store(*[f"{seq}_1_1" for seq in range(101)])
    client.force_login(staff("view_officialaccountmessage", "recall_officialaccountmessage"))
    response = client.post(
        reverse(CHANGELIST),
        {
            "action": "recall_selected",
            "_selected_action": [m.pk for m in messages],
            "confirm": "yes",
        },
        follow=True,
    )
    assert "101 messages are selected; recall at most 100" in response.text
    assert tencent.log == []


def test_action_confirms_then_recalls_and_shows_each_outcome(
    tencent: HTTPServer, client: Client
) -> None:
    messages = store("71_1_1", "72_1_1")
    client.force_login(staff("view_officialaccountmessage", "recall_officialaccountmessage"))
    assert "recall_selected" in client.get(reverse(CHANGELIST)).text
    selected = {"action": "recall_selected", "_selected_action": [m.pk for m in messages]}
    confirmation = client.post(reverse(CHANGELIST), selected)
    assert confirmation.status_code == 200
    assert "recall-confirmation" in confirmation.text
    assert "71_1_1" in confirmation.text and "72_1_1" in confirmation.text
    assert tencent.log == []
    tencent.expect_request(RECALL_PATH).respond_with_handler(answer({"71_1_1": 0, "72_1_1": 10030}))
    result = client.post(reverse(CHANGELIST), selected | {"confirm": "yes", "reason": "typo"})
    assert result.status_code == 200
    assert 'class="recall-recalled"' in result.text
    assert 'class="recall-failed"' in result.text
    assert "10030" in result.text
    recalled = OfficialAccountMessage.objects.get(msg_key="71_1_1")
    assert (recalled.recall_reason, recalled.recall_requested_by) == ("typo", "admin:operator")
    assert recalled.recalled_at is not None


def test_action_refuses_an_over_long_reason_on_the_confirmation_page(
    tencent: HTTPServer, client: Client
) -> None:
    [message] = store("71_1_1")
    client.force_login(staff("view_officialaccountmessage", "recall_officialaccountmessage"))
    response = client.post(
        reverse(CHANGELIST),
        {
            "action": "recall_selected",
            "_selected_action": [message.pk],
            "confirm": "yes",
            "reason": "红" * 40,
        },
    )
    assert "recall-confirmation" in response.text
    assert "at most 100" in response.text
    assert tencent.log == []


# ------------------------------------------------------------------ the REST API


MESSAGES = "/api/officialaccount/messages/"
RECALL = "/api/officialaccount/recall/"


def api_client(*permissions: str, name: str = "service") -> Client:
    user = User.objects.create_user(name, password="pw")
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def test_api_refuses_anonymous_callers(tencent: HTTPServer) -> None:
    store("71_1_1")
    anonymous = Client()
    assert anonymous.get(MESSAGES).status_code in (401, 403)
    assert anonymous.post(RECALL, {}, content_type="application/json").status_code in (401, 403)


def test_api_reading_needs_the_view_permission(tencent: HTTPServer) -> None:
    store("71_1_1")
    assert api_client().get(MESSAGES).status_code == 403
    reader = api_client("view_officialaccountmessage", name="reader")
    assert reader.get(MESSAGES).status_code == 200


def test_api_lists_and_filters(tencent: HTTPServer) -> None:
    store("71_1_1", "72_1_1", "73_1_1")
    store("71_1_1", account="@TOA#_OTHER")
    body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "红包雨 sale"}}]
    OfficialAccountMessage.objects.filter(msg_key="72_1_1").update(
        msg_body=body, **derived_columns(body)
    )
    client = api_client("view_officialaccountmessage")

    def keys(**params: str) -> list[tuple[str, str]]:
        response = client.get(MESSAGES, params)
        assert response.status_code == 200, response.content
        return [(row["official_account"], row["msg_key"]) for row in response.json()["results"]]

    assert keys() == [
        (ACCOUNT, "73_1_1"),
        (ACCOUNT, "72_1_1"),
        ("@TOA#_OTHER", "71_1_1"),
        (ACCOUNT, "71_1_1"),
    ]
    assert keys(official_account="@TOA#_OTHER") == [("@TOA#_OTHER", "71_1_1")]
    assert keys(msg_key="72_1_1") == [(ACCOUNT, "72_1_1")]
    assert keys(sdk_app_id=str(SIGNED_APP), official_account=ACCOUNT, msg_key="71_1_1") == [
        (ACCOUNT, "71_1_1")
    ]
    assert keys(sdk_app_id="999") == []
    assert keys(since="2024-06-01T00:01:00Z", until="2024-06-01T00:02:00Z") == [(ACCOUNT, "72_1_1")]
    assert keys(text="红包雨") == [(ACCOUNT, "72_1_1")]
    assert keys(text="SALE") == [(ACCOUNT, "72_1_1")]
    # Too short for the trigram index: every row would be read (elements.MIN_RUN).
    for short in ("红包", "ab", "a.b"):
        refused = client.get(MESSAGES, {"text": short})
        assert (refused.status_code, list(refused.json())) == (400, ["text"])
    assert client.get(MESSAGES, {"since": "yesterday"}).status_code == 400
    assert client.get(MESSAGES, {"sdk_app_id": "abc"}).status_code == 400
    # At the calendar's edge, in UTC past year 9999: refused with the parameter named, no 500.
    edge = client.get(MESSAGES, {"since": "9999-12-31T23:59:59-23:59"})
    assert (edge.status_code, list(edge.json())) == (400, ["since"])
    assert client.get(MESSAGES, {"until": "2024-02-30T00:00:00Z"}).status_code == 400
    for name in ("text", "official_account", "msg_key"):
        response = client.get(MESSAGES, {name: "a\x00b"})
        assert response.status_code == 400
        assert name in response.json()


def test_api_retrieves_one_message(tencent: HTTPServer) -> None:
    [message] = store("71_1_1")
    client = api_client("view_officialaccountmessage")
    response = client.get(f"{MESSAGES}{message.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["msg_key"], body["official_account"], body["sdk_app_id"]) == (
        "71_1_1",
        ACCOUNT,
        SIGNED_APP,
    )
    assert body["msg_body"] == message.msg_body
    assert client.get(f"{MESSAGES}{message.pk + 1000}/").status_code == 404


def test_api_recall_needs_the_recall_permission(tencent: HTTPServer) -> None:
    store("71_1_1")
    payload = {"sdk_app_id": SIGNED_APP, "official_account": ACCOUNT, "msg_keys": ["71_1_1"]}
    response = api_client("view_officialaccountmessage").post(
        RECALL, payload, content_type="application/json"
    )
    assert response.status_code == 403
    assert tencent.log == []


def test_api_recall_answers_each_key(tencent: HTTPServer) -> None:
    store("71_1_1", "72_1_1")
    tencent.expect_request(RECALL_PATH).respond_with_handler(answer({"71_1_1": 0, "72_1_1": 10030}))
    client = api_client("recall_officialaccountmessage")
    payload = {
        "sdk_app_id": SIGNED_APP,
        "official_account": ACCOUNT,
        "msg_keys": ["71_1_1", "72_1_1"],
        "reason": "wrong",
    }
    response = client.post(RECALL, payload, content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {
        "results": [
            {
                "official_account": ACCOUNT,
                "msg_key": "71_1_1",
                "status": "recalled",
                "ret_code": 0,
                "detail": "",
            },
            {
                "official_account": ACCOUNT,
                "msg_key": "72_1_1",
                "status": "failed",
                "ret_code": 10030,
                "detail": "RetCode 10030",
            },
        ]
    }
    assert OfficialAccountMessage.objects.get(msg_key="71_1_1").recall_requested_by == "api:service"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"official_account": ACCOUNT, "msg_keys": ["k"]}, "sdk_app_id"),
        ({"sdk_app_id": SIGNED_APP, "official_account": ACCOUNT, "msg_keys": []}, "msg_keys"),
        (
            {"sdk_app_id": SIGNED_APP, "official_account": ACCOUNT, "msg_keys": ["a\x00"]},
            "msg_keys",
        ),
        (
            {"sdk_app_id": SIGNED_APP, "official_account": "@\x00", "msg_keys": ["k"]},
            "official_account",
        ),
        (
            {
                "sdk_app_id": SIGNED_APP,
                "official_account": ACCOUNT,
                "msg_keys": ["k"],
                "reason": "红" * 34,
            },
            "reason",
        ),
    ],
)
def test_api_recall_validates(tencent: HTTPServer, payload: dict[str, Any], field: str) -> None:
    response = api_client("recall_officialaccountmessage").post(
        RECALL, payload, content_type="application/json"
    )
    assert response.status_code == 400
    assert field in response.json()
    assert tencent.log == []


def test_api_recall_for_an_app_that_cannot_call_tencent(tencent: HTTPServer) -> None:
    payload = {"sdk_app_id": 1400000002, "official_account": ACCOUNT, "msg_keys": ["k"]}
    response = api_client("recall_officialaccountmessage").post(
        RECALL, payload, content_type="application/json"
    )
    assert response.status_code == 400
    assert "SECRET_KEY" in response.json()["detail"]


def test_openapi_schema_is_served() -> None:
    # To those who may read the API (tests/test_api_hardening.py: no one else).
    response = api_client("view_officialaccountmessage").get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert {
        "/api/officialaccount/messages/",
        "/api/officialaccount/messages/{id}/",
        "/api/officialaccount/recall/",
        "/api/officialaccount/recall/check/",
    } <= set(paths)
    assert not any(path.startswith("/webhooks/") for path in paths)
