"""Hostile and broken input: never a 500, never a mangled message, nothing unauthenticated stored.

The table of edge cases below is also the documentation of each decision (docs/security.md
points here): accepted and stored faithfully, or refused with a clear error.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from officialaccount_webhook.conf import DEFAULT_MAX_BODY_SIZE
from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.webhook.auth import GENERIC_REFUSAL, compute_sign
from officialaccount_webhook.webhook.wire import AFTER_SEND_MSG
from tests.conftest import TOKEN, callback_query, sample
from tests.settings import SIGNED_APP

pytestmark = pytest.mark.django_db

URL = "/webhooks/tencent-chat/"


def post_raw(query: str, body: bytes, **headers: str) -> Any:
    return Client().generic("POST", f"{URL}?{query}", data=body, **headers)


def assert_envelope(response: Any) -> dict[str, Any]:
    assert response.status_code != 500, response.content
    envelope: dict[str, Any] = json.loads(response.content)
    assert set(envelope) == {"ActionStatus", "ErrorCode", "ErrorInfo"}
    assert (envelope["ActionStatus"] == "OK") is (response.status_code == 200)
    return envelope


# ------------------------------------------------------------------ property-based

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
param_names = st.sampled_from(
    [
        "SdkAppid",
        "CallbackCommand",
        "Sign",
        "RequestTime",
        "ClientIP",
        "OptPlatform",
        "contenttype",
        "x",
    ]
)
HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _declared_length(headers: dict[str, str]) -> int:
    try:
        return int(headers.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # what Django reads a length that is not a number as


@HYPOTHESIS
@given(
    params=st.lists(st.tuples(param_names, st.text(max_size=40)), max_size=8),
    body=st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())),
    content_type=st.sampled_from(
        ["application/json", "text/plain", "", "multipart/form-data; boundary=x"]
    ),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "HTTP_ACCEPT",
                "HTTP_X_FORWARDED_FOR",
                "HTTP_USER_AGENT",
                "HTTP_CONTENT_ENCODING",
                "HTTP_TRANSFER_ENCODING",
                "HTTP_COOKIE",
                "HTTP_AUTHORIZATION",
                "CONTENT_LENGTH",
                "REMOTE_ADDR",
            ]
        ),
        # A WSGI server hands raw header bytes over as latin-1: no other character can arrive.
        st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=30),
        max_size=5,
    ),
)
def test_arbitrary_requests_are_answered_and_store_nothing(
    params: list[tuple[str, str]], body: bytes, content_type: str, headers: dict[str, str]
) -> None:
    # A server hands over what arrived, less than the length declared if the client stopped
    # early; Django's test client cannot, and fails reading past its body. (A length over
    # MAX_BODY_SIZE is refused before anything is read.)
    assume(not len(body) < _declared_length(headers) <= DEFAULT_MAX_BODY_SIZE)
    before = OfficialAccountMessage.objects.count()
    response = post_raw(urlencode(params), body, CONTENT_TYPE=content_type, **headers)
    assert_envelope(response)
    # Without the token nobody can make a valid Sign, so nothing may be stored.
    assert OfficialAccountMessage.objects.count() == before


message_fields = st.fixed_dictionaries(
    {},
    optional={
        "CallbackCommand": st.sampled_from([AFTER_SEND_MSG, "Group.CallbackAfterSendMsg"])
        | json_values,
        "Official_Account": st.text(max_size=140) | json_values,
        "MsgKey": st.text(max_size=140) | json_values,
        "MsgTime": st.integers() | json_values,
        "OnlineOnlyFlag": st.integers() | json_values,
        "MsgBody": st.lists(
            st.fixed_dictionaries(
                {"MsgType": st.text(max_size=20)}, optional={"MsgContent": json_values}
            ),
            max_size=3,
        )
        | json_values,
        "CloudCustomData": st.text() | json_values,
        "EventTime": st.integers() | json_values,
        "Extra": json_values,
    },
)


@HYPOTHESIS
@given(payload=message_fields)
def test_authenticated_bodies_are_stored_faithfully_or_refused_clearly(
    payload: dict[str, Any],
) -> None:
    before = OfficialAccountMessage.objects.count()
    query = urlencode(callback_query(command=None))
    response = post_raw(query, json.dumps(payload).encode(), CONTENT_TYPE="application/json")
    envelope = assert_envelope(response)
    stored = OfficialAccountMessage.objects.count() - before
    if response.status_code != 200:
        assert stored == 0
        assert response.status_code == 400 and envelope["ErrorInfo"]
        return
    if payload.get("CallbackCommand") != AFTER_SEND_MSG:
        assert stored == 0
        return
    message = OfficialAccountMessage.objects.get(
        sdk_app_id=SIGNED_APP,
        official_account=payload["Official_Account"],
        msg_key=payload["MsgKey"],
    )
    assert stored in (0, 1)  # 0: the same key was drawn before, a duplicate
    if stored:
        assert message.msg_body == payload["MsgBody"]
        sent = payload.get("CloudCustomData")
        if sent is None or isinstance(sent, str):
            assert message.cloud_custom_data == (sent or "")
        else:  # any other JSON value is kept as its compact JSON text, and the repair noted
            assert message.cloud_custom_data == json.dumps(
                sent, ensure_ascii=False, separators=(",", ":")
            )
            assert any(note.startswith("CloudCustomData:") for note in message.repairs)
        assert message.extra == ({"Extra": payload["Extra"]} if "Extra" in payload else {})


# ------------------------------------------------------------------ the edge cases, decided


def body_with(**changes: Any) -> dict[str, Any]:
    payload = sample("text")
    for key, value in changes.items():
        payload[key] = value
    return payload


EDGE_CASES = [
    # (name, payload, status, stored as)
    (
        "a 12 KB message",
        body_with(MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "字" * 4096}}]),
        200,
        "same",
    ),
    (
        "text outside the BMP",
        body_with(MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "🧧𝄞😀"}}]),
        200,
        "same",
    ),
    (
        "NUL in a text",
        body_with(MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "a\x00b"}}]),
        400,
        None,
    ),
    ("a lone surrogate", body_with(CloudCustomData="\ud800"), 400, None),
    ("a number where a string is expected", body_with(MsgKey=71), 400, None),
    ("a decimal string where a number is expected", body_with(MsgTime="1717000000"), 200, "same"),
    ("a string that is no integer", body_with(MsgTime="1717000000.5"), 400, None),
    ("a float in an integer field", body_with(MsgTime=1717000000.0), 400, None),
    ("a negative time", body_with(EventTime=-1), 400, None),
    ("a very large integer", body_with(MsgTime=10**40), 400, None),
    ("a boolean flag", body_with(OnlineOnlyFlag=True), 200, "same"),
    ("an OnlineOnlyFlag other than 0 or 1", body_with(OnlineOnlyFlag=7), 200, "same"),
    ("an empty MsgBody", body_with(MsgBody=[]), 200, "same"),
    ("a very long MsgKey", body_with(MsgKey="k" * 129), 400, None),
    ("a MsgKey of the longest length kept", body_with(MsgKey="k" * 128), 200, "same"),
    ("a very long Official_Account", body_with(Official_Account="@TOA#_" + "a" * 123), 400, None),
    (
        "an unknown element type",
        body_with(MsgBody=[{"MsgType": "TIMNewElem", "MsgContent": {"x": [1]}}]),
        200,
        "same",
    ),
    ("extra top-level keys", body_with(Future={"x": 1}, Other=[1, 2]), 200, "same"),
]


@pytest.mark.parametrize(
    ("name", "payload", "status", "stored"), EDGE_CASES, ids=[case[0] for case in EDGE_CASES]
)
def test_edge_case(name: str, payload: dict[str, Any], status: int, stored: str | None) -> None:
    response = post_raw(
        urlencode(callback_query()), json.dumps(payload).encode(), CONTENT_TYPE="application/json"
    )
    envelope = assert_envelope(response)
    assert response.status_code == status, envelope
    if stored is None:
        assert not OfficialAccountMessage.objects.exists()
        assert envelope["ErrorInfo"]
        return
    message = OfficialAccountMessage.objects.get()
    assert message.msg_key == payload["MsgKey"]
    assert message.msg_body == payload["MsgBody"]
    assert message.online_only is (payload["OnlineOnlyFlag"] == 1)
    extra = {k: v for k, v in payload.items() if k not in sample("text")}
    assert message.extra == extra


def test_body_just_over_the_cap() -> None:
    from django.test import override_settings

    payload = sample("text")
    raw = json.dumps(payload).encode()
    conf = {"APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}}, "MAX_BODY_SIZE": len(raw) - 1}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        assert post_raw(urlencode(callback_query()), raw).status_code == 413
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf | {"MAX_BODY_SIZE": len(raw)}):
        assert post_raw(urlencode(callback_query()), raw).status_code == 200


def test_repeated_query_parameters_the_last_one_counts() -> None:
    """As Django's own QueryDict reads them. A Sign still has to match its own RequestTime."""
    now = str(int(time.time()))
    signed = callback_query(request_time=now)
    query = urlencode(
        [("SdkAppid", "999"), *signed.items(), ("Sign", "0" * 64), ("Sign", signed["Sign"])]
    )
    assert post_raw(query, json.dumps(sample("text")).encode()).status_code == 200
    forged = urlencode([*signed.items(), ("SdkAppid", "999")])
    assert post_raw(forged, json.dumps(sample("face")).encode()).status_code == 403
    disagreeing = urlencode([*signed.items(), ("CallbackCommand", "Group.CallbackAfterSendMsg")])
    assert post_raw(disagreeing, json.dumps(sample("file")).encode()).status_code == 400
    assert OfficialAccountMessage.objects.count() == 1


def test_non_numeric_request_time() -> None:
    query = callback_query(token=None) | {"RequestTime": "now", "Sign": compute_sign(TOKEN, "now")}
    response = post_raw(urlencode(query), json.dumps(sample("text")).encode())
    assert response.status_code == 403
    # The caller is told only that authentication failed; the delivery record says why.
    assert response.json()["ErrorInfo"] == GENERIC_REFUSAL
    assert "RequestTime is not a Unix time" in CallbackDelivery.objects.get().reason


def test_request_time_at_and_just_past_the_edges() -> None:
    now = int(time.time())
    # The default window is a minute; a second is allowed for the request to arrive.
    for offset, status in ((-58, 200), (58, 200), (-62, 403), (62, 403)):
        payload = body_with(MsgKey=f"{offset}_1_1")
        query = urlencode(callback_query(request_time=now + offset))
        assert post_raw(query, json.dumps(payload).encode()).status_code == status, offset
