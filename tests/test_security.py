from __future__ import annotations

import hashlib

import pytest

from officialaccount_webhook.conf import TencentApp
from officialaccount_webhook.webhook.auth import (
    GENERIC_REFUSAL,
    AuthenticationFailed,
    authenticate,
    compute_sign,
)
from officialaccount_webhook.webhook.query import CallbackQuery

NOW = 1_717_000_000
SKEW = 300
SIGNED = TencentApp(sdk_app_id=1400000000, callback_tokens=("new-token", "old-token"))
UNSIGNED = TencentApp(sdk_app_id=1400000001, accept_unsigned=True)
NO_TOKEN = TencentApp(sdk_app_id=1400000002)
APPS = {SIGNED.sdk_app_id: SIGNED, UNSIGNED.sdk_app_id: UNSIGNED, NO_TOKEN.sdk_app_id: NO_TOKEN}


def query(
    sdk_app_id: str = "1400000000",
    sign: str | None = None,
    request_time: str = str(NOW),
    token: str = "new-token",
) -> CallbackQuery:
    params = f"SdkAppid={sdk_app_id}&CallbackCommand=OfficialAccount.CallbackAfterSendMsg"
    if request_time:
        params += f"&RequestTime={request_time}"
    if sign is None:
        sign = compute_sign(token, request_time)
    if sign:
        params += f"&Sign={sign}"
    return CallbackQuery.from_query_string(params)


def check(q: CallbackQuery, now: int = NOW) -> TencentApp:
    return authenticate(q, APPS, now=now, skew=SKEW)


def test_worked_example_from_tencent_docs() -> None:
    assert (
        compute_sign("xxxxyyyy", "1669872112")
        == "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"
    )


def test_sign_is_plain_sha256_of_token_then_time() -> None:
    assert compute_sign("tok", "12") == hashlib.sha256(b"tok12").hexdigest()


def test_valid_sign_returns_the_app() -> None:
    assert check(query()) is SIGNED


def test_rotated_token_is_still_accepted() -> None:
    assert check(query(token="old-token")) is SIGNED


def test_upper_case_hex_names_the_same_digest() -> None:
    assert check(query(sign=compute_sign("new-token", str(NOW)).upper())) is SIGNED


def test_app_that_accepts_unsigned_callbacks_needs_no_sign() -> None:
    assert check(query(sdk_app_id="1400000001", sign="", request_time="")) is UNSIGNED


def test_app_without_tokens_refuses_unless_it_accepts_unsigned_callbacks() -> None:
    with pytest.raises(AuthenticationFailed, match="does not accept unsigned") as caught:
        check(query(sdk_app_id="1400000002", sign="", request_time=""))
    assert caught.value.answer == GENERIC_REFUSAL


@pytest.mark.parametrize(
    ("q", "message"),
    [
        (CallbackQuery.from_query_string("CallbackCommand=x"), "SdkAppid is missing"),
        (query(sdk_app_id="abc"), "SdkAppid is missing or not a number"),
        (query(sdk_app_id="+1400000000"), "SdkAppid is missing or not a number"),
        # Fullwidth digits are digits to str.isdigit(), but not an SdkAppid.
        (query(sdk_app_id="１４００"), "SdkAppid is missing or not a number"),  # noqa: RUF001
        (query(sdk_app_id="1400000099"), "SdkAppid 1400000099 is not configured"),
        (query(sign=""), "Sign is missing"),
        (query(request_time="", sign="a" * 64), "RequestTime is missing"),
        (query(request_time="17e8"), "RequestTime is not a Unix time in seconds"),
        (query(request_time="-5"), "RequestTime is not a Unix time in seconds"),
        (query(token="someone-elses-token"), "Sign does not match"),
        (query(sign="zz" * 32), "Sign does not match"),
        (query(sign="é" * 64), "Sign does not match"),
        (query(sign=compute_sign("new-token", str(NOW))[:-1]), "Sign does not match"),
    ],
)
def test_refusals(q: CallbackQuery, message: str) -> None:
    with pytest.raises(AuthenticationFailed, match=message) as caught:
        check(q)
    assert caught.value.status_code == 403
    # The reason is for the record and the log; the caller learns only that it failed.
    assert caught.value.answer == GENERIC_REFUSAL


@pytest.mark.parametrize("offset", [-SKEW, 0, SKEW])
def test_request_time_at_the_window_edges_is_accepted(offset: int) -> None:
    assert check(query(), now=NOW + offset) is SIGNED


@pytest.mark.parametrize(("offset", "direction"), [(-SKEW - 1, "future"), (SKEW + 1, "past")])
def test_request_time_just_past_the_edges_is_refused(offset: int, direction: str) -> None:
    with pytest.raises(AuthenticationFailed, match=f"RequestTime is 301 s in the {direction}"):
        check(query(), now=NOW + offset)


def test_sign_is_not_in_the_repr_of_the_query() -> None:
    sign = compute_sign("new-token", str(NOW))
    assert sign not in repr(query(sign=sign))


def test_tokens_are_not_in_the_repr_of_the_app() -> None:
    assert "new-token" not in repr(SIGNED)
