from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core import checks
from django.core.checks import ERROR
from django.db import connection
from django.test import override_settings

from officialaccount_webhook.notify import framework as task_framework
from officialaccount_webhook.webhook import spool, spooling
from tests.settings import INSTALLED_APPS, OFFICIALACCOUNT_WEBHOOK, UNSIGNED_APP

SPOOL_DIR = OFFICIALACCOUNT_WEBHOOK["SPOOL_DIR"]

# run_checks() runs Django's own checks too, and on Django 6 some of them query the database.
pytestmark = pytest.mark.django_db


def ids() -> list[str]:
    return [
        message.id
        for message in checks.run_checks()
        if message.id and message.id.startswith("officialaccount_webhook.")
    ]


def test_test_settings_err_only_about_their_unsigned_app() -> None:
    """DEBUG is off in the tests, so their app that accepts unsigned callbacks is an Error,
    silenced in tests/settings.py for the commands that tests run as processes."""
    assert ids() == ["officialaccount_webhook.E003"]
    [message] = [m for m in checks.run_checks() if m.id == "officialaccount_webhook.E003"]
    assert message.level == ERROR
    assert message.msg.startswith(f"Tencent Chat app {UNSIGNED_APP} accepts unsigned callbacks")
    assert message.is_silenced()  # as manage.py's commands filter it
    with override_settings(SILENCED_SYSTEM_CHECKS=[]):
        [message] = [m for m in checks.run_checks() if m.id == "officialaccount_webhook.E003"]
        assert not message.is_silenced()


def test_every_message_is_a_warning_with_a_hint() -> None:
    with override_settings(
        OFFICIALACCOUNT_WEBHOOK={"APPS": {1: {"SECRET_KEY": "k"}}, "REQUEST_TIME_SKEW": 0},
        INSTALLED_APPS=[app for app in INSTALLED_APPS if app != "rest_framework"],
    ):
        messages = [m for m in checks.run_checks() if m.id.startswith("officialaccount_webhook.")]
    assert {m.id for m in messages} == {
        "officialaccount_webhook.W002",
        "officialaccount_webhook.W003",
        "officialaccount_webhook.W004",
        "officialaccount_webhook.W007",
        "officialaccount_webhook.W008",
    }
    assert all(m.level == checks.WARNING and m.hint for m in messages)


@override_settings(OFFICIALACCOUNT_WEBHOOK={"SPOOL_DIR": SPOOL_DIR})
def test_no_app_configured() -> None:
    assert ids() == ["officialaccount_webhook.W001"]


@pytest.mark.parametrize("debug", [False, True])
def test_no_token_warns_per_app_that_every_callback_is_refused(debug: bool) -> None:
    apps = {1: {}, 2: {"CALLBACK_TOKENS": ["t"]}, 3: {}, 4: {"ACCEPT_UNSIGNED": True}}
    with override_settings(DEBUG=debug, OFFICIALACCOUNT_WEBHOOK={"APPS": apps}):
        messages = [m for m in checks.run_checks() if m.id == "officialaccount_webhook.W002"]
    assert [m.msg.split()[3] for m in messages] == ["1", "3"]
    assert all("every callback for it is refused" in m.msg for m in messages)


@override_settings(
    DEBUG=True,
    OFFICIALACCOUNT_WEBHOOK={"APPS": {1: {"ACCEPT_UNSIGNED": True}}, "SPOOL_DIR": SPOOL_DIR},
)
def test_accepting_unsigned_callbacks_is_fine_in_debug() -> None:
    assert ids() == []


