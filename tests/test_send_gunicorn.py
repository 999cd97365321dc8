"""End to end, with the example project under gunicorn and a local server playing Tencent: a
send through the REST API, the after-send callback Tencent makes for it, then a recall and its
withdrawal callback. One row throughout, one ``message_received``, one ``message_recalled``;
and the same when the callback arrives before the send's answer is stored."""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.webhook.wire import AFTER_MSG_WITHDRAW
from tests.conftest import callback_query, sample, with_other_processes
from tests.gunicorn_process import ASGI, CALLBACK_PATH, gunicorn, project_environment
from tests.tencent import ACCOUNT, RECALL_PATH, SECRET_KEY, recall_reply
from tests.test_send import SEND_PATH, after_send_callback, send_reply

pytestmark = with_other_processes("gunicorn sharing the test database")

PASSWORD = "send-e2e-password"


@dataclass
class Project:
    base: str
    received: Path
    recalled: Path

    def lines(self, path: Path, msg_key: str) -> int:
        text = path.read_text() if path.exists() else ""
        return text.splitlines().count(f"{ACCOUNT} {msg_key}")


@pytest.fixture
def project(tmp_path: Path, httpserver: HTTPServer) -> Iterator[Project]:
    # Hashed as the example project checks it (the tests' settings use a faster hasher).
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher"]):
        user = User.objects.create_user("deploy", password=PASSWORD)
    for codename in ("send_officialaccountmessage", "recall_officialaccountmessage"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    received, recalled = tmp_path / "received.txt", tmp_path / "recalled.txt"
    env = project_environment(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.gunicorn_settings",
        SIGNAL_COUNT_FILE=str(received),
        SIGNAL_RECALL_FILE=str(recalled),
        TENCENT_CHAT_SECRET_KEY=SECRET_KEY,
        TENCENT_CHAT_API_BASE_URL=httpserver.url_for("/"),
        OFFICIALACCOUNT_API_BASIC_AUTH="1",
    )
    with gunicorn((*ASGI, "--workers", "2"), env) as port:
        yield Project(f"http://127.0.0.1:{port}", received, recalled)


def call(url: str, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def api(project: Project, path: str, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    token = base64.b64encode(f"deploy:{PASSWORD}".encode()).decode()
    url = f"{project.base}/api/officialaccount/{path}"
    return call(url, body, Authorization=f"Basic {token}", **headers)


def callback(project: Project, body: dict[str, Any], command: str | None = None) -> None:
    query = callback_query() if command is None else callback_query(command=command)
    status, answer = call(f"{project.base}{CALLBACK_PATH}?{urlencode(query)}", body)
    assert (status, answer["ErrorCode"]) == (200, 0)


def withdrawal(msg_key: str) -> dict[str, Any]:
    body = sample("withdraw")
    body["WithdrawMsgList"] = [{"MsgKey": msg_key}]
    return body


def send(project: Project, text: str, key: str) -> tuple[int, Any]:
    body = {"sdk_app_id": 1400000000, "official_account": ACCOUNT, "text": text}
    return api(project, "send/", body, **{"Idempotency-Key": key})


def recall_and_withdraw(project: Project, msg_key: str) -> None:
    status, answer = api(
        project,
        "recall/",
        {"sdk_app_id": 1400000000, "official_account": ACCOUNT, "msg_keys": [msg_key]},
    )
    assert status == 200, answer
    assert answer["results"][0]["status"] == "recalled"
    callback(project, withdrawal(msg_key), AFTER_MSG_WITHDRAW)  # Tencent's word, afterwards


def assert_once(project: Project, msg_key: str) -> None:
    message = OfficialAccountMessage.objects.get(msg_key=msg_key)
    assert message.sent_by == "api:deploy"
    assert message.recalled_at is not None
    assert project.lines(project.received, msg_key) == 1
    assert project.lines(project.recalled, msg_key) == 1


def test_send_then_callback_then_recall(project: Project, httpserver: HTTPServer) -> None:
    key = "90_1_1717000000"
    httpserver.expect_request(SEND_PATH).respond_with_json(send_reply(key))
    httpserver.expect_request(RECALL_PATH).respond_with_json(recall_reply({key: 0}))

    status, answer = send(project, "red packet", "e2e-1")
    assert status == 201, answer
    assert (answer["msg_key"], answer["msg_time"]) == (key, "2024-05-29T16:26:40Z")
    assert send(project, "red packet", "e2e-1") == (201, answer)  # a retried request
    callback(project, after_send_callback(key))
    recall_and_withdraw(project, key)

    assert OfficialAccountMessage.objects.count() == 1
    assert CallbackDelivery.objects.get(command=sample("text")["CallbackCommand"]).outcome == (
        CallbackDelivery.Outcome.DUPLICATE
    )
    assert_once(project, key)
    assert len([entry for entry in httpserver.log if entry[0].path == SEND_PATH]) == 1


def test_the_callback_before_the_sends_answer(project: Project, httpserver: HTTPServer) -> None:
    key = "91_1_1717000000"
    # Tencent calls back while its answer to the send is still on the way.
    called_back = threading.Event()

    def send_answer(request: Request) -> Response:
        callback(project, after_send_callback(key))
        called_back.set()
        return Response(json.dumps(send_reply(key)), content_type="application/json")

    httpserver.expect_request(SEND_PATH).respond_with_handler(send_answer)
    httpserver.expect_request(RECALL_PATH).respond_with_json(recall_reply({key: 0}))

    status, answer = send(project, "red packet", "e2e-2")
    assert status == 201, answer
    assert called_back.is_set()
    recall_and_withdraw(project, key)

    assert OfficialAccountMessage.objects.count() == 1
    assert CallbackDelivery.objects.get(command=sample("text")["CallbackCommand"]).outcome == (
        CallbackDelivery.Outcome.ACCEPTED
    )
    assert_once(project, key)
