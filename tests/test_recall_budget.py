"""A recall keeps to RECALL_TIME_BUDGET however slowly Tencent answers, and an outcome it cannot
know is recorded as unknown and can be checked again, against a local server that plays
Tencent (tests/tencent.py).

The budgets here are a few tenths of a second against a server that answers later: a
functional bound, not a measurement. Where a test must say exactly when something happens,
the clock is injected.
"""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django.urls import reverse
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from officialaccount_webhook.conf import RestSettings, TencentApp
from officialaccount_webhook.messages.recall import recall_messages
from officialaccount_webhook.messages.recall_check import check_recalls
from officialaccount_webhook.models import MessageRecall, OfficialAccountMessage
from officialaccount_webhook.tencent import TencentChatClient, TencentTransportError
from officialaccount_webhook.tencent.budget import TimeBudget
from tests.clock import Clock
from tests.conftest import SignalLog
from tests.settings import SIGNED_APP
from tests.tencent import (
    ACCOUNT,
    RECALL_PATH,
    SECRET_KEY,
    RawServer,
    Stall,
    error_reply,
    read_request,
    recall_body,
    recall_reply,
)

pytestmark = pytest.mark.django_db

HISTORY_PATH = "/v4/official_account_open_http_svc/official_account_msg_get_simple"
RECALL_API = "/api/officialaccount/recall/"
CHECK_API = "/api/officialaccount/recall/check/"
CHANGELIST = "admin:officialaccount_webhook_officialaccountmessage_changelist"


def conf(server_url: str, **rest: Any) -> dict[str, Any]:
    return {
        "APPS": {SIGNED_APP: {"SECRET_KEY": SECRET_KEY, "API_BASE_URL": server_url}},
        "REST_RETRY_BACKOFF": 0,
        **rest,
    }


@pytest.fixture
def tencent(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf(httpserver.url_for("/"))):
        yield httpserver


@pytest.fixture
def slow_tencent(httpserver: HTTPServer) -> Iterator[Stall]:
    """Tencent answers every recall with RetCode 0, but only after 0.8 s; the budget is 0.3 s,
    and each attempt's own timeout (5 s) far longer: only the budget can cut it short."""
    stall = Stall(0.8)

    def slow(request: Request) -> Response:
        stall()
        keys = recall_body(request)["MsgKeyList"]
        return Response(json.dumps(recall_reply(dict.fromkeys(keys, 0))), status=200)

    httpserver.expect_request(RECALL_PATH).respond_with_handler(slow)
    budget = conf(
        httpserver.url_for("/"),
        REST_READ_TIMEOUT=5,
        REST_MAX_RETRIES=3,
        RECALL_TIME_BUDGET=0.3,
    )
    with override_settings(OFFICIALACCOUNT_WEBHOOK=budget):
        yield stall
    # The server answers one request at a time: let it finish before the next test's.
    assert stall.done.wait(5)


def store(*msg_keys: str, **fields: Any) -> list[OfficialAccountMessage]:
    when = datetime(2024, 6, 1, tzinfo=UTC)
    return [
        OfficialAccountMessage.objects.create(
            sdk_app_id=SIGNED_APP,
            official_account=ACCOUNT,
            msg_key=key,
            msg_time=when + timedelta(minutes=index),
            msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": key}}],
            event_time=when,
            **fields,
        )
        for index, key in enumerate(msg_keys)
    ]


def user_with(*codenames: str, staff: bool = False) -> User:
    user = User.objects.create_user("operator", password="pw", is_staff=staff)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def logged_in(*codenames: str, staff: bool = False) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user_with(*codenames, staff=staff))
    return client


# ------------------------------------------------------------------ the budget, end to end


def test_api_recall_of_a_slow_tencent_answers_unknown_in_json(
    httpserver: HTTPServer, slow_tencent: Stall
) -> None:
    [message] = store("71_1_1")
    client = logged_in("recall_officialaccountmessage")
    payload = {"sdk_app_id": SIGNED_APP, "official_account": ACCOUNT, "msg_keys": ["71_1_1"]}
    response = client.post(RECALL_API, payload, content_type="application/json")
    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    assert (result["msg_key"], result["status"], result["ret_code"]) == ("71_1_1", "unknown", None)
    assert "timed out" in result["detail"] and "--check" in result["detail"]
    # One attempt: a retry could not have got an answer in what was left of the budget.
    assert len(httpserver.log) <= 1
    message.refresh_from_db()
    assert message.recall_unknown_at is not None
    assert (message.recalled_at, message.recall_ret_code) == (None, None)
    row = MessageRecall.objects.get()
    assert (row.result, row.source, row.message_id) == (
        MessageRecall.Result.UNKNOWN,
        MessageRecall.Source.API,
        message.pk,
    )
    # The message says so in the API too.
    User.objects.get().user_permissions.add(
        Permission.objects.get(codename="view_officialaccountmessage")
    )
    shown = client.get(f"/api/officialaccount/messages/{message.pk}/")
    assert shown.json()["recall_unknown_at"] is not None


