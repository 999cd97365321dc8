from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from officialaccount_webhook.webhook.body import parse_body, resolve_command
from officialaccount_webhook.webhook.events import (
    MessageWithdrawal,
    OtherCallback,
    SentMessage,
    parse_event,
)
from officialaccount_webhook.webhook.query import CallbackQuery
from officialaccount_webhook.webhook.wire import (
    AFTER_MSG_WITHDRAW,
    AFTER_SEND_MSG,
    MalformedCallback,
    failure_envelope,
    success_envelope,
)
from tests.conftest import element_samples, sample


def test_envelopes() -> None:
    assert success_envelope() == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
    assert failure_envelope(400, "MsgKey: required field is missing") == {
        "ActionStatus": "FAIL",
        "ErrorCode": 400,
        "ErrorInfo": "MsgKey: required field is missing",
    }


# ---------------------------------------------------------------- query string


def test_query_parsed_by_name_and_sign_redacted() -> None:
    query = CallbackQuery.from_query_string(
        "RequestTime=1717000000&Sign=abc123&OptPlatform=iOS&ClientIP=2001:db8::1"
        "&CallbackCommand=OfficialAccount.CallbackAfterSendMsg&SdkAppid=1400000000&contenttype=json"
    )
    assert query.sdk_app_id == 1400000000
    assert query.command == AFTER_SEND_MSG
    assert query.sign == "abc123"
    assert query.request_time == "1717000000"
    assert query.client_ip == "2001:db8::1"
    assert query.opt_platform == "iOS"
    assert "abc123" not in query.redacted_query
    assert "Sign=%5Bredacted%5D" in query.redacted_query
    assert "RequestTime=1717000000" in query.redacted_query


@pytest.mark.parametrize("name", ["sign", "SIGN", "%53ign"])
def test_sign_is_redacted_however_its_name_is_spelled(name: str) -> None:
    query = CallbackQuery.from_query_string(f"SdkAppid=1&{name}=secretsign")
    assert "secretsign" not in query.redacted_query


def test_metadata_of_the_wrong_shape_is_dropped_not_fatal() -> None:
    query = CallbackQuery.from_query_string(f"ClientIP=not-an-ip&OptPlatform={'x' * 65}")
    assert query.client_ip is None
    assert query.opt_platform == ""
    assert "not-an-ip" in query.redacted_query


def test_unusual_platform_spellings_are_kept() -> None:
    assert CallbackQuery.from_query_string("OptPlatform=IOS").opt_platform == "IOS"
    assert CallbackQuery.from_query_string("OptPlatform=Mac").opt_platform == "Mac"


# ---------------------------------------------------------------- body


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "the body is empty"),
        (b"not json", "the body is not valid JSON"),
        (b"\xff\xfe{}", "the body is not valid UTF-8"),
        (b"[1, 2]", "the body must be a JSON object, not an array"),
        (b'"text"', "the body must be a JSON object, not a string"),
        (b"null", "the body must be a JSON object, not null"),
        (b'{"a": NaN}', "NaN is not allowed"),
        (b'{"a": -Infinity}', "-Infinity is not allowed"),
        (b'{"a": 1e999}', "out of range"),
        (b'{"a": "nul \\u0000 inside"}', "a: contains a NUL character"),
        (b'{"a": ["\\ud800"]}', r"a\[0\]: contains an unpaired surrogate"),
        (b'{"a\\u0000": 1}', "contains a NUL character"),
        (b'{"a": ' + b"[" * 100 + b"]" * 100 + b"}", "nested too deeply"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"MsgKey": "1_1_1", "MsgKey": "2_1_2"}', "the key 'MsgKey' appears twice"),
        (b'{"a": {"b": 1, "b": 2}}', "the key 'b' appears twice"),
        (b'{"a": 1e-400}', "too small to keep"),
    ],
)
def test_bodies_that_cannot_be_stored_faithfully_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(MalformedCallback, match=message):
        parse_body(raw)


