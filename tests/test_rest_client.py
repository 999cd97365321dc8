"""The REST client against a real local HTTP server that plays Tencent.

No test measures elapsed time: waits are recorded by an injected ``sleep``, and the deadline
runs on an injected monotonic clock wherever a test needs to say when it passes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.views.debug import ExceptionReporter
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from officialaccount_webhook.conf import RestSettings, TencentApp
from officialaccount_webhook.redaction import REDACTED
from officialaccount_webhook.tencent import (
    TencentApiError,
    TencentChatClient,
    TencentTransportError,
)
from officialaccount_webhook.tencent.client import base_url_for
from officialaccount_webhook.tencent.ratelimit import RateLimiter
from tests.clock import Clock
from tests.tencent import (
    ACCOUNT,
    RECALL_PATH,
    SECRET_KEY,
    RawServer,
    Stall,
    decode_usersig,
    error_reply,
    http_response,
    read_request,
    recall_reply,
    untrusted_tls_context,
)

SDK_APP_ID = 1400000000
FAST = RestSettings(
    rate_limit=1000, connect_timeout=1, read_timeout=0.5, max_retries=3, retry_backoff=0.01
)


@pytest.fixture
def app(httpserver: HTTPServer) -> TencentApp:
    return TencentApp(
        sdk_app_id=SDK_APP_ID,
        secret_key=SECRET_KEY,
        admin_identifier="administrator",
        api_base_url=httpserver.url_for("/"),
    )


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(app: TencentApp, sleeps: list[float]) -> Iterator[TencentChatClient]:
    with TencentChatClient(app, FAST, sleep=sleeps.append) as client:
        yield client


def test_success_and_what_is_sent(httpserver: HTTPServer, client: TencentChatClient) -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        return Response(
            json.dumps(recall_reply({"71_1_1": 0, "72_1_1": 0})), content_type="application/json"
        )

    httpserver.expect_request(RECALL_PATH, method="POST").respond_with_handler(handler)
    reply = client.recall_official_account_messages(ACCOUNT, ["71_1_1", "72_1_1"], "wrong price")
    assert reply.ret_codes == {"71_1_1": 0, "72_1_1": 0}
    [request] = seen
    assert request.args["sdkappid"] == str(SDK_APP_ID)
    assert request.args["identifier"] == "administrator"
    assert request.args["contenttype"] == "json"
    assert request.headers["Content-Type"] == "application/json"
    assert 0 <= int(request.args["random"]) < 2**32
    document = decode_usersig(request.args["usersig"])
    assert (document["TLS.identifier"], document["TLS.sdkappid"]) == ("administrator", SDK_APP_ID)
    assert json.loads(request.get_data()) == {
        "Official_Account": ACCOUNT,
        "MsgKeyList": ["71_1_1", "72_1_1"],
        "Reason": "wrong price",
    }


def test_reason_is_left_out_when_empty(httpserver: HTTPServer, client: TencentChatClient) -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: Request) -> Response:
        bodies.append(json.loads(request.get_data()))
        return Response(json.dumps(recall_reply({"k": 0})), content_type="application/json")

    httpserver.expect_request(RECALL_PATH).respond_with_handler(handler)
    client.recall_official_account_messages(ACCOUNT, ["k"])
    assert "Reason" not in bodies[0]


def test_usersig_is_cached_and_renewed_before_it_expires(
    httpserver: HTTPServer, app: TencentApp
) -> None:
    clock = Clock(1_717_000_000)
    client = TencentChatClient(app, FAST, clock=clock, sleep=lambda _: None)
    usersigs: list[str] = []

    def handler(request: Request) -> Response:
        usersigs.append(request.args["usersig"])
        return Response(json.dumps(recall_reply({"k": 0})), content_type="application/json")

    httpserver.expect_request(RECALL_PATH).respond_with_handler(handler)
    client.recall_official_account_messages(ACCOUNT, ["k"])
    clock.now += 3600
    client.recall_official_account_messages(ACCOUNT, ["k"])
    clock.now += 86_400 - 3600 - 599  # within ten minutes of expiry
    client.recall_official_account_messages(ACCOUNT, ["k"])
    assert usersigs[0] == usersigs[1] != usersigs[2]
    assert decode_usersig(usersigs[2])["TLS.time"] == int(clock.now)


def test_expired_usersig_is_renewed_once_and_retried(
    httpserver: HTTPServer, app: TencentApp
) -> None:
    clock = Clock(1_717_000_000.25)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds

    client = TencentChatClient(app, FAST, clock=clock, sleep=sleep)
    usersigs: list[str] = []

    def expired(request: Request) -> Response:
        usersigs.append(request.args["usersig"])
        return Response(
            json.dumps(error_reply(70001, "UserSig expired")), content_type="application/json"
        )

    def ok(request: Request) -> Response:
        usersigs.append(request.args["usersig"])
        return Response(json.dumps(recall_reply({"k": 0})), content_type="application/json")

    httpserver.expect_ordered_request(RECALL_PATH).respond_with_handler(expired)
    httpserver.expect_ordered_request(RECALL_PATH).respond_with_handler(ok)
    assert client.recall_official_account_messages(ACCOUNT, ["k"]).ret_codes == {"k": 0}
    # Renewed within the same second, the UserSig would be the same bytes: the client waits
    # for the next second, so the retry carries a new signature.
    assert len(usersigs) == 2
    assert usersigs[0] != usersigs[1]
    assert decode_usersig(usersigs[1])["TLS.time"] == decode_usersig(usersigs[0])["TLS.time"] + 1
    assert waits == [pytest.approx(0.75)]


def test_expired_usersig_twice_is_an_error(
    httpserver: HTTPServer, client: TencentChatClient
) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_json(error_reply(70001, "UserSig expired"))
    with pytest.raises(TencentApiError) as caught:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert (caught.value.error_code, caught.value.error_info) == (70001, "UserSig expired")
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("code", [60007, 60008, 60011, 60018, 60019])
def test_rate_limit_and_timeout_codes_are_retried(
    httpserver: HTTPServer, client: TencentChatClient, sleeps: list[float], code: int
) -> None:
    httpserver.expect_ordered_request(RECALL_PATH).respond_with_json(error_reply(code, "slow down"))
    httpserver.expect_ordered_request(RECALL_PATH).respond_with_json(error_reply(code, "slow down"))
    httpserver.expect_ordered_request(RECALL_PATH).respond_with_json(recall_reply({"k": 0}))
    assert client.recall_official_account_messages(ACCOUNT, ["k"]).ret_codes == {"k": 0}
    assert len(sleeps) == 2
    # Exponential backoff with full jitter: each wait is at most base * 2**attempt.
    assert 0 <= sleeps[0] <= 0.01
    assert 0 <= sleeps[1] <= 0.02


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_are_retried(
    httpserver: HTTPServer, client: TencentChatClient, status: int
) -> None:
    httpserver.expect_ordered_request(RECALL_PATH).respond_with_data("oops", status=status)
    httpserver.expect_ordered_request(RECALL_PATH).respond_with_json(recall_reply({"k": 0}))
    assert client.recall_official_account_messages(ACCOUNT, ["k"]).ret_codes == {"k": 0}


def test_retries_are_bounded(httpserver: HTTPServer, client: TencentChatClient) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_data("down", status=503)
    with pytest.raises(TencentTransportError, match="HTTP 503"):
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert len(httpserver.log) == FAST.max_retries + 1


def test_other_errors_are_not_retried(httpserver: HTTPServer, client: TencentChatClient) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_json(
        error_reply(10010, "account does not exist")
    )
    with pytest.raises(TencentApiError) as caught:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert caught.value.error_code == 10010
    assert "account does not exist" in str(caught.value)
    assert len(httpserver.log) == 1


def test_http_client_errors_are_not_retried(
    httpserver: HTTPServer, client: TencentChatClient
) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_data("no", status=404)
    with pytest.raises(TencentTransportError, match="HTTP 404"):
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert len(httpserver.log) == 1


def test_calls_that_are_not_idempotent_are_not_retried(
    httpserver: HTTPServer, client: TencentChatClient
) -> None:
    httpserver.expect_request("/v4/svc/send").respond_with_json(error_reply(60007, "slow down"))
    with pytest.raises(TencentApiError):
        client.call("svc", "send", {}, idempotent=False)
    assert len(httpserver.log) == 1


def test_read_timeout(httpserver: HTTPServer, app: TencentApp) -> None:
    client = TencentChatClient(
        app, RestSettings(read_timeout=0.2, max_retries=0), sleep=lambda _: None
    )
    stall = Stall(0.6)

    def slow(request: Request) -> Response:
        stall()
        return Response(json.dumps(recall_reply({"k": 0})), content_type="application/json")

    httpserver.expect_request(RECALL_PATH).respond_with_handler(slow)
    with pytest.raises(TencentTransportError, match="timed out") as caught:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    # The answer would come, but too late: the request was sent, so it may have been done.
    assert (caught.value.sent, caught.value.retryable) == (True, True)
    assert stall.done.wait(5)


def test_timeout_then_success(httpserver: HTTPServer, app: TencentApp) -> None:
    client = TencentChatClient(
        app, RestSettings(read_timeout=0.2, retry_backoff=0), sleep=lambda _: None
    )
    calls: list[int] = []
    stall = Stall(0.4)

    def slow_once(request: Request) -> Response:
        calls.append(1)
        if len(calls) == 1:
            stall()
        return Response(json.dumps(recall_reply({"k": 0})), content_type="application/json")

    httpserver.expect_request(RECALL_PATH).respond_with_handler(slow_once)
    assert client.recall_official_account_messages(ACCOUNT, ["k"]).ret_codes == {"k": 0}
    # The fake server answers one request at a time, so a retry may time out while it still
    # sleeps on the first one; what matters is that a retry came, and succeeded.
    assert len(calls) >= 2
    assert stall.done.wait(5)


def test_connection_refused(app: TencentApp) -> None:
    dead = TencentApp(
        sdk_app_id=SDK_APP_ID, secret_key=SECRET_KEY, api_base_url="http://127.0.0.1:9"
    )
    sleeps: list[float] = []
    client = TencentChatClient(dead, FAST, sleep=sleeps.append)
    with pytest.raises(TencentTransportError, match="ConnectionRefusedError") as caught:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert len(sleeps) == FAST.max_retries
    # Nothing reached Tencent: nothing may have been done.
    assert (caught.value.sent, caught.value.maybe_carried_out) == (False, False)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (
            {"ErrorCode": 0, "RecallRetList": [{"MsgKey": "k", "RetCode": 0}], "New": {"x": 1}},
            {"k": 0},
        ),
        ({"ErrorCode": "0", "RecallRetList": [{"MsgKey": "k", "RetCode": "10030"}]}, {"k": 10030}),
        ({"ActionStatus": "OK", "RecallRetList": [{"MsgKey": "k", "RetCode": 0}]}, {"k": 0}),
        ({"ErrorCode": 0}, {}),
        ({"ErrorCode": 0, "RecallRetList": "junk"}, {}),
        (
            {
                "ErrorCode": 0,
                "RecallRetList": [
                    None,
                    {"MsgKey": 5},
                    {"MsgKey": "k"},
                    {"MsgKey": "j", "RetCode": 0},
                ],
            },
            {"j": 0},
        ),
    ],
)
def test_replies_are_parsed_tolerantly(
    httpserver: HTTPServer,
    client: TencentChatClient,
    reply: dict[str, Any],
    expected: dict[str, int],
) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_json(reply)
    assert client.recall_official_account_messages(ACCOUNT, ["k"]).ret_codes == expected


@pytest.mark.parametrize(
    ("respond", "message"),
    [
        (lambda r: r.respond_with_data("<html>", status=200), "not JSON"),
        (lambda r: r.respond_with_json([1, 2]), "not a JSON object"),
        (lambda r: r.respond_with_json({"ActionStatus": "FAIL"}), "no ErrorInfo"),
    ],
)
def test_unusable_replies_are_typed_errors(
    httpserver: HTTPServer, client: TencentChatClient, respond: Any, message: str
) -> None:
    respond(httpserver.expect_request(RECALL_PATH))
    with pytest.raises((TencentTransportError, TencentApiError), match=message):
        client.recall_official_account_messages(ACCOUNT, ["k"])


def test_secrets_stay_out_of_logs_errors_and_repr(
    httpserver: HTTPServer, client: TencentChatClient, caplog: pytest.LogCaptureFixture
) -> None:
    usersigs: list[str] = []

    def handler(request: Request) -> Response:
        usersigs.append(request.args["usersig"])
        return Response(
            json.dumps(error_reply(60007, "slow down")), content_type="application/json"
        )

    httpserver.expect_request(RECALL_PATH).respond_with_handler(handler)
    with caplog.at_level(logging.DEBUG), pytest.raises(TencentApiError) as caught:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    # The fake Tencent server's own request log (werkzeug) shows the URL: that one is Tencent's.
    # httpx's and httpcore's are this side's: httpx logs each request's URL.
    ours = [r for r in caplog.records if not r.name.startswith("werkzeug")]
    assert {"officialaccount_webhook.tencent.client", "httpx", "httpcore.http11"} <= {
        record.name for record in ours
    }
    texts = [record.getMessage() for record in ours]
    texts += [str(caught.value), repr(caught.value), repr(client), repr(client.app)]
    texts += [repr(client._usersig), repr(client._transport)]
    assert any("retry" in text for text in texts)
    assert any("HTTP Request: POST" in text for text in texts)
    for text in texts:
        assert SECRET_KEY not in text
        for usersig in usersigs:
            assert usersig not in text


def test_rate_limiter_spaces_calls() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(2, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        limiter.acquire()
    # A burst of two, then one call every half second.
    assert waits == pytest.approx([0.5, 0.5, 0.5, 0.5])


def test_client_uses_the_rate_limit_setting(httpserver: HTTPServer, app: TencentApp) -> None:
    waits: list[float] = []
    # The monotonic clock stands still: the second call comes at once, so it waits a second.
    client = TencentChatClient(
        app, RestSettings(rate_limit=1), monotonic=Clock(0), sleep=waits.append
    )
    httpserver.expect_request(RECALL_PATH).respond_with_json(recall_reply({"k": 0}))
    client.recall_official_account_messages(ACCOUNT, ["k"])
    client.recall_official_account_messages(ACCOUNT, ["k"])
    assert waits == [1.0]


@pytest.mark.parametrize(
    ("region", "base_url", "expected"),
    [
        ("singapore", "", "https://adminapisgp.im.qcloud.com"),
        ("China", "", "https://console.tim.qq.com"),
        ("frankfurt", "https://proxy.example.com/tencent/", "https://proxy.example.com/tencent"),
        ("", "http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("", "http://localhost:8080/", "http://localhost:8080"),
        ("", "http://[::1]:8080", "http://[::1]:8080"),
    ],
)
def test_base_url(region: str, base_url: str, expected: str) -> None:
    app = TencentApp(sdk_app_id=1, region=region, api_base_url=base_url)
    assert base_url_for(app) == expected


@pytest.mark.parametrize(
    ("region", "base_url", "message"),
    [
        ("", "", "set REGION or API_BASE_URL"),
        ("mars", "", "unknown REGION 'mars'"),
        ("", "http://example.com", "http:// is accepted for loopback hosts only"),
        ("", "http://10.0.0.1", "loopback hosts only"),
        ("", "ftp://127.0.0.1", "must be an https:// URL"),
    ],
)
def test_base_url_refusals(region: str, base_url: str, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        base_url_for(TencentApp(sdk_app_id=1, region=region, api_base_url=base_url))


def test_secret_key_is_required() -> None:
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        TencentChatClient(TencentApp(sdk_app_id=1, region="singapore"), FAST)


@pytest.mark.parametrize("code", ["²", "--5", "1" * 5000, 2**40, -(2**40), 1.5, None, [0]])
def test_implausible_codes_are_no_codes(
    httpserver: HTTPServer, client: TencentChatClient, code: Any
) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_json(
        {"ErrorCode": 0, "RecallRetList": [{"MsgKey": "k", "RetCode": code}]}
    )
    assert client.recall_official_account_messages(ACCOUNT, ["k"]).ret_codes == {}


@pytest.mark.parametrize("code", ["²", "1" * 5000, 2**40])
def test_implausible_error_codes_are_failures(
    httpserver: HTTPServer, client: TencentChatClient, code: Any
) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_json(
        {"ErrorCode": code, "ErrorInfo": "odd"}
    )
    with pytest.raises(TencentApiError) as caught:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert caught.value.error_code is None
    assert caught.value.error_info == "odd"


def test_deeply_nested_reply_is_a_typed_error(
    httpserver: HTTPServer, client: TencentChatClient
) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_data("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TencentTransportError, match="not JSON"):
        client.recall_official_account_messages(ACCOUNT, ["k"])


def test_oversized_reply_is_cut_off(httpserver: HTTPServer, client: TencentChatClient) -> None:
    huge = json.dumps(recall_reply({"k": 0}, Padding="x" * (2 * 1024 * 1024)))
    httpserver.expect_request(RECALL_PATH).respond_with_data(huge, content_type="application/json")
    with pytest.raises(TencentTransportError, match="over 1048576 bytes"):
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert len(httpserver.log) == 1


def test_a_dripping_reply_is_cut_off_at_the_read_timeout(
    httpserver: HTTPServer, app: TencentApp
) -> None:
    # A real server and a real (short) deadline: only the outcome is checked, never the time.
    client = TencentChatClient(
        app, RestSettings(read_timeout=0.3, max_retries=0), sleep=lambda _: None
    )
    done = threading.Event()

    def drip(request: Request) -> Response:
        def body() -> Iterator[bytes]:
            try:
                for _ in range(20):  # each byte comes well within the timeout; all do not
                    yield b" "
                    time.sleep(0.1)
                yield json.dumps(recall_reply({"k": 0})).encode()
            finally:
                done.set()

        return Response(body(), content_type="application/json")

    httpserver.expect_request(RECALL_PATH).respond_with_handler(drip)
    with pytest.raises(TencentTransportError, match="timed out") as caught:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert caught.value.sent
    assert caught.value.maybe_carried_out
    assert done.wait(5)


def test_retry_after_is_honoured(
    httpserver: HTTPServer, client: TencentChatClient, sleeps: list[float]
) -> None:
    httpserver.expect_ordered_request(RECALL_PATH).respond_with_data(
        "busy", status=429, headers={"Retry-After": "2"}
    )
    httpserver.expect_ordered_request(RECALL_PATH).respond_with_json(recall_reply({"k": 0}))
    assert client.recall_official_account_messages(ACCOUNT, ["k"]).ret_codes == {"k": 0}
    assert sleeps == [2.0]


def test_a_retry_after_too_long_to_wait_for_is_an_error(
    httpserver: HTTPServer, client: TencentChatClient, sleeps: list[float]
) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_data(
        "busy", status=503, headers={"Retry-After": "120"}
    )
    with pytest.raises(TencentTransportError, match="HTTP 503") as caught:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert caught.value.retry_after == 120
    assert sleeps == []


def test_backoff_is_capped(httpserver: HTTPServer, app: TencentApp) -> None:
    sleeps: list[float] = []
    client = TencentChatClient(
        app, RestSettings(max_retries=8, retry_backoff=5), sleep=sleeps.append
    )
    httpserver.expect_request(RECALL_PATH).respond_with_json(error_reply(60007, "slow down"))
    with pytest.raises(TencentApiError):
        client.recall_official_account_messages(ACCOUNT, ["k"])
    assert len(sleeps) == 8
    assert max(sleeps) <= 10


# The UserSig made at the first time has a "*", which URL-encoding changes; the second has none.
@pytest.mark.parametrize("now", [1_717_000_005, 1_717_000_000])
def test_error_info_is_scrubbed_and_bounded(
    httpserver: HTTPServer, app: TencentApp, now: int
) -> None:
    client = TencentChatClient(app, FAST, clock=Clock(now))

    def echo(request: Request) -> Response:
        info = f"bad request {request.full_path} key={SECRET_KEY} " + "x" * 5000
        return Response(json.dumps(error_reply(10004, info)), content_type="application/json")

    httpserver.expect_request(RECALL_PATH).respond_with_handler(echo)
    with pytest.raises(TencentApiError) as caught:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    info = caught.value.error_info
    assert ("*" in client._usersig.issued()) is (now == 1_717_000_005)
    # The UserSig comes last in the query (see tencent/pool.py), the echoed key after it.
    assert f"usersig={REDACTED} key={REDACTED} " in info
    assert SECRET_KEY not in info
    assert len(info) == 500


def test_tracebacks_do_not_show_the_usersig(
    httpserver: HTTPServer, client: TencentChatClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setattr("officialaccount_webhook.tencent.transport._read_limited", explode)
    httpserver.expect_request(RECALL_PATH).respond_with_json(recall_reply({"k": 0}))
    try:
        client.recall_official_account_messages(ACCOUNT, ["k"])
    except RuntimeError:
        exc_type, exc_value, tb = sys.exc_info()
    usersig = client._usersig.issued()
    assert usersig
    assert tb is not None
    # From the client's frames on: this test's own frame holds the UserSig, to look for it.
    reporter = ExceptionReporter(None, exc_type, exc_value, tb.tb_next)
    text = reporter.get_traceback_text()
    assert "in _post" in text
    assert "in post" in text
    # The HTML report shows each frame's local variables; the text one does not.
    html = reporter.get_traceback_html()
    assert "secret_query" in html
    for report in (text, html):
        assert usersig not in report
        assert quote_plus(usersig) not in report
        assert SECRET_KEY not in report


def test_cookies_are_not_kept(httpserver: HTTPServer, client: TencentChatClient) -> None:
    httpserver.expect_request(RECALL_PATH).respond_with_json(
        recall_reply({"k": 0}), headers={"Set-Cookie": "session=abc; Path=/"}
    )
    client.recall_official_account_messages(ACCOUNT, ["k"])
    client.recall_official_account_messages(ACCOUNT, ["k"])
    assert [request.headers.get("Cookie") for request, _ in httpserver.log] == [None, None]


def test_connections_are_kept_for_the_next_call_and_closed_with_the_client(
    app: TencentApp,
) -> None:
    heads: list[bytes] = []
    hung_up = threading.Event()

    def keep_alive(conn: socket.socket) -> None:
        while (head := read_request(conn)) is not None:
            heads.append(head)
            conn.sendall(http_response(recall_reply({"k": 0})))
        hung_up.set()

    with RawServer(keep_alive) as server:
        app = dataclasses.replace(app, api_base_url=server.url())
        with TencentChatClient(app, FAST, sleep=lambda _: None) as client:
            for _ in range(3):
                assert client.recall_official_account_messages(ACCOUNT, ["k"]).ret_codes == {"k": 0}
            assert (len(heads), server.connections) == (3, 1)
            assert not hung_up.is_set()
        assert hung_up.wait(5)


# A complete answer, and where the server stops sending it: inside the headers, or the body.
_ANSWER = http_response(recall_reply({"k": 0}))
_STOPS = {"headers": 20, "body": _ANSWER.index(b"\r\n\r\n") + 10}


@pytest.mark.parametrize("stop", _STOPS)
@pytest.mark.parametrize(
    ("read_timeout", "jump"),
    [
        # The deadline passes while the answer is on its way: no read starts after it.
        pytest.param(5.0, 6.0, id="passed"),
        # A tenth of a second of it is left: the next read waits that long, not for
        # REST_READ_TIMEOUT (1000 s, far beyond the server's 2 s).
        pytest.param(1000.0, 999.9, id="nearly-passed"),
    ],
)
def test_the_whole_answer_keeps_to_the_deadline(
    app: TencentApp, stop: str, read_timeout: float, jump: float
) -> None:
    """REST_READ_TIMEOUT is one deadline on the injected monotonic clock, from the request's
    first byte to the answer's last, however the answer's bytes come."""
    clock = Clock(0)
    hung_up = threading.Event()

    def stops_midway(conn: socket.socket) -> None:
        read_request(conn)
        clock.now += jump
        conn.sendall(_ANSWER[: _STOPS[stop]])
        # The rest comes after 2 s, unless the client hung up first: a client that let a read
        # wait longer than the deadline allows would get a complete answer then.
        conn.settimeout(2)
        try:
            if conn.recv(1) == b"":
                hung_up.set()
        except ConnectionResetError:  # closed with bytes unread: hung up all the same
            hung_up.set()
        except TimeoutError:
            conn.sendall(_ANSWER[_STOPS[stop] :])

    with RawServer(stops_midway) as server:
        app = dataclasses.replace(app, api_base_url=server.url())
        rest = RestSettings(read_timeout=read_timeout, max_retries=0)
        with (
            TencentChatClient(app, rest, monotonic=clock, sleep=lambda _: None) as client,
            pytest.raises(TencentTransportError, match="timed out") as caught,
        ):
            client.recall_official_account_messages(ACCOUNT, ["k"])
        assert (caught.value.sent, caught.value.retryable) == (True, True)
        # The connection, half read, is dropped rather than kept for the next call.
        assert hung_up.wait(5)


def test_a_refused_certificate_is_not_retried(app: TencentApp, tmp_path: Path) -> None:
    context = untrusted_tls_context(tmp_path)

    def tls(conn: socket.socket) -> None:
        context.wrap_socket(conn, server_side=True).close()  # the client refuses the handshake

    sleeps: list[float] = []
    with RawServer(tls) as server:
        app = dataclasses.replace(app, api_base_url=server.url("https"))
        with (
            TencentChatClient(app, FAST, sleep=sleeps.append) as client,
            pytest.raises(TencentTransportError, match="certificate was refused") as caught,
        ):
            client.recall_official_account_messages(ACCOUNT, ["k"])
    assert "self-signed certificate" in str(caught.value)
    assert (caught.value.retryable, caught.value.sent) == (False, False)
    assert (server.connections, sleeps) == (1, [])
