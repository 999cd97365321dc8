from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from officialaccount_webhook.signals import callback_received, message_recalled, message_received
from officialaccount_webhook.webhook.auth import compute_sign
from officialaccount_webhook.webhook.wire import AFTER_SEND_MSG
from tests.settings import SIGNED_APP

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_SAMPLES = ROOT / "officialaccount_webhook" / "samples"
TEST_SAMPLES = Path(__file__).resolve().parent / "samples"
TOKEN = "current-token"


@pytest.fixture(autouse=True)
def no_language_left_active() -> Iterator[None]:
    """A request's LocaleMiddleware leaves its language active in the thread after the answer
    (Django does not reset it): without this, a Chinese request in one test would make the next
    test's texts Chinese, whichever file that test is in."""
    yield
    translation.deactivate()


def sample(name: str) -> dict[str, Any]:
    """A Tencent-shaped callback body: ``text``, ``image``, ..., ``withdraw``, ``doc-example``,
    and the account callbacks by their file names (``oa-after-create``, ...)."""
    for folder in (PACKAGE_SAMPLES, TEST_SAMPLES):
        for prefix in ("after-send-", "after-", ""):
            path = folder / f"{prefix}{name}.json"
            if path.exists():
                return json.loads(path.read_text())
    raise LookupError(name)


def element_samples() -> list[str]:
    return sorted(path.stem.removeprefix("after-send-") for path in PACKAGE_SAMPLES.glob("*.json"))


def callback_query(
    command: str | None = AFTER_SEND_MSG,
    *,
    sdk_app_id: int | str | None = SIGNED_APP,
    token: str | None = TOKEN,
    request_time: int | str | None = None,
    **extra: str,
) -> dict[str, str]:
    """The query string Tencent appends, signed with ``token`` unless it is None."""
    query: dict[str, str] = {}
    if sdk_app_id is not None:
        query["SdkAppid"] = str(sdk_app_id)
    if command is not None:
        query["CallbackCommand"] = command
    query |= {"contenttype": "json", "ClientIP": "203.0.113.7", "OptPlatform": "RESTAPI"}
    if token is not None:
        request_time = str(int(time.time()) if request_time is None else request_time)
        query |= {"Sign": compute_sign(token, request_time), "RequestTime": request_time}
    return query | extra


def with_other_processes(setup: str) -> list[pytest.MarkDecorator]:
    """Marks for a test that starts processes using the test database: its rows are committed,
    so that they see them, and it runs on PostgreSQL only; ``setup`` says what it tests."""
    return [
        pytest.mark.django_db(transaction=True),
        pytest.mark.skipif(
            connection.vendor != "postgresql",
            reason=f"{setup} is a PostgreSQL setup; CI runs it there",
        ),
    ]


def subprocess_database_url() -> str:
    """A URL for the test database, for the processes a test starts (tests.settings reads it)."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    user = f"{quote(settings['USER'] or '', safe='')}:{quote(settings['PASSWORD'] or '', safe='')}"
    return f"postgres://{user}@{host}:{port}/{settings['NAME']}"


def callback_url(query: dict[str, str]) -> str:
    return f"{reverse('officialaccount_webhook:callback')}?{urlencode(query)}"


PostCallback = Callable[..., Any]


@pytest.fixture
def post_callback(
    db: None, client: Client, django_capture_on_commit_callbacks: Any
) -> PostCallback:
    """POST a callback the way Tencent does and run the on-commit signals, as in production."""

    def post(
        body: dict[str, Any] | list[Any] | bytes | str,
        query: dict[str, str] | None = None,
        *,
        client: Client = client,
        content_type: str = "application/json",
        **headers: str,
    ) -> Any:
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                callback_url(callback_query() if query is None else query),
                data=data,
                content_type=content_type,
                headers=headers,
            )

    return post


@dataclass
class SignalLog:
    received: list[dict[str, Any]] = field(default_factory=list)
    recalled: list[dict[str, Any]] = field(default_factory=list)
    callbacks: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def signal_log() -> Iterator[SignalLog]:
    log = SignalLog()

    def on_received(**kwargs: Any) -> None:
        log.received.append(kwargs)

    def on_recalled(**kwargs: Any) -> None:
        log.recalled.append(kwargs)

    def on_callback(**kwargs: Any) -> None:
        log.callbacks.append(kwargs)

    message_received.connect(on_received)
    message_recalled.connect(on_recalled)
    callback_received.connect(on_callback)
    yield log
    message_received.disconnect(on_received)
    message_recalled.disconnect(on_recalled)
    callback_received.disconnect(on_callback)


# ------------------------------------------------------------------ no silent skips in CI


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # CI sets FAIL_ON_SKIP on its PostgreSQL run: there, a skipped test is a failure.
    if os.environ.get("FAIL_ON_SKIP") and _skipped:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if os.environ.get("FAIL_ON_SKIP") and _skipped:
        terminalreporter.section("FAIL_ON_SKIP", sep="!", red=True, bold=True)
        terminalreporter.line(
            f"{len(_skipped)} test(s) skipped while FAIL_ON_SKIP is set:", red=True
        )
        for nodeid in _skipped:
            terminalreporter.line(f"  {nodeid}", red=True)
