from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from officialaccount_webhook.conf import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_REQUEST_TIME_SKEW,
    TencentApp,
    get_settings,
    parse_settings,
)


def test_defaults() -> None:
    conf = parse_settings({"APPS": {1400000000: {}}})
    # A minute: delivery takes seconds, and a synchronised clock is off by far less.
    assert conf.request_time_skew == DEFAULT_REQUEST_TIME_SKEW == 60
    assert conf.max_body_size == DEFAULT_MAX_BODY_SIZE == 1024 * 1024
    assert conf.apps == {1400000000: TencentApp(sdk_app_id=1400000000)}
    assert conf.apps[1400000000].admin_identifier == "administrator"


def test_missing_setting_means_no_apps() -> None:
    assert parse_settings(None).apps == {}


def test_full_app() -> None:
    conf = parse_settings(
        {
            "APPS": {
                "1400000000": {
                    "CALLBACK_TOKENS": ["new", "old"],
                    "SECRET_KEY": "s3cret",
                    "ADMIN_IDENTIFIER": "ops",
                    "REGION": "singapore",
                    "API_BASE_URL": "http://127.0.0.1:9000",
                },
                1400000001: {"CALLBACK_TOKENS": ("only",)},
            },
            "REQUEST_TIME_SKEW": 60,
            "MAX_BODY_SIZE": 65536,
        }
    )
    app = conf.apps[1400000000]
    assert app.callback_tokens == ("new", "old")
    assert (app.secret_key, app.admin_identifier, app.region, app.api_base_url) == (
        "s3cret",
        "ops",
        "singapore",
        "http://127.0.0.1:9000",
    )
    assert conf.apps[1400000001].callback_tokens == ("only",)
    assert (conf.request_time_skew, conf.max_body_size) == (60, 65536)
    assert "s3cret" not in repr(conf)
    assert "new" not in repr(app)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "must be a dict"),
        ({"APPS": [1400000000]}, r"\['APPS'\]: must be a dict keyed by SDKAppID"),
        ({"APPS": {"abc": {}}}, "positive integer SDKAppID"),
        ({"APPS": {-5: {}}}, "positive integer SDKAppID"),
        ({"APPS": {True: {}}}, "positive integer SDKAppID"),
        ({"APPS": {1: {}, "1": {}}}, "repeats an SDKAppID"),
        ({"APPS": {1: None}}, "must be a dict"),
        (
            {"APPS": {1: {"CALLBACK_TOKENS": "token"}}},
            "CALLBACK_TOKENS'\\]: must be a list of strings",
        ),
        ({"APPS": {1: {"CALLBACK_TOKENS": ["", "x"]}}}, "must hold only non-empty strings"),
        ({"APPS": {1: {"CALLBACK_TOKEN": ["x"]}}}, "unknown key\\(s\\) CALLBACK_TOKEN"),
        ({"APPS": {1: {"SECRET_KEY": 5}}}, "SECRET_KEY'\\]: must be a string"),
        ({"APP": {}}, "unknown key\\(s\\) APP"),
        ({"REQUEST_TIME_SKEW": -1}, "REQUEST_TIME_SKEW'\\]: must be an integer of at least 0"),
        ({"REQUEST_TIME_SKEW": "300"}, "REQUEST_TIME_SKEW"),
        ({"REQUEST_TIME_SKEW": 2.5}, "REQUEST_TIME_SKEW"),
        ({"MAX_BODY_SIZE": 0}, "MAX_BODY_SIZE'\\]: must be an integer of at least 1"),
        ({"SIGNAL_MODE": "celery"}, "SIGNAL_MODE'\\]: must be 'on_commit' or 'task', not 'celery'"),
        ({"SIGNAL_MODE": None}, "SIGNAL_MODE'\\]: must be 'on_commit' or 'task', not None"),
        ({"SIGNAL_MODE": ["task"]}, "SIGNAL_MODE"),
        ({"TASK_BACKEND": ""}, "TASK_BACKEND'\\]: must not be empty"),
        ({"TASK_BACKEND": 1}, "TASK_BACKEND'\\]: must be a string"),
        ({"TASK_QUEUE": " "}, "TASK_QUEUE'\\]: must not be empty"),
    ],
)
def test_malformed_settings_name_the_key(raw: Any, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_settings(raw)


def test_signal_mode_defaults_to_on_commit() -> None:
    conf = parse_settings({})
    assert (conf.signal_mode, conf.task_backend, conf.task_queue) == (
        "on_commit",
        "default",
        "default",
    )


def test_task_mode_settings() -> None:
    conf = parse_settings(
        {"SIGNAL_MODE": "task", "TASK_BACKEND": "signals", "TASK_QUEUE": "officialaccount"}
    )
    assert (conf.signal_mode, conf.task_backend, conf.task_queue) == (
        "task",
        "signals",
        "officialaccount",
    )


def test_accessor_reads_at_call_time() -> None:
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"APPS": {7: {}}, "REQUEST_TIME_SKEW": 10}):
        assert set(get_settings().apps) == {7}
        assert get_settings().request_time_skew == 10
        with override_settings(OFFICIALACCOUNT_WEBHOOK={"APPS": {8: {}}}):
            assert set(get_settings().apps) == {8}
        assert set(get_settings().apps) == {7}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=None):
        assert get_settings().apps == {}


def test_accessor_reuses_the_parsed_settings() -> None:
    assert get_settings() is get_settings()


def test_rest_defaults_sit_below_tencents_limit() -> None:
    rest = parse_settings({}).rest
    assert rest.rate_limit == 100 < 200
    assert (rest.connect_timeout, rest.read_timeout) == (3.0, 10.0)
    assert (rest.max_retries, rest.retry_backoff) == (3, 0.5)


def test_rest_settings() -> None:
    rest = parse_settings(
        {
            "REST_RATE_LIMIT": 20,
            "REST_CONNECT_TIMEOUT": 1.5,
            "REST_READ_TIMEOUT": 4,
            "REST_MAX_RETRIES": 0,
            "REST_RETRY_BACKOFF": 0,
        }
    ).rest
    assert (rest.rate_limit, rest.connect_timeout, rest.read_timeout) == (20.0, 1.5, 4.0)
    assert (rest.max_retries, rest.retry_backoff) == (0, 0.0)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("REST_RATE_LIMIT", 0),
        ("REST_RATE_LIMIT", "100"),
        ("REST_CONNECT_TIMEOUT", -1),
        ("REST_READ_TIMEOUT", float("inf")),
        ("REST_READ_TIMEOUT", float("nan")),
        ("REST_MAX_RETRIES", -1),
        ("REST_RETRY_BACKOFF", True),
    ],
)
def test_rest_settings_refusals(key: str, value: object) -> None:
    with pytest.raises(ImproperlyConfigured, match=key):
        parse_settings({key: value})
