"""Sending: the REST call and ``send_message``, against a local server that plays Tencent's
REST API; storing once whichever of the send's answer and the after-send callback comes first.

The fixtures and helpers here serve the other tests/test_send_*.py modules too.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import override_settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from officialaccount_webhook.compose import (
    Custom,
    Face,
    File,
    Image,
    Location,
    SendError,
    SendFailed,
    Sound,
    Text,
    Video,
    send_message,
)
from officialaccount_webhook.compose.body import outgoing
from officialaccount_webhook.compose.send import MessageOptions, SendOptions
from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.tencent import client_for
from officialaccount_webhook.tencent.sending import send_official_account_msg
from tests.conftest import SignalLog, sample
from tests.settings import SIGNED_APP
from tests.tencent import ACCOUNT, SECRET_KEY, decode_usersig, error_reply

pytestmark = pytest.mark.django_db

SEND_PATH = "/v4/official_account_open_http_svc/send_official_account_msg"
MSG_TIME = 1717000000
UNCONFIGURED_APP = 1400000002


def send_reply(msg_key: str = "71_1_1717000000", msg_time: int = MSG_TIME) -> dict[str, Any]:
    return {
        "ActionStatus": "OK",
        "ErrorInfo": "",
        "ErrorCode": 0,
        "MsgKey": msg_key,
        "MsgTime": msg_time,
    }


def tencent_conf(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {
        "APPS": {
            SIGNED_APP: {
                "CALLBACK_TOKENS": ["current-token"],
                "SECRET_KEY": SECRET_KEY,
                "API_BASE_URL": server.url_for("/"),
            },
            UNCONFIGURED_APP: {},  # configured for callbacks, but it cannot call Tencent
        },
        "REST_RETRY_BACKOFF": 0,
        **extra,
    }


@pytest.fixture(name="tencent")
def tencent_fixture(httpserver: HTTPServer) -> Iterator[HTTPServer]:
    """Point the signed test app at the local server that plays Tencent."""
    with override_settings(OFFICIALACCOUNT_WEBHOOK=tencent_conf(httpserver)):
        yield httpserver


def bodies(server: HTTPServer) -> list[dict[str, Any]]:
    return [json.loads(request.get_data()) for request, _response in server.log]


def answering(*replies: dict[str, Any]) -> Callable[[Request], Response]:
    """A handler that answers each request with the next reply (the last one repeats)."""
    queue = list(replies)

    def handle(request: Request) -> Response:
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return Response(json.dumps(reply), content_type="application/json")

    return handle


def after_send_callback(msg_key: str, text: str = "red packet") -> dict[str, Any]:
    body = sample("text")
    body["MsgKey"], body["MsgTime"] = msg_key, MSG_TIME
    body["MsgBody"] = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    body["CloudCustomData"] = ""
    return body


# ------------------------------------------------------------------ the REST call


ELEMENTS = [
    pytest.param(Text("hello"), {"Text": "hello"}, id="text"),
    pytest.param(Face(3, "smile"), {"Index": 3, "Data": "smile"}, id="face"),
    pytest.param(
        Location(22.5, 114.1, "Shenzhen"),
        {"Desc": "Shenzhen", "Latitude": 22.5, "Longitude": 114.1},
        id="location",
    ),
    pytest.param(
        Custom('{"kind":"sale"}', desc="Sale", ext="e", sound="dingdong.aiff"),
        {"Data": '{"kind":"sale"}', "Desc": "Sale", "Ext": "e", "Sound": "dingdong.aiff"},
        id="custom",
    ),
    pytest.param(
        Image.of_url("https://example.com/a.png", 640, 480, 1024, image_format=3, uuid="img-1"),
        {
            "UUID": "img-1",
            "ImageFormat": 3,
            "ImageInfoArray": [
                {
                    "Type": kind,
                    "Size": 1024,
                    "Width": 640,
                    "Height": 480,
                    "URL": "https://example.com/a.png",
                }
                for kind in (1, 2, 3)
            ],
        },
        id="image",
    ),
    pytest.param(
        Sound("https://example.com/a.m4a", 2048, 7, uuid="snd-1"),
        {
            "Url": "https://example.com/a.m4a",
            "UUID": "snd-1",
            "Size": 2048,
            "Second": 7,
            "Download_Flag": 2,
        },
        id="sound",
    ),
    pytest.param(
        File("https://example.com/a.pdf", 4096, "a.pdf", uuid="file-1"),
        {
            "Url": "https://example.com/a.pdf",
            "UUID": "file-1",
            "FileSize": 4096,
            "FileName": "a.pdf",
            "Download_Flag": 2,
        },
        id="file",
    ),
    pytest.param(
        Video(
            "https://example.com/v.mp4",
            9000,
            12,
            "mp4",
            "https://example.com/t.jpg",
            300,
            64,
            48,
            "JPG",
            video_uuid="vid-1",
            thumb_uuid="thumb-1",
        ),
        {
            "VideoUrl": "https://example.com/v.mp4",
            "VideoUUID": "vid-1",
            "VideoSize": 9000,
            "VideoSecond": 12,
            "VideoFormat": "mp4",
            "VideoDownloadFlag": 2,
            "ThumbUrl": "https://example.com/t.jpg",
            "ThumbUUID": "thumb-1",
            "ThumbSize": 300,
            "ThumbWidth": 64,
            "ThumbHeight": 48,
            "ThumbFormat": "JPG",
            "ThumbDownloadFlag": 2,
        },
        id="video",
    ),
]


@pytest.mark.parametrize(("element", "content"), ELEMENTS)
def test_the_request_for_each_element_type(
    tencent: HTTPServer, element: Any, content: dict[str, Any]
) -> None:
    tencent.expect_request(SEND_PATH, method="POST").respond_with_json(send_reply())
    message = send_message(SIGNED_APP, ACCOUNT, [element], sent_by="ops")
    [(request, _response)] = tencent.log
    body = json.loads(request.get_data())
    assert body == {
        "Official_Account": ACCOUNT,
        "Random": body["Random"],
        "MsgBody": [{"MsgType": element.MSG_TYPE, "MsgContent": content}],
    }
    assert isinstance(body["Random"], int) and 0 <= body["Random"] < 2**32
    assert request.args["sdkappid"] == str(SIGNED_APP)
    assert request.args["identifier"] == "administrator"
    assert request.args["contenttype"] == "json"
    assert decode_usersig(request.args["usersig"])["TLS.identifier"] == "administrator"
    assert message.msg_body == body["MsgBody"]


def test_the_options_on_the_wire(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply())
    push = {"Title": "News", "Desc": "A new release"}
    send_message(
        SIGNED_APP,
        ACCOUNT,
        ["hi"],
        cloud_custom_data='{"campaign": 7}',
        online_only=True,
        offline_push_info=push,
    )
    [body] = bodies(tencent)
    assert body["CloudCustomData"] == '{"campaign": 7}'
    assert body["OnlineOnlyFlag"] == 1
    assert body["OfflinePushInfo"] == push


def test_the_client_family_sends_controls_and_reports_the_answer(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply("9_1_1", 1717000009))
    reply = send_official_account_msg(
        client_for(SIGNED_APP),
        ACCOUNT,
        [Text("x").as_wire()],
        random=42,
        forbid_callback_control=["ForbidBeforeSendMsgCallback"],
        send_msg_control=["NoLastMsg"],
    )
    assert (reply.msg_key, reply.msg_time, reply.random, reply.uncertain) == (
        "9_1_1",
        1717000009,
        42,
        False,
    )
    [body] = bodies(tencent)
    assert body["Random"] == 42
    assert body["ForbidCallbackControl"] == ["ForbidBeforeSendMsgCallback"]
    assert body["SendMsgControl"] == ["NoLastMsg"]


@pytest.mark.parametrize(
    "first_answer",
    [
        pytest.param(
            lambda r: r.respond_with_json(error_reply(60008, "timeout")), id="tencent-timeout"
        ),
        pytest.param(lambda r: r.respond_with_data("bad gateway", status=502), id="5xx"),
        pytest.param(
            lambda r: r.respond_with_json(error_reply(60007, "too many")), id="rate-limit"
        ),
    ],
)
def test_a_retry_sends_the_same_random(tencent: HTTPServer, first_answer: Any) -> None:
    first_answer(tencent.expect_ordered_request(SEND_PATH))
    tencent.expect_ordered_request(SEND_PATH).respond_with_json(send_reply())
    message = send_message(SIGNED_APP, ACCOUNT, ["hi"])
    first, second = bodies(tencent)
    assert first == second  # the same content and Random: Tencent drops a second delivery
    assert OfficialAccountMessage.objects.get().pk == message.pk


def test_each_send_has_a_fresh_random(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_handler(
        answering(send_reply("1_1_1"), send_reply("2_1_1"))
    )
    send_message(SIGNED_APP, ACCOUNT, ["same text"])
    send_message(SIGNED_APP, ACCOUNT, ["same text"])
    first, second = bodies(tencent)
    assert first["Random"] != second["Random"]
    assert OfficialAccountMessage.objects.count() == 2


# ------------------------------------------------------------------ refusals


def test_tencents_refusal_stores_nothing_and_names_the_error(
    tencent: HTTPServer, signal_log: SignalLog
) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(error_reply(10010, "account not exist"))
    with pytest.raises(SendFailed, match=r"account not exist \(ErrorCode 10010\)") as caught:
        send_message(SIGNED_APP, ACCOUNT, ["hi"])
    assert (caught.value.error_code, caught.value.maybe_sent) == (10010, False)
    assert len(tencent.log) == 1  # not a code worth a retry
    assert not OfficialAccountMessage.objects.exists()
    assert signal_log.received == []


def test_a_rate_limit_is_retried_then_reported(tencent: HTTPServer) -> None:
    conf = tencent_conf(tencent, REST_MAX_RETRIES=2)
    tencent.expect_request(SEND_PATH).respond_with_json(error_reply(60007, "rate limited"))
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf), pytest.raises(SendFailed) as caught:
        send_message(SIGNED_APP, ACCOUNT, ["hi"])
    assert caught.value.error_code == 60007
    sent = bodies(tencent)
    assert len(sent) == 3
    assert len({body["Random"] for body in sent}) == 1
    assert not OfficialAccountMessage.objects.exists()


def test_an_answer_after_a_timeout_may_have_sent(tencent: HTTPServer) -> None:
    conf = tencent_conf(tencent, REST_MAX_RETRIES=0)
    tencent.expect_request(SEND_PATH).respond_with_json(error_reply(60008, "server timeout"))
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf), pytest.raises(SendFailed) as caught:
        send_message(SIGNED_APP, ACCOUNT, ["hi"])
    assert caught.value.maybe_sent
    assert "may have sent it" in str(caught.value)
    assert not OfficialAccountMessage.objects.exists()


def test_an_answer_without_msgkey_is_a_failure(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json({"ActionStatus": "OK", "ErrorCode": 0})
    with pytest.raises(SendFailed, match="no MsgKey") as caught:
        send_message(SIGNED_APP, ACCOUNT, ["hi"])
    assert caught.value.maybe_sent
    assert not OfficialAccountMessage.objects.exists()


@pytest.mark.parametrize(
    ("sdk_app_id", "elements", "match"),
    [
        pytest.param(SIGNED_APP, [], "at least one element", id="empty"),
        pytest.param(
            SIGNED_APP, [Custom("a"), Custom("b")], "at most one TIMCustomElem", id="two-custom"
        ),
        pytest.param(SIGNED_APP, ["x" * 12_300], "Tencent takes at most 12288", id="over-12k"),
        pytest.param(SIGNED_APP, ["nul \x00"], "NUL", id="nul"),
        pytest.param(
            SIGNED_APP, [{"MsgType": "TIMTextElem", "MsgContent": {}}], "needs Text", id="json"
        ),
        pytest.param(UNCONFIGURED_APP, ["hi"], "SECRET_KEY is needed", id="no-secret-key"),
        pytest.param(1400009999, ["hi"], "is not configured", id="unknown-app"),
    ],
)
def test_refused_before_any_call(
    tencent: HTTPServer, sdk_app_id: int, elements: list[Any], match: str
) -> None:
    with pytest.raises(SendError, match=match):
        send_message(sdk_app_id, ACCOUNT, elements)
    assert tencent.log == []


def test_a_message_of_twelve_k_exactly_is_sent(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply())
    overhead = len(json.dumps([Text("x").as_wire()], separators=(",", ":"))) - 1
    send_message(SIGNED_APP, ACCOUNT, ["x" * (12 * 1024 - overhead)])
    assert len(tencent.log) == 1


# ------------------------------------------------------------------ stored once


def test_stored_at_once_marked_as_sent_from_here(
    tencent: HTTPServer, signal_log: SignalLog, django_capture_on_commit_callbacks: Any
) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply("71_1_1717000000"))
    with django_capture_on_commit_callbacks(execute=True):
        message = send_message(SIGNED_APP, ACCOUNT, ["red packet"], sent_by="admin:alice")
    stored = OfficialAccountMessage.objects.get()
    assert stored.pk == message.pk
    assert (stored.msg_key, stored.sent_by, stored.opt_platform) == (
        "71_1_1717000000",
        "admin:alice",
        "RESTAPI",
    )
    assert stored.sent_at is not None
    assert stored.msg_time.timestamp() == MSG_TIME
    assert stored.text_content == "red packet"
    assert [call["message"].pk for call in signal_log.received] == [stored.pk]


def test_the_send_first_then_its_callback(
    tencent: HTTPServer,
    signal_log: SignalLog,
    post_callback: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply("80_1_1717000000"))
    with django_capture_on_commit_callbacks(execute=True):
        send_message(SIGNED_APP, ACCOUNT, ["red packet"], sent_by="api:deploy")
    response = post_callback(after_send_callback("80_1_1717000000"))
    assert response.status_code == 200
    stored = OfficialAccountMessage.objects.get()
    assert stored.sent_by == "api:deploy"
    assert CallbackDelivery.objects.get().outcome == CallbackDelivery.Outcome.DUPLICATE
    assert len(signal_log.received) == 1


def test_the_callback_first_then_the_sends_answer(
    tencent: HTTPServer,
    signal_log: SignalLog,
    post_callback: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Tencent may call back before its answer to the send reaches us.
    post_callback(after_send_callback("81_1_1717000000"))
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply("81_1_1717000000"))
    with django_capture_on_commit_callbacks(execute=True):
        message = send_message(SIGNED_APP, ACCOUNT, ["red packet"], sent_by="api:deploy")
    stored = OfficialAccountMessage.objects.get()
    assert message.pk == stored.pk
    assert (stored.sent_by, stored.opt_platform) == ("api:deploy", "RESTAPI")
    assert stored.sent_at is not None
    assert CallbackDelivery.objects.get().outcome == CallbackDelivery.Outcome.ACCEPTED
    assert len(signal_log.received) == 1


def test_the_typed_keywords_are_the_functions_keywords() -> None:
    """The typings of ``send_message`` (``SendOptions``, with ``send_at`` on each overload) list
    the keywords the function takes, and ``MessageOptions`` those that ``outgoing`` takes: one
    added to the function and not to its typings would not be checked in callers."""

    def keywords(function: Callable[..., Any]) -> set[str]:
        parameters = inspect.signature(function).parameters.values()
        return {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}

    assert keywords(send_message) == set(SendOptions.__annotations__) | {"send_at"}
    assert keywords(outgoing) == set(MessageOptions.__annotations__)