@pytest.mark.parametrize(
    ("app", "error"),
    [
        ({"ACCEPT_UNSIGNED": True}, True),
        # A token overrides ACCEPT_UNSIGNED: Sign is required, so nothing to report.
        ({"ACCEPT_UNSIGNED": True, "CALLBACK_TOKENS": ["t"]}, False),
        ({"ACCEPT_UNSIGNED": False}, False),
    ],
)
def test_accepting_unsigned_callbacks_outside_debug_is_an_error(
    app: dict[str, object], error: bool
) -> None:
    conf = {"APPS": {1: app, 2: {"CALLBACK_TOKENS": ["t"]}}, "SPOOL_DIR": SPOOL_DIR}
    with override_settings(DEBUG=False, OFFICIALACCOUNT_WEBHOOK=conf, SILENCED_SYSTEM_CHECKS=[]):
        messages = [m for m in checks.run_checks() if m.id == "officialaccount_webhook.E003"]
    assert len(messages) == error
    if error:
        assert messages[0].level == ERROR
        assert "Tencent Chat app 1 accepts unsigned callbacks" in messages[0].msg
        assert "CALLBACK_TOKENS" in messages[0].hint


def test_rest_framework_missing() -> None:
    with override_settings(
        INSTALLED_APPS=[app for app in INSTALLED_APPS if app != "rest_framework"]
    ):
        assert "officialaccount_webhook.W003" in ids()


@pytest.mark.parametrize(
    ("skew", "warns"),
    [(0, True), (4, True), (5, False), (60, False), (300, False), (301, True), (3600, True)],
)
def test_skew_that_makes_no_sense(skew: int, warns: bool) -> None:
    with override_settings(
        OFFICIALACCOUNT_WEBHOOK={"APPS": {1: {"CALLBACK_TOKENS": ["t"]}}, "REQUEST_TIME_SKEW": skew}
    ):
        assert ("officialaccount_webhook.W004" in ids()) is warns


def test_a_wide_skew_warns_that_captured_urls_stay_replayable() -> None:
    conf = {"APPS": {1: {"CALLBACK_TOKENS": ["t"]}}, "REQUEST_TIME_SKEW": 301}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        [message] = [m for m in checks.run_checks() if m.id == "officialaccount_webhook.W004"]
    assert "replayed" in message.msg
    assert "between 5 and 300" in message.hint
    assert "default, 60" in message.hint


@pytest.mark.parametrize("skew", [-1, "300", None])
def test_malformed_settings_are_an_error_not_a_crash(skew: object) -> None:
    """Every callback fails while the setting is malformed: an Error, which stops runserver
    and migrate, not a Warning that scrolls past."""
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"APPS": {1: {}}, "REQUEST_TIME_SKEW": skew}):
        [message] = [m for m in checks.run_checks() if m.id == "officialaccount_webhook.E001"]
    assert message.level == ERROR
    assert "REQUEST_TIME_SKEW" in message.msg