def test_admin_recall_of_a_slow_tencent_says_unknown_not_500(slow_tencent: Stall) -> None:
    messages = store("71_1_1", "72_1_1")
    client = logged_in("view_officialaccountmessage", "recall_officialaccountmessage", staff=True)
    response = client.post(
        reverse(CHANGELIST),
        {
            "action": "recall_selected",
            "_selected_action": [m.pk for m in messages],
            "confirm": "yes",
        },
    )
    assert response.status_code == 200
    assert 'class="recall-unknown"' in response.text
    assert "Unknown: 2." in response.text
    assert "did not answer in time for 2 message(s)" in response.text
    assert "Check recall again" in response.text
    assert OfficialAccountMessage.objects.filter(recall_unknown_at__isnull=False).count() == 2


def test_a_batch_the_budget_leaves_no_time_for_is_not_sent(
    httpserver: HTTPServer, slow_tencent: Stall
) -> None:
    keys = [f"{seq}_1_1" for seq in range(11)]  # two calls: 10 keys, then 1
    store(*keys)
    outcomes = recall_messages(OfficialAccountMessage.objects.order_by("msg_time"))
    assert [o.status for o in outcomes] == ["unknown"] * 10 + ["failed"]
    assert "not sent" in outcomes[10].detail
    assert slow_tencent.done.wait(5)
    assert [len(recall_body(entry[0])["MsgKeyList"]) for entry in httpserver.log] == [10]
    # Nothing was sent for the last one: its outcome is known, and it is not marked unknown.
    last = OfficialAccountMessage.objects.get(msg_key="10_1_1")
    assert last.recall_unknown_at is None


def test_the_command_is_not_bounded_by_the_budget(httpserver: HTTPServer) -> None:
    stall = Stall(0.5)

    def slow(request: Request) -> Response:
        stall()
        return Response(json.dumps(recall_reply({"71_1_1": 0})), status=200)

    httpserver.expect_request(RECALL_PATH).respond_with_handler(slow)
    store("71_1_1")
    settings = conf(httpserver.url_for("/"), REST_READ_TIMEOUT=5, RECALL_TIME_BUDGET=0.1)
    with override_settings(OFFICIALACCOUNT_WEBHOOK=settings):
        out = StringIO()
        call_command(
            "officialaccount_recall", "--sdkappid", str(SIGNED_APP), "--account", ACCOUNT,
            "71_1_1", stdout=out,
        )  # fmt: skip
    assert "71_1_1: recalled" in out.getvalue()
    assert stall.done.wait(5)


# ------------------------------------------------------------------ no attempt past the budget


def test_no_retry_starts_that_could_not_finish_in_the_budget(httpserver: HTTPServer) -> None:
    """Tencent asks, each time, to come back in 4 s; a 10 s budget has room for three attempts
    (at 0, 4 and 8 s) but not for a fourth at 12 s, although REST_MAX_RETRIES allows five."""
    httpserver.expect_request(RECALL_PATH).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "4"}
    )
    clock = Clock()
    app = TencentApp(
        sdk_app_id=SIGNED_APP, secret_key=SECRET_KEY, api_base_url=httpserver.url_for("/")
    )
    rest = RestSettings(rate_limit=1000, read_timeout=5, max_retries=5, retry_backoff=0)
    with (
        TencentChatClient(app, rest, monotonic=clock, sleep=clock.sleep) as client,
        pytest.raises(TencentTransportError, match="HTTP 429"),
    ):
        client.recall_official_account_messages(ACCOUNT, ["k"], budget=TimeBudget(10, clock=clock))
    assert len(httpserver.log) == 3
    assert clock.sleeps == [4, 4]


def test_a_spent_budget_sends_nothing(httpserver: HTTPServer) -> None:
    clock = Clock()
    app = TencentApp(
        sdk_app_id=SIGNED_APP, secret_key=SECRET_KEY, api_base_url=httpserver.url_for("/")
    )
    budget = TimeBudget(10, clock=clock)
    clock.now = 9.5  # less than the second an attempt needs
    with (
        TencentChatClient(app, RestSettings(), monotonic=clock) as client,
        pytest.raises(TencentTransportError, match="not sent") as caught,
    ):
        client.recall_official_account_messages(ACCOUNT, ["k"], budget=budget)
    assert httpserver.log == []
    assert (caught.value.sent, caught.value.maybe_carried_out) == (False, False)