def test_body_with_byte_order_mark_is_accepted() -> None:
    assert parse_body(b"\xef\xbb\xbf" + json.dumps(sample("text")).encode()) == sample("text")


def test_non_ascii_text_survives() -> None:
    assert parse_body('{"t": "红包 🧧"}'.encode())["t"] == "红包 🧧"


# ---------------------------------------------------------------- command


def test_command_from_either_place() -> None:
    assert resolve_command(AFTER_SEND_MSG, {}) == AFTER_SEND_MSG
    assert resolve_command("", {"CallbackCommand": AFTER_SEND_MSG}) == AFTER_SEND_MSG
    assert resolve_command(AFTER_SEND_MSG, {"CallbackCommand": AFTER_SEND_MSG}) == AFTER_SEND_MSG


@pytest.mark.parametrize(
    ("query", "payload", "message"),
    [
        (AFTER_SEND_MSG, {"CallbackCommand": AFTER_MSG_WITHDRAW}, "the query string says"),
        ("", {}, "CallbackCommand: required"),
        ("", {"CallbackCommand": 5}, "CallbackCommand: must be a string"),
        ("x" * 129, {}, "longer than 128"),
    ],
)
def test_command_refusals(query: str, payload: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedCallback, match=message):
        resolve_command(query, payload)


# ---------------------------------------------------------------- events


@pytest.mark.parametrize("name", element_samples())
def test_every_sample_parses(name: str) -> None:
    payload = sample(name)
    event = parse_event(AFTER_SEND_MSG, payload)
    assert isinstance(event, SentMessage)
    assert event.msg_key == payload["MsgKey"]
    assert event.msg_body == payload["MsgBody"]


def test_sent_message_fields() -> None:
    event = SentMessage.from_payload(AFTER_SEND_MSG, sample("doc-example"))
    assert event.official_account == "@TOA#_2J4SZEAEL"
    assert event.msg_key == "71_1_1698741698"
    assert event.msg_time == datetime(2017, 3, 28, 7, 30, 22, tzinfo=UTC)
    assert event.online_only is True
    assert event.cloud_custom_data == "your cloud custom data"
    assert event.event_time == datetime(2022, 12, 9, 8, 26, 54, 123000, tzinfo=UTC)
    assert event.extra == {}


def test_optional_fields_default_and_unknown_keys_are_kept() -> None:
    payload = sample("text")
    del payload["OnlineOnlyFlag"], payload["CloudCustomData"]
    payload["OfflinePushInfo"] = {"Desc": "new"}
    event = SentMessage.from_payload(AFTER_SEND_MSG, payload)
    assert event.online_only is False
    assert event.cloud_custom_data == ""
    assert event.extra == {"OfflinePushInfo": {"Desc": "new"}}


def test_null_cloud_custom_data_is_empty() -> None:
    payload = sample("text") | {"CloudCustomData": None}
    assert SentMessage.from_payload(AFTER_SEND_MSG, payload).cloud_custom_data == ""


def test_unknown_element_type_is_accepted() -> None:
    payload = sample("text") | {
        "MsgBody": [{"MsgType": "TIMRelayElem", "MsgContent": {"Title": "t"}}]
    }
    assert (
        SentMessage.from_payload(AFTER_SEND_MSG, payload).msg_body[0]["MsgType"] == "TIMRelayElem"
    )


