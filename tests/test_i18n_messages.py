"""Translations beyond the admin: the REST API's errors, the system checks, the management
commands' help and output speak the active language; the webhook's ErrorInfo stays English for
Tencent's logs; and our words win over the catalogues of the apps listed before ours."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation
from pytest_httpserver import HTTPServer

from officialaccount_webhook import checks
from officialaccount_webhook.api.budget import QueryTimeout
from officialaccount_webhook.compose.send import SendError, send_message
from officialaccount_webhook.management.translated_help import TranslatedCommand
from officialaccount_webhook.messages.recall import recall_messages
from officialaccount_webhook.messages.recall_check import check_recalls
from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.webhook.reprocess import refused, reprocess
from tests.conftest import callback_query, sample
from tests.settings import SIGNED_APP
from tests.tencent import ACCOUNT
from tests.test_admin import create
from tests.test_api_accounts import client_with
from tests.test_i18n import CHINESE, MESSAGES, catalogue, parse_po
from tests.test_recall_budget import HISTORY_PATH, UNKNOWN_SINCE, history, store, store_unknown
from tests.test_recall_budget import conf as recall_conf
from tests.test_send import tencent_conf
from tests.test_send_admin import COMPOSE

API = "/api/officialaccount/"
CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese(text: str) -> bool:
    return bool(CJK.search(text))


# ------------------------------------------------------------------ the REST API


@pytest.mark.django_db
def test_an_api_error_speaks_chinese_to_a_chinese_client() -> None:
    client = client_with("view_officialaccountmessage")
    answer = client.get(f"{API}messages/", {"page_size": "0"}, **CHINESE)
    assert answer.status_code == 400
    # The parameter's name is the machine's part and stays; the sentence is translated.
    assert answer.json() == {"page_size": "请输入 1 到 500 之间的整数。"}
    english = client.get(f"{API}messages/", {"page_size": "0"})
    assert english.json() == {"page_size": "Enter a whole number from 1 to 500."}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"state": "asleep"}, "state", "请选择以下之一：active, full, destroyed。"),  # noqa: RUF001
        ({"sdk_app_id": "x"}, "sdk_app_id", "请输入整数。"),
        ({"name": "a\x00b"}, "name", "不能包含 NUL 字符。"),
        ({"name": "n" * 201}, "name", "请确保该值最多 200 个字符。"),
    ],
)
def test_the_accounts_apis_400s_in_chinese(params: dict[str, str], field: str, words: str) -> None:
    client = client_with("view_officialaccount")
    answer = client.get(f"{API}accounts/", params, **CHINESE)
    assert answer.status_code == 400
    assert answer.json() == {field: words}


@pytest.mark.django_db
def test_the_send_apis_refusal_in_chinese_keeps_its_header_name() -> None:
    client = client_with("send_officialaccountmessage")
    answer = client.post(f"{API}send/", "{}", content_type="application/json", **CHINESE)
    assert answer.status_code == 400
    assert answer.json() == {
        "detail": "请发送 Idempotency-Key 请求头：1 到 255 个可打印字符。"  # noqa: RUF001
    }


def test_an_errors_default_text_is_translated_when_raised() -> None:
    """Class-level texts (DRF's default_detail) are lazy: the language of the request, not of
    the import, decides."""
    with translation.override("zh-hans"):
        assert str(QueryTimeout().detail).startswith("查询运行时间超过了服务器允许的上限")
    assert str(QueryTimeout().detail).startswith("The query ran longer")


@pytest.mark.django_db
def test_the_browsable_apis_filter_button_is_ours() -> None:
    client = client_with("view_officialaccountmessage")
    page = client.get(f"{API}messages/", HTTP_ACCEPT="text/html", **CHINESE).text
    assert '<button class="btn btn-primary" type="submit">筛选</button>' in page


# ------------------------------------------------------------------ refusals of the send and recall


IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.mark.django_db
def test_the_send_apis_400_detail_in_chinese(httpserver: HTTPServer) -> None:
    """A SendError is said in the request's language, with the backend's name as configured."""
    client = client_with("send_officialaccountmessage")
    body = {"sdk_app_id": SIGNED_APP, "official_account": ACCOUNT, "text": "hi"}
    body["send_at"] = "2099-01-01T09:00:00Z"
    conf = tencent_conf(httpserver)
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf, TASKS=IMMEDIATE_TASKS):
        answer = client.post(
            f"{API}send/",
            json.dumps(body),
            content_type="application/json",
            headers={"Idempotency-Key": "k-1"},
            **CHINESE,
        )
    assert answer.status_code == 400
    said = (
        "任务后端 'default' 无法稍后运行任务（supports_defer）；"  # noqa: RUF001
        "定时发送需要能这样做的后端，例如 django-tasks-db 的后端。"  # noqa: RUF001
    )
    assert answer.json() == {"detail": said}
    assert httpserver.log == []


def test_a_send_refused_before_any_call_in_each_language(httpserver: HTTPServer) -> None:
    with translation.override("zh-hans"), pytest.raises(SendError) as refused:
        send_message(SIGNED_APP, "", ["hi"])
    assert str(refused.value) == "公众号必须为 1 到 128 个字符。"
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK=tencent_conf(httpserver)),
        translation.override("ja"),
        pytest.raises(SendError) as refused,
    ):
        send_message(SIGNED_APP, ACCOUNT, ["hi"], random=-1)
    assert str(refused.value) == "Random は 0 から 4294967295 の間にしてください。"
    assert httpserver.log == []
    with pytest.raises(SendError, match=r"^sent_by is at most 150 characters\.$"):
        send_message(SIGNED_APP, ACCOUNT, ["hi"], sent_by="x" * 151)


@pytest.mark.django_db
def test_a_recall_refusal_in_chinese() -> None:
    client = client_with("recall_officialaccountmessage")
    body = {"sdk_app_id": SIGNED_APP, "official_account": ACCOUNT, "msg_keys": ["71_1_1"]}
    body["reason"] = "撤回" * 20  # 40 characters, 120 bytes
    answer = client.post(
        f"{API}recall/", json.dumps(body), content_type="application/json", **CHINESE
    )
    assert answer.status_code == 400
    assert answer.json() == {"reason": ["原因为 120 字节；腾讯云最多接受 100 字节。"]}  # noqa: RUF001


@pytest.mark.django_db
def test_a_recalls_per_key_detail_in_chinese(httpserver: HTTPServer) -> None:
    create("71_1_1", when=datetime(2026, 3, 1, tzinfo=UTC), account=ACCOUNT)
    OfficialAccountMessage.objects.update(recalled_at=datetime(2026, 3, 2, tzinfo=UTC))
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK=tencent_conf(httpserver)),
        translation.override("zh-hans"),
    ):
        [outcome] = recall_messages([(SIGNED_APP, ACCOUNT, "71_1_1")])
    # The status is the API's word and stays; the detail is for a person.
    assert (outcome.status, outcome.detail) == ("already_recalled", "此前已撤回；未发送任何请求")  # noqa: RUF001
    assert httpserver.log == []


@pytest.mark.django_db
def test_reprocess_says_what_is_still_refused_in_chinese() -> None:
    kept = {"command": "", "outcome": "refused", "status_code": 400, "query_string": ""}
    anonymous = CallbackDelivery.objects.create(**kept, sdk_app_id=None, raw_body=b"{}")
    broken = CallbackDelivery.objects.create(**kept, sdk_app_id=SIGNED_APP, raw_body=b"{not json")
    with translation.override("zh-hans"):
        report = reprocess(refused())
    # The parser's reason stays English, as the webhook's ErrorInfo does.
    no_app, not_json = report.still_refused
    assert no_app == f"投递记录 {anonymous.pk}：没有 SDKAppID"  # noqa: RUF001
    assert not_json.startswith(f"投递记录 {broken.pk}：the body is not valid JSON (")  # noqa: RUF001


# ------------------------------------------------------------------ element errors


ALL_TYPES = (
    "TIMTextElem, TIMFaceElem, TIMLocationElem, TIMCustomElem, "
    "TIMImageElem, TIMSoundElem, TIMFileElem, TIMVideoFileElem"
)
# One refusal from each place that says what Tencent would refuse: a field's check
# (compose/wire.py), an element as JSON and an image (compose/elements.py), the whole message
# (compose/body.py). Tencent's names stay as Tencent spells them in both languages.
ELEMENT_ERRORS = [
    pytest.param(
        {"elements": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": 5}}]},
        "TIMTextElem.Text 必须是字符串，而不是 int。",  # noqa: RUF001
        "TIMTextElem.Text must be a string, not int.",
        id="wire-type",
    ),
    pytest.param(
        {
            "elements": [
                {"MsgType": "TIMLocationElem", "MsgContent": {"Latitude": 91, "Longitude": 0}}
            ]
        },
        "TIMLocationElem.Latitude 必须在 -90 到 90 之间，而不是 91。",  # noqa: RUF001
        "TIMLocationElem.Latitude must be between -90 and 90, not 91.",
        id="wire-bounds",
    ),
    pytest.param(
        {"elements": [{"MsgType": "TIMFaceElem", "MsgContent": {"Data": "x"}}]},
        "TIMFaceElem 缺少必需的字段：Index。",  # noqa: RUF001
        "TIMFaceElem needs Index.",
        id="wire-missing",
    ),
    pytest.param(
        {"elements": [{"MsgType": "X"}]},
        f"MsgType 必须是 {ALL_TYPES} 之一，而不是 'X'。",  # noqa: RUF001
        f"MsgType must be one of {ALL_TYPES}, not 'X'.",
        id="elements-msgtype",
    ),
    pytest.param(
        {"elements": [{"MsgType": "TIMImageElem", "MsgContent": {"ImageInfoArray": []}}]},
        "TIMImageElem.ImageInfoArray 至少需要一个 ImageInfo。",
        "TIMImageElem.ImageInfoArray needs at least one ImageInfo.",
        id="elements-image",
    ),
    pytest.param(
        {"elements": []},
        "消息至少需要一个元素。",
        "A message needs at least one element.",
        id="body-empty",
    ),
    pytest.param(
        {"elements": ["hi"], "online_only": "yes"},
        "online_only 必须为 True 或 False。",
        "online_only must be True or False.",
        id="body-option",
    ),
]


@pytest.mark.parametrize(("call", "chinese_text", "english_text"), ELEMENT_ERRORS)
def test_an_element_error_is_said_in_the_active_language(
    httpserver: HTTPServer, call: dict[str, Any], chinese_text: str, english_text: str
) -> None:
    """Translated when raised: the language active then decides, not the one at import."""
    options = {key: value for key, value in call.items() if key != "elements"}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=tencent_conf(httpserver)):
        with translation.override("zh-hans"), pytest.raises(SendError) as refused:
            send_message(SIGNED_APP, ACCOUNT, call["elements"], **options)
        assert str(refused.value) == chinese_text
        with translation.override(None), pytest.raises(SendError) as refused:
            send_message(SIGNED_APP, ACCOUNT, call["elements"], **options)
        assert str(refused.value) == english_text  # no language active: the sources' English
    assert httpserver.log == []


@pytest.mark.django_db
def test_an_element_error_in_the_send_apis_400_speaks_the_clients_language(
    httpserver: HTTPServer,
) -> None:
    client = client_with("send_officialaccountmessage")
    elements = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "a\x00b"}}]
    body = {"sdk_app_id": SIGNED_APP, "official_account": ACCOUNT, "elements": elements}
    answers = {}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=tencent_conf(httpserver)):
        for key, language in (("k-zh", CHINESE), ("k-en", {})):
            answers[key] = client.post(
                f"{API}send/",
                json.dumps(body),
                content_type="application/json",
                headers={"Idempotency-Key": key},
                **language,
            )
    assert answers["k-zh"].status_code == answers["k-en"].status_code == 400
    assert answers["k-zh"].json() == {"detail": "TIMTextElem.Text 不能包含 NUL 字符。"}
    assert answers["k-en"].json() == {
        "detail": "TIMTextElem.Text must not contain a NUL character."
    }
    assert httpserver.log == []


@pytest.mark.django_db
def test_an_element_error_in_the_admins_compose_form_in_chinese(
    httpserver: HTTPServer, admin_client: Client
) -> None:
    fields = {"sdk_app_id": SIGNED_APP, "account_id": ACCOUNT, "text": "x" * 12_300}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=tencent_conf(httpserver)):
        page = admin_client.post(COMPOSE, {**fields, "preview": "Preview"}, **CHINESE).text
    assert re.search(r"消息为 \d+ 字节；腾讯云最多接受 12288 字节（12 K）。", page)  # noqa: RUF001
    assert "Tencent takes at most" not in page
    assert httpserver.log == []


# ------------------------------------------------------------------ checking a recall again


@pytest.mark.django_db
def test_a_recall_checks_details_in_chinese(httpserver: HTTPServer) -> None:
    """Each verdict's detail is for a person; the status stays the API's word."""
    httpserver.expect_request(HISTORY_PATH).respond_with_handler(history([9, 5], [3]))
    store_unknown()
    store("7_1_1", recall_unknown_at=UNKNOWN_SINCE, recalled_at=UNKNOWN_SINCE)
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK=recall_conf(httpserver.url_for("/"))),
        translation.override("zh-hans"),
    ):
        outcomes = check_recalls(OfficialAccountMessage.objects.order_by("-msg_key"))
    assert [(o.msg_key, o.status, o.detail) for o in outcomes] == [
        ("7_1_1", "already_recalled", "在此期间已被撤回"),
        ("5_1_1", "failed", "仍在腾讯云的历史消息中：撤回未执行；请重新撤回"),  # noqa: RUF001
        ("3_1_1", "recalled", "腾讯云的历史消息显示其已撤回"),
        ("1_1_1", "unknown", "仍然未知：在已读取的腾讯云历史消息范围内未找到"),  # noqa: RUF001
    ]


@pytest.mark.django_db
def test_the_recall_commands_check_in_chinese(httpserver: HTTPServer) -> None:
    httpserver.expect_request(HISTORY_PATH).respond_with_handler(history([9, 5], [3]))
    store_unknown()
    out = StringIO()
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK=recall_conf(httpserver.url_for("/"))),
        translation.override("zh-hans"),
        pytest.raises(CommandError),
    ):
        call_command("officialaccount_recall", "--check", stdout=out)
    assert "5_1_1: failed (仍在腾讯云的历史消息中" in out.getvalue()
    assert "1_1_1: unknown (仍然未知：" in out.getvalue()  # noqa: RUF001
    assert "Tencent's history" not in out.getvalue()


# ------------------------------------------------------------------ system checks


@override_settings(OFFICIALACCOUNT_WEBHOOK={"APPS": {1: {}}})
def test_a_system_check_speaks_the_active_language() -> None:
    with translation.override("zh-hans"):
        [message] = [m for m in checks.check_settings() if m.id == "officialaccount_webhook.W002"]
    assert message.msg == (
        "腾讯云即时通信应用 1 没有回调令牌，也不接受未签名的回调：发给它的每个回调都会被拒绝。"  # noqa: RUF001
    )
    assert "%(setting)s['APPS'][%(app)s]" not in message.hint
    assert "OFFICIALACCOUNT_WEBHOOK['APPS'][1]['CALLBACK_TOKENS']" in message.hint
    assert chinese(message.hint)
    [english] = [m for m in checks.check_settings() if m.id == "officialaccount_webhook.W002"]
    assert english.msg.startswith("Tencent Chat app 1 has no callback token")


@override_settings(
    OFFICIALACCOUNT_WEBHOOK={"APPS": {1: {"CALLBACK_TOKENS": ["t"]}}, "SIGNAL_MODE": "task"},
    TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["a"]}},
)
def test_a_task_mode_check_in_chinese_names_the_queue() -> None:
    with translation.override("zh-hans"):
        [message] = [m for m in checks.check_settings() if m.id == "officialaccount_webhook.W011"]
    assert "QUEUES 不包含 OFFICIALACCOUNT_WEBHOOK['TASK_QUEUE']" in message.msg
    assert "['a']" in message.hint and chinese(message.hint)


# ------------------------------------------------------------------ management commands


def our_commands() -> list[str]:
    return sorted(name for name, app in get_commands().items() if app == "officialaccount_webhook")


@pytest.mark.parametrize("name", our_commands())
def test_every_commands_help_is_translated(name: str) -> None:
    command = load_command_class("officialaccount_webhook", name)
    assert isinstance(command, TranslatedCommand)
    with translation.override("zh-hans"):
        text = command.create_parser("manage.py", name).format_help()
    assert chinese(text)
    assert str(command.help) not in " ".join(text.split())
    assert not chinese(command.create_parser("manage.py", name).format_help())


def test_a_commands_argument_help_is_translated() -> None:
    command = load_command_class("officialaccount_webhook", "officialaccount_export")
    with translation.override("zh-hans"):
        text = command.create_parser("manage.py", "officialaccount_export").format_help()
    assert "仅已撤回的消息，或仅其他消息。" in text  # noqa: RUF001
    # The prune command's help has a number in it (IDEMPOTENCY_KEY_RETENTION).
    prune = load_command_class("officialaccount_webhook", "officialaccount_prune")
    with translation.override("zh-hans"):
        text = prune.create_parser("manage.py", "officialaccount_prune").format_help()
    assert "早于 7 天的发送 API 幂等键" in " ".join(text.split())


@pytest.mark.django_db
def test_a_commands_output_speaks_the_active_language() -> None:
    create("7_1_1700000000", when=datetime(2026, 3, 1, tzinfo=UTC), account="@TOA#_A")
    create("9_1_1700000001", when=datetime(2026, 3, 1, tzinfo=UTC), account="@TOA#_A")
    out = StringIO()
    with translation.override("zh-hans"):
        call_command("officialaccount_gaps", sdkappid=SIGNED_APP, account="@TOA#_A", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "已存储 2 条消息，序列号 7 至 9。"  # noqa: RUF001
    assert lines[1].endswith("缺失 1 个：8")  # noqa: RUF001 (the ranges stay as written)


def test_a_commands_error_speaks_the_active_language() -> None:
    with translation.override("zh-hans"), pytest.raises(CommandError) as refused:
        call_command("officialaccount_prune", batch_size=0)
    assert str(refused.value) == "--batch-size 至少为 1。"
    with pytest.raises(CommandError, match=r"^--batch-size must be at least 1\.$"):
        call_command("officialaccount_prune", batch_size=0)


# ------------------------------------------------------------------ the webhook's ErrorInfo


@pytest.mark.parametrize(
    ("query", "body", "info"),
    [
        (None, b"{not json", "the body is not valid JSON"),
        (callback_query(token="wrong-token"), None, "authentication failed"),
    ],
)
def test_the_webhooks_error_info_stays_english(
    post_callback: Any, query: dict[str, str] | None, body: bytes | None, info: str
) -> None:
    """Tencent logs ErrorInfo; a person reads it there, in English, whatever the language."""
    with translation.override("zh-hans"):
        answer = post_callback(
            body if body is not None else sample("text"), query, **{"Accept-Language": "zh-hans"}
        )
    assert answer.status_code in (400, 401, 403)
    assert info in answer.json()["ErrorInfo"]
    assert answer.json()["ErrorInfo"].isascii()


# ------------------------------------------------------------------ ours over Django's words


@pytest.mark.django_db
def test_the_admins_filter_button_says_ours(admin_client: Client) -> None:
    create("key-1", when=datetime(2026, 3, 1, 8, 0, tzinfo=UTC), account="@TOA#_shop")
    page = admin_client.get(reverse(MESSAGES), **CHINESE).text
    # Django admin's catalogue says 过滤器 ("filter", the noun) for its msgid "Filter"; the button
    # has a context of its own, so it says the verb.
    assert '<button type="submit" class="button">筛选</button>' in page
    page = admin_client.get(reverse(MESSAGES)).text
    assert '<button type="submit" class="button">Filter</button>' in page


# The msgids another app's catalogue answers first, on purpose: the same words as the rest of
# Django admin's pages ("All dates", the filters' "By …"). Words of ours that Django's auth or
# DRF's catalogue says otherwise ("active", "content") have a context of their own.
SHADOWED = {"All dates", " By %(filter_title)s "}


def test_no_other_catalogue_answers_for_our_chinese_words() -> None:
    """An app listed before ours in INSTALLED_APPS (admin, auth, DRF) answers first for a msgid
    it has: a word of ours that it says otherwise needs a context (pgettext)."""
    shadowed = set()
    with translation.override("zh-hans"):
        for entry in parse_po(catalogue("zh_Hans")):
            if entry.plural is not None:
                continue
            if entry.context is None:
                said = translation.gettext(entry.msgid)
            else:
                said = translation.pgettext(entry.context, entry.msgid)
            if said != entry.msgstr[0]:
                shadowed.add(entry.msgid)
    assert shadowed <= SHADOWED, sorted(shadowed - SHADOWED)