def test_a_timeout_stays_uncertain_whatever_the_retry_answers() -> None:
    """The first attempt is dropped after it was sent; the retry is refused with an HTTP 400,
    which alone would be a certain failure. The call as a whole may still have been carried
    out, so the recall's outcome is unknown."""
    attempts: list[int] = []

    def first_dropped(conn: socket.socket) -> None:
        if read_request(conn) is None:
            return
        attempts.append(1)
        if len(attempts) > 1:
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        # Either way the connection closes: the first request without any answer.

    with RawServer(first_dropped) as server:
        store("71_1_1")
        settings = conf(server.url(), REST_READ_TIMEOUT=0.2, REST_MAX_RETRIES=1)
        with override_settings(OFFICIALACCOUNT_WEBHOOK=settings):
            [outcome] = recall_messages(OfficialAccountMessage.objects.all())
    assert len(attempts) == 2
    assert (outcome.status, outcome.ret_code) == ("unknown", None)
    assert "HTTP 400" in outcome.detail
    assert OfficialAccountMessage.objects.get().recall_unknown_at is not None


# ------------------------------------------------------------------ a later answer settles it


def test_a_later_recall_answered_with_success_clears_unknown(
    tencent: HTTPServer, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    [message] = store("71_1_1", recall_unknown_at=datetime(2024, 6, 2, tzinfo=UTC))
    tencent.expect_request(RECALL_PATH).respond_with_json(recall_reply({"71_1_1": 0}))
    with django_capture_on_commit_callbacks(execute=True):
        [outcome] = recall_messages([message])
    assert outcome.status == "recalled"
    message.refresh_from_db()
    assert (message.recall_unknown_at, message.recall_ret_code) == (None, 0)
    assert message.recalled_at is not None
    assert len(signal_log.recalled) == 1


def test_a_later_failure_after_an_unknown_recall_settles_nothing(tencent: HTTPServer) -> None:
    """Tencent answers a recall of a recalled message with 10030: after an unknown outcome,
    that answer cannot tell a message recalled the first time from one that is not."""
    since = datetime(2024, 6, 2, tzinfo=UTC)
    [message] = store("71_1_1", recall_unknown_at=since)
    tencent.expect_request(RECALL_PATH).respond_with_json(recall_reply({"71_1_1": 10030}))
    [outcome] = recall_messages([message])
    assert (outcome.status, outcome.ret_code) == ("unknown", 10030)
    message.refresh_from_db()
    assert (message.recall_unknown_at, message.recalled_at) == (since, None)


# ------------------------------------------------------------------ checking again


def history_item(seq: int) -> dict[str, Any]:
    return {
        "MsgKey": f"{seq}_1_1",
        "MsgTime": 1_717_200_000 + seq,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": str(seq)}}],
    }


def history(listed: list[int], recalled: list[int]) -> Any:
    """Tencent's history of the account, newest first, in pages of two: ``listed`` are there,
    ``recalled`` only with WithRecalledMsg 1."""

    def handler(request: Request) -> Response:
        body = json.loads(request.get_data())
        seqs = sorted(listed + (recalled if body.get("WithRecalledMsg") == 1 else []))[::-1]
        if body.get("LastMsgKey"):
            last = int(body["LastMsgKey"].partition("_")[0])
            seqs = [seq for seq in seqs if seq < last]
        page = seqs[:2]
        reply = {
            "ActionStatus": "OK",
            "ErrorCode": 0,
            "ErrorInfo": "",
            "RspMsgList": [history_item(seq) for seq in page],
            "LastMsgKey": f"{page[-1]}_1_1" if page else "",
            "IsFinished": int(len(seqs) <= 2),
        }
        return Response(json.dumps(reply), status=200, content_type="application/json")

    return handler


UNKNOWN_SINCE = datetime(2024, 6, 2, tzinfo=UTC)


def store_unknown() -> list[OfficialAccountMessage]:
    """5: still in Tencent's history; 3: recalled; 1: in neither (expired)."""
    return store("5_1_1", "3_1_1", "1_1_1", recall_unknown_at=UNKNOWN_SINCE)


def assert_checked(outcomes: list[dict[str, Any]]) -> None:
    assert [(o["msg_key"], o["status"]) for o in outcomes] == [
        ("5_1_1", "failed"),
        ("3_1_1", "recalled"),
        ("1_1_1", "unknown"),
    ]
    by_key = {m.msg_key: m for m in OfficialAccountMessage.objects.all()}
    assert (by_key["5_1_1"].recall_unknown_at, by_key["5_1_1"].recalled_at) == (None, None)
    assert by_key["3_1_1"].recall_unknown_at is None
    assert by_key["3_1_1"].recalled_at is not None
    assert (by_key["1_1_1"].recall_unknown_at, by_key["1_1_1"].recalled_at) == (
        UNKNOWN_SINCE,
        None,
    )


def test_check_asks_tencents_history(
    tencent: HTTPServer, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    tencent.expect_request(HISTORY_PATH).respond_with_handler(history([9, 8, 7, 5, 4], [3]))
    store_unknown()
    store("8_1_1")  # no unknown recall: not checked
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = check_recalls(OfficialAccountMessage.objects.order_by("-msg_key"))
    assert_checked([dataclasses.asdict(o) for o in outcomes])
    assert "still in Tencent's history" in outcomes[0].detail
    assert [call["message"].msg_key for call in signal_log.recalled] == ["3_1_1"]
    # A check reads history and never recalls anything.
    assert {entry[0].path for entry in tencent.log} == {HISTORY_PATH}
    assert MessageRecall.objects.filter(result="recalled").count() == 1


def test_check_command(tencent: HTTPServer) -> None:
    tencent.expect_request(HISTORY_PATH).respond_with_handler(history([9, 5], [3]))
    store_unknown()
    out = StringIO()
    with pytest.raises(CommandError, match="2 of 3 keys were not recalled"):
        call_command("officialaccount_recall", "--check", stdout=out)
    assert "5_1_1: failed (still in Tencent's history" in out.getvalue()
    assert "3_1_1: recalled" in out.getvalue()
    assert "1_1_1: unknown (still unknown" in out.getvalue()
    out = StringIO()
    call_command("officialaccount_recall", "--check", "--account", "@TOA#_OTHER", stdout=out)
    assert "No recall with an unknown outcome to check." in out.getvalue()


def test_check_api(tencent: HTTPServer) -> None:
    tencent.expect_request(HISTORY_PATH).respond_with_handler(history([9, 5], [3]))
    store_unknown()
    client = logged_in("recall_officialaccountmessage")
    payload = {
        "sdk_app_id": SIGNED_APP,
        "official_account": ACCOUNT,
        "msg_keys": ["5_1_1", "3_1_1", "1_1_1", "99_1_1"],
    }
    response = client.post(CHECK_API, payload, content_type="application/json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert_checked(sorted(results, key=lambda r: -int(r["msg_key"].partition("_")[0])))


def test_check_admin_action(tencent: HTTPServer) -> None:
    tencent.expect_request(HISTORY_PATH).respond_with_handler(history([9, 5], [3]))
    messages = store_unknown()
    client = logged_in("view_officialaccountmessage", "recall_officialaccountmessage", staff=True)
    response = client.post(
        reverse(CHANGELIST),
        {"action": "check_recall_again", "_selected_action": [m.pk for m in messages]},
    )
    assert response.status_code == 200
    assert "Recall check results" in response.text
    assert "Recalled: 1. Already recalled: 0. Failed: 1. Unknown: 1." in response.text
    assert OfficialAccountMessage.objects.get(msg_key="3_1_1").recalled_at is not None


def test_check_of_a_slow_history_stays_unknown_within_the_budget(
    httpserver: HTTPServer,
) -> None:
    stall = Stall(0.8)

    def slow(request: Request) -> Response:
        stall()
        return Response(json.dumps(error_reply(0)), status=200)

    httpserver.expect_request(HISTORY_PATH).respond_with_handler(slow)
    [message] = store("5_1_1", recall_unknown_at=UNKNOWN_SINCE)
    settings = conf(httpserver.url_for("/"), REST_READ_TIMEOUT=5, RECALL_TIME_BUDGET=0.3)
    with override_settings(OFFICIALACCOUNT_WEBHOOK=settings):
        [outcome] = check_recalls([message])
    assert stall.done.wait(5)
    assert outcome.status == "unknown"
    assert "timed out" in outcome.detail
    message.refresh_from_db()
    assert message.recall_unknown_at == UNKNOWN_SINCE


def test_check_a_message_recalled_meanwhile_by_tencents_callback(tencent: HTTPServer) -> None:
    [message] = store(
        "5_1_1", recall_unknown_at=UNKNOWN_SINCE, recalled_at=datetime(2024, 6, 3, tzinfo=UTC)
    )
    [outcome] = check_recalls([message])
    assert outcome.status == "already_recalled"
    assert tencent.log == []
    message.refresh_from_db()
    assert message.recall_unknown_at is None