SENT_REFUSALS = [
    ("Official_Account", None, "Official_Account: required field is missing"),
    ("Official_Account", 5, "Official_Account: must be a string, not a number"),
    ("Official_Account", "", "Official_Account: must not be empty"),
    ("Official_Account", "a" * 129, "Official_Account: longer than 128"),
    ("MsgKey", None, "MsgKey: required field is missing"),
    ("MsgKey", ["71_1_1"], "MsgKey: must be a string, not an array"),
    ("MsgKey", "k" * 129, "MsgKey: longer than 128"),
    ("MsgTime", None, "MsgTime: required field is missing"),
    ("MsgTime", "1717000000.0", "MsgTime: must be an integer, not a string"),
    ("MsgTime", "-1717000000", "MsgTime: must be an integer, not a string"),
    ("MsgTime", "\u0661\u0667", "MsgTime: must be an integer, not a string"),  # Arabic-Indic
    ("MsgTime", 1717000000.5, r"MsgTime: must be an integer, not 1717000000\.5"),
    ("MsgTime", True, "MsgTime: must be an integer, not a boolean"),
    ("MsgTime", -1, "MsgTime: -1 is out of range"),
    ("MsgTime", 10**12, "MsgTime: .* is out of range for a Unix time in seconds"),
    ("OnlineOnlyFlag", "true", "OnlineOnlyFlag: must be an integer"),
    ("OnlineOnlyFlag", 1.0, "OnlineOnlyFlag: must be an integer"),
    ("MsgBody", None, "MsgBody: required field is missing"),
    ("MsgBody", {"MsgType": "TIMTextElem"}, "MsgBody: must be an array, not an object"),
    ("MsgBody", ["hello"], r"MsgBody\[0\]: must be an object, not a string"),
    ("MsgBody", [{"MsgContent": {}}], r"MsgBody\[0\].MsgType: required field is missing"),
    ("MsgBody", [{"MsgType": 1}], r"MsgBody\[0\].MsgType: must be a string"),
    ("EventTime", None, "EventTime: required field is missing"),
    ("EventTime", "now", "EventTime: must be an integer"),
    ("EventTime", 10**18, "EventTime: .* is out of range for a Unix time in milliseconds"),
]


@pytest.mark.parametrize(("field", "value", "message"), SENT_REFUSALS)
def test_sent_message_refusals_name_the_field(field: str, value: Any, message: str) -> None:
    payload = sample("text")
    if value is None:
        del payload[field]
    else:
        payload[field] = value
    with pytest.raises(MalformedCallback, match=message):
        SentMessage.from_payload(AFTER_SEND_MSG, payload)


def test_withdrawal() -> None:
    event = parse_event(AFTER_MSG_WITHDRAW, sample("withdraw"))
    assert isinstance(event, MessageWithdrawal)
    assert event.official_account == "@TOA#_2J4SZEAEL"
    assert event.msg_keys == ("71_1_1698741698",)


def test_withdrawal_repeated_keys_counted_once() -> None:
    payload = sample("withdraw") | {
        "WithdrawMsgList": [{"MsgKey": "a"}, {"MsgKey": "b"}, {"MsgKey": "a"}]
    }
    assert MessageWithdrawal.from_payload(AFTER_MSG_WITHDRAW, payload).msg_keys == ("a", "b")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"WithdrawMsgList": None}, "WithdrawMsgList: must be an array, not null"),
        ({"WithdrawMsgList": "71_1_1"}, "WithdrawMsgList: must be an array"),
        ({"WithdrawMsgList": ["71_1_1"]}, r"WithdrawMsgList\[0\]: must be an object"),
        ({"WithdrawMsgList": [{}]}, r"WithdrawMsgList\[0\].MsgKey: required field is missing"),
        ({"WithdrawMsgList": [{"MsgKey": 7}]}, r"WithdrawMsgList\[0\].MsgKey: must be a string"),
        ({"Official_Account": None}, "Official_Account: must be a string, not null"),
    ],
)
def test_withdrawal_refusals(change: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedCallback, match=message):
        MessageWithdrawal.from_payload(AFTER_MSG_WITHDRAW, sample("withdraw") | change)


def test_other_commands_are_handed_on_untouched() -> None:
    payload = {"CallbackCommand": "Group.CallbackAfterSendMsg", "anything": [1, {"x": None}]}
    event = parse_event("Group.CallbackAfterSendMsg", payload)
    assert event == OtherCallback(command="Group.CallbackAfterSendMsg", payload=payload)