def test_a_spool_on_a_system_without_fcntl_is_an_error(tmp_path: Path) -> None:
    """Without fcntl (Windows) the app still imports, and the check says the spool cannot
    work, in a process where fcntl cannot be imported."""
    script = f"""
import sys
sys.modules["fcntl"] = None  # as on a system without it: "import fcntl" raises ImportError
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework",
                    "officialaccount_webhook"],
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
    OFFICIALACCOUNT_WEBHOOK={{"APPS": {{1: {{"CALLBACK_TOKENS": ["t"]}}}},
                             "SPOOL_DIR": {str(tmp_path)!r}}},
)
django.setup()
import officialaccount_webhook.urls  # the view and everything it imports
from django.core import checks
print(sorted(m.id for m in checks.run_checks() if m.level >= checks.ERROR))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['officialaccount_webhook.E002']"


def test_the_spool_check_passes_where_fcntl_exists(tmp_path: Path) -> None:
    conf = {"APPS": {1: {"CALLBACK_TOKENS": ["t"]}}, "SPOOL_DIR": str(tmp_path)}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        assert "officialaccount_webhook.E002" not in ids()


@pytest.mark.parametrize(
    ("engine", "options", "warns"),
    [
        ("django.db.backends.sqlite3", {}, True),
        ("django.db.backends.sqlite3", {"transaction_mode": "DEFERRED"}, True),
        ("django.db.backends.sqlite3", {"transaction_mode": "IMMEDIATE"}, False),
        ("django.db.backends.postgresql", {}, False),
    ],
)
def test_sqlite_needs_immediate_transactions(
    monkeypatch: pytest.MonkeyPatch, engine: str, options: dict[str, str], warns: bool
) -> None:
    monkeypatch.setitem(connection.settings_dict, "ENGINE", engine)
    monkeypatch.setitem(connection.settings_dict, "OPTIONS", options)
    assert ("officialaccount_webhook.W006" in ids()) is warns


@pytest.mark.parametrize(
    ("app", "warns"),
    [
        ({"SECRET_KEY": "k"}, True),
        ({"SECRET_KEY": "k", "REGION": "atlantis"}, True),
        ({"SECRET_KEY": "k", "API_BASE_URL": "http://example.com"}, True),
        ({"SECRET_KEY": "k", "REGION": "singapore"}, False),
        ({"SECRET_KEY": "k", "API_BASE_URL": "http://127.0.0.1:9000"}, False),
        ({}, False),
    ],
)
def test_app_that_cannot_reach_tencents_rest_api(app: dict[str, str], warns: bool) -> None:
    app = {"CALLBACK_TOKENS": ["t"], **app}
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"APPS": {1: app}}):
        assert ("officialaccount_webhook.W007" in ids()) is warns


def test_no_spool() -> None:
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"APPS": {1: {"CALLBACK_TOKENS": ["t"]}}}):
        [message] = [m for m in checks.run_checks() if m.id == "officialaccount_webhook.W008"]
    assert "is lost" in message.msg


def test_spool_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    conf = {"APPS": {1: {"CALLBACK_TOKENS": ["t"]}}, "SPOOL_DIR": str(blocker / "spool")}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        [message] = [m for m in checks.run_checks() if m.id == "officialaccount_webhook.W009"]
    assert "cannot be written" in message.msg


def test_spool_that_does_not_exist_yet_is_fine(tmp_path: Path) -> None:
    conf = {"APPS": {1: {"CALLBACK_TOKENS": ["t"]}}, "SPOOL_DIR": str(tmp_path / "a" / "b")}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        assert "officialaccount_webhook.W008" not in ids()


def test_a_quarantined_record_warns_until_it_is_retried(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    conf = {"APPS": {1: {"CALLBACK_TOKENS": ["t"]}}, "SPOOL_DIR": str(directory)}
    callback = spool.SpooledCallback(
        sdk_app_id=1, command="C", payload={}, query_string="", remote_addr=None, spooled_at=0.0
    )

    def refuse(callback: spool.SpooledCallback) -> None:
        raise ValueError("refused")

    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf | {"SPOOL_MAX_ATTEMPTS": 1}):
        for _ in range(2):
            spool.write(directory, callback)
        spooling.drain(directory, refuse)
        assert spool.pending(directory) == 0
        [message] = [m for m in checks.run_checks() if m.id == "officialaccount_webhook.W013"]
        assert message.level == checks.WARNING
        assert message.msg.startswith(f"2 spooled callback(s) in {directory / 'quarantine'}")
        assert "officialaccount_drain_spool --retry-quarantined" in message.hint
        spooling.release_quarantined(directory)
        assert "officialaccount_webhook.W013" not in ids()  # waiting again, not quarantined
        assert spooling.drain(directory, lambda callback: None).stored == 2
        assert ids() == []


TASK_MODE = {"APPS": {1: {"CALLBACK_TOKENS": ["t"]}}, "SPOOL_DIR": SPOOL_DIR, "SIGNAL_MODE": "task"}
FRAMEWORK = task_framework.framework().__name__
DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def task_messages(**conf: str) -> list[checks.CheckMessage]:
    with override_settings(OFFICIALACCOUNT_WEBHOOK=TASK_MODE | conf):
        return [
            message
            for message in checks.run_checks()
            if message.id.startswith("officialaccount_webhook.W01")
        ]


@override_settings(TASKS=DATABASE_BACKEND)
def test_task_mode_with_a_worker_backend_is_fine() -> None:
    assert task_messages() == []
    with override_settings(OFFICIALACCOUNT_WEBHOOK=TASK_MODE):
        assert ids() == []


def test_task_mode_without_the_framework(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(task_framework, "CANDIDATES", ("no_such_tasks_framework",))
    task_framework._find.cache_clear()
    try:
        [message] = task_messages()
    finally:
        task_framework._find.cache_clear()
    assert message.id == "officialaccount_webhook.W010"
    assert "not installed" in message.msg


@override_settings(TASKS=DATABASE_BACKEND)
def test_task_mode_with_a_backend_that_is_not_configured() -> None:
    [message] = task_messages(TASK_BACKEND="signals")
    assert message.id == "officialaccount_webhook.W011"
    assert "'signals'" in message.msg and "cannot be used" in message.msg


@override_settings(
    TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["a", "b"]}}
)
def test_task_mode_with_a_queue_the_backend_does_not_have() -> None:
    [message] = task_messages(TASK_QUEUE="officialaccount")
    assert message.id == "officialaccount_webhook.W011"
    assert "'officialaccount'" in message.msg
    assert "['a', 'b']" in message.hint
    assert task_messages(TASK_QUEUE="b") == []


@pytest.mark.parametrize(
    ("backend", "effect"),
    [("immediate.ImmediateBackend", "in the webhook's request"), ("dummy.DummyBackend", "never")],
)
def test_task_mode_with_a_backend_that_has_no_worker(backend: str, effect: str) -> None:
    with override_settings(TASKS={"default": {"BACKEND": f"{FRAMEWORK}.backends.{backend}"}}):
        [message] = task_messages()
    assert message.id == "officialaccount_webhook.W012"
    assert effect in message.msg


def test_task_mode_warnings_are_warnings_with_hints() -> None:
    messages = task_messages() + task_messages(TASK_BACKEND="nowhere")
    assert [m.id for m in messages] == [
        "officialaccount_webhook.W012",
        "officialaccount_webhook.W011",
    ]
    assert all(m.level == checks.WARNING and m.hint for m in messages)


def test_on_commit_mode_does_not_look_at_tasks() -> None:
    with override_settings(
        TASKS={"other": {"BACKEND": f"{FRAMEWORK}.backends.dummy.DummyBackend"}}
    ):
        assert "officialaccount_webhook.W011" in [m.id for m in task_messages()]
        assert "officialaccount_webhook.W011" not in ids()


def test_plain_basic_authentication_on_the_api_warns() -> None:
    from officialaccount_webhook.api.checks import check_api_basic_authentication

    plain = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.BasicAuthentication"]
    }
    throttled = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "officialaccount_webhook.api.authentication.ThrottledBasicAuthentication"
        ]
    }
    with override_settings(REST_FRAMEWORK=plain):
        assert [m.id for m in check_api_basic_authentication()] == ["officialaccount_webhook.W014"]
    with override_settings(REST_FRAMEWORK=throttled):
        assert check_api_basic_authentication() == []
    # DRF's own default, for a project that never set it, includes Basic.
    with override_settings(REST_FRAMEWORK={}):
        assert [m.id for m in check_api_basic_authentication()] == ["officialaccount_webhook.W014"]


def test_the_api_check_is_registered_with_the_security_checks() -> None:
    # It lives in the API's room; the app config registers it (apps.py).
    plain = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.BasicAuthentication"]
    }
    with override_settings(REST_FRAMEWORK=plain):
        found = [message.id for message in checks.run_checks(tags=[checks.Tags.security])]
    assert "officialaccount_webhook.W014" in found
