"""``POST send/`` with its idempotency key, and the ``officialaccount_send`` command, against the
local server that plays Tencent."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django_tasks_db.models import DBTaskResult
from pytest_httpserver import HTTPServer

from officialaccount_webhook.api.send import _fingerprint
from officialaccount_webhook.models import (
    AppGrant,
    OfficialAccountMessage,
    ScheduledSend,
    SendIdempotencyKey,
)
from tests.settings import SIGNED_APP
from tests.tencent import ACCOUNT, error_reply
from tests.test_send import (
    SEND_PATH,
    UNCONFIGURED_APP,
    answering,
    bodies,
    send_reply,
    tencent_fixture,  # noqa: F401  (the "tencent" fixture)
)

pytestmark = pytest.mark.django_db

URL = "/api/officialaccount/send/"
DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def api_client(*codenames: str, username: str = "deploy") -> Client:
    user = User.objects.create_user(username, password="x")
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, body: dict[str, Any], key: str | None = "key-1") -> Any:
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(URL, json.dumps(body), content_type="application/json", headers=headers)


BODY = {"sdk_app_id": SIGNED_APP, "official_account": ACCOUNT, "text": "Release 2.0 is out"}


def test_sends_and_answers_msgkey_and_msgtime(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply("71_1_1717000000"))
    response = post(api_client("send_officialaccountmessage"), BODY)
    assert response.status_code == 201, response.content
    message = OfficialAccountMessage.objects.get()
    assert response.json() == {
        "status": "sent",
        "msg_key": "71_1_1717000000",
        "msg_time": "2024-05-29T16:26:40Z",
        "message_id": message.pk,
    }
    assert message.sent_by == "api:deploy"
    [body] = bodies(tencent)
    assert body["MsgBody"] == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": BODY["text"]}}]


def test_a_retried_request_sends_once_and_gets_the_first_answer(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply())
    client = api_client("send_officialaccountmessage")
    first = post(client, BODY)
    again = post(client, BODY)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(tencent.log) == 1
    assert OfficialAccountMessage.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply())
    client = api_client("send_officialaccountmessage")
    assert post(client, BODY).status_code == 201
    response = post(client, {**BODY, "text": "something else"})
    assert response.status_code == 422
    assert len(tencent.log) == 1


def test_a_key_whose_send_is_under_way_answers_409(tencent: HTTPServer) -> None:
    client = api_client("send_officialaccountmessage")
    response = post(client, {**BODY, "sdk_app_id": "not a number"})
    assert response.status_code == 400  # validation keeps no key
    user = User.objects.get(username="deploy")
    SendIdempotencyKey.objects.create(user=user, key="key-1", request_hash=_fingerprint(BODY))
    assert post(client, BODY).status_code == 409
    assert tencent.log == []


def test_keys_are_per_caller(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_handler(
        answering(send_reply("1_1_1"), send_reply("2_1_1"))
    )
    first = post(api_client("send_officialaccountmessage", username="one"), BODY)
    second = post(api_client("send_officialaccountmessage", username="two"), BODY)
    assert first.json()["msg_key"] == "1_1_1"
    assert second.json()["msg_key"] == "2_1_1"


def test_a_refusal_frees_the_key_for_a_retry(tencent: HTTPServer) -> None:
    tencent.expect_ordered_request(SEND_PATH).respond_with_json(error_reply(10010, "no account"))
    tencent.expect_ordered_request(SEND_PATH).respond_with_json(send_reply())
    client = api_client("send_officialaccountmessage")
    refused = post(client, BODY)
    assert refused.status_code == 502
    assert refused.json()["error_code"] == 10010
    assert "no account" in refused.json()["detail"]
    assert not OfficialAccountMessage.objects.exists()
    assert post(client, BODY).status_code == 201


def test_a_rate_limit_is_a_429(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(error_reply(60019, "too frequent"))
    response = post(api_client("send_officialaccountmessage"), BODY)
    assert response.status_code == 429
    assert response.json()["error_code"] == 60019
    assert not SendIdempotencyKey.objects.exists()


def test_a_maybe_sent_answer_is_kept_for_the_key(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json({"ActionStatus": "OK", "ErrorCode": 0})
    client = api_client("send_officialaccountmessage")
    first = post(client, BODY)
    assert first.status_code == 504
    assert first.json()["maybe_sent"] is True
    assert post(client, BODY).status_code == 504
    assert len(tencent.log) == 1  # never sent a second time


@pytest.mark.parametrize(
    ("body", "key", "status"),
    [
        pytest.param(BODY, None, 400, id="no-key"),
        pytest.param(BODY, "x" * 256, 400, id="long-key"),
        pytest.param({**BODY, "elements": [{"MsgType": "TIMTextElem"}]}, "k", 400, id="both"),
        pytest.param({k: v for k, v in BODY.items() if k != "text"}, "k", 400, id="neither"),
        pytest.param(
            {**{k: v for k, v in BODY.items() if k != "text"}, "elements": [{"MsgType": "X"}]},
            "k",
            400,
            id="bad-element",
        ),
        pytest.param({**BODY, "sdk_app_id": UNCONFIGURED_APP}, "k", 400, id="no-secret-key"),
    ],
)
def test_refused_before_any_call(
    tencent: HTTPServer, body: dict[str, Any], key: str | None, status: int
) -> None:
    response = post(api_client("send_officialaccountmessage"), body, key)
    assert response.status_code == status, response.content
    assert tencent.log == []
    assert not SendIdempotencyKey.objects.exists()


def test_elements_as_json(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply())
    elements = [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hi"}},
        {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{}", "Desc": "push"}},
    ]
    body = {**{k: v for k, v in BODY.items() if k != "text"}, "elements": elements}
    body |= {"online_only": True, "cloud_custom_data": "cc", "offline_push_info": {"Title": "T"}}
    assert post(api_client("send_officialaccountmessage"), body).status_code == 201
    [sent] = bodies(tencent)
    assert sent["MsgBody"] == elements
    assert (sent["OnlineOnlyFlag"], sent["CloudCustomData"], sent["OfflinePushInfo"]) == (
        1,
        "cc",
        {"Title": "T"},
    )


def test_sending_needs_its_own_permission(tencent: HTTPServer) -> None:
    response = post(
        api_client("view_officialaccountmessage", "recall_officialaccountmessage"), BODY
    )
    assert response.status_code == 403
    assert post(Client(), BODY).status_code in (401, 403)
    assert tencent.log == []


def test_only_within_the_callers_apps(tencent: HTTPServer) -> None:
    client = api_client("send_officialaccountmessage")
    AppGrant.objects.create(sdk_app_id=UNCONFIGURED_APP, user=User.objects.get())
    assert post(client, BODY).status_code == 403
    assert tencent.log == []


def test_a_scheduled_send(tencent: HTTPServer) -> None:
    with override_settings(TASKS=DB_TASKS):
        response = post(
            api_client("send_officialaccountmessage"), {**BODY, "send_at": "2030-01-01T09:00:00Z"}
        )
    assert response.status_code == 202, response.content
    row = ScheduledSend.objects.get()
    assert response.json() == {
        "status": "scheduled",
        "scheduled_send_id": row.pk,
        "send_at": "2030-01-01T09:00:00Z",
    }
    assert (row.status, row.requested_by) == ("scheduled", "api:deploy")
    assert DBTaskResult.objects.get().run_after.year == 2030
    assert tencent.log == []


def test_the_schema_describes_the_endpoint() -> None:
    response = api_client("view_officialaccountmessage").get("/api/schema/", {"format": "json"})
    operation = response.json()["paths"][URL]["post"]
    assert {param["name"] for param in operation["parameters"]} == {"Idempotency-Key"}
    assert {"201", "202", "409", "422"} <= set(operation["responses"])


# ------------------------------------------------------------------ the command


def test_command_sends_and_prints_msgkey_and_msgtime(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply("71_1_1717000000"))
    out = StringIO()
    call_command(
        "officialaccount_send",
        *("--sdkappid", str(SIGNED_APP), "--account", ACCOUNT, "--text", "hello"),
        *("--custom-data", "cc", "--online-only"),
        stdout=out,
    )
    assert out.getvalue().strip() == "MsgKey 71_1_1717000000 MsgTime 2024-05-29T16:26:40+00:00"
    [body] = bodies(tencent)
    assert (body["CloudCustomData"], body["OnlineOnlyFlag"]) == ("cc", 1)
    assert OfficialAccountMessage.objects.get().sent_by == "command"


def test_command_reads_elements_from_a_file(tencent: HTTPServer, tmp_path: Path) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(send_reply())
    elements = [{"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1}}]
    (tmp_path / "m.json").write_text(json.dumps(elements))
    call_command(
        "officialaccount_send",
        *("--sdkappid", str(SIGNED_APP), "--account", ACCOUNT),
        *("--elements", str(tmp_path / "m.json")),
        stdout=StringIO(),
    )
    assert bodies(tencent)[0]["MsgBody"] == elements


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param("{not json", "Cannot read", id="not-json"),
        pytest.param('{"MsgType": "TIMTextElem"}', "must hold a JSON list", id="not-list"),
        pytest.param('[{"MsgType": "TIMTextElem", "MsgContent": {}}]', "needs Text", id="bad"),
    ],
)
def test_command_refuses_a_bad_file(
    tencent: HTTPServer, tmp_path: Path, content: str, match: str
) -> None:
    (tmp_path / "m.json").write_text(content)
    with pytest.raises(CommandError, match=match):
        call_command(
            "officialaccount_send",
            *("--sdkappid", str(SIGNED_APP), "--account", ACCOUNT),
            *("--elements", str(tmp_path / "m.json")),
        )
    assert tencent.log == []


def test_command_reports_tencents_refusal(tencent: HTTPServer) -> None:
    tencent.expect_request(SEND_PATH).respond_with_json(error_reply(10004, "invalid parameter"))
    with pytest.raises(CommandError, match=r"invalid parameter \(ErrorCode 10004\)"):
        call_command(
            "officialaccount_send",
            *("--sdkappid", str(SIGNED_APP), "--account", ACCOUNT, "--text", "x"),
        )
    assert not OfficialAccountMessage.objects.exists()


def test_command_schedules(tencent: HTTPServer) -> None:
    out = StringIO()
    with override_settings(TASKS=DB_TASKS):
        call_command(
            "officialaccount_send",
            *("--sdkappid", str(SIGNED_APP), "--account", ACCOUNT, "--text", "later"),
            *("--send-at", "2030-01-01T09:00:00+00:00"),
            stdout=out,
        )
    row = ScheduledSend.objects.get()
    assert f"Scheduled send {row.pk} for 2030-01-01T09:00:00+00:00" in out.getvalue()
    assert row.requested_by == "command"
    assert tencent.log == []
