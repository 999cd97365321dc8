"""gunicorn's own logs, from real gunicorn processes started with the repository's
gunicorn.conf.py: Tencent's Sign is redacted in the access log and in the error that a worker
timeout logs ("Error handling request POST /webhooks/tencent-chat/?...&Sign=..."), which the
project's LOGGING never sees."""

from __future__ import annotations

import io
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.client import RemoteDisconnected
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from officialaccount_webhook.deploy.gunicorn_logging import (
    GUNICORN_LOGGERS,
    redact_sign_in_gunicorn_logs,
)
from officialaccount_webhook.log import RedactSignFilter
from officialaccount_webhook.redaction import REDACTED
from officialaccount_webhook.webhook.auth import compute_sign
from tests.conftest import callback_query, sample, with_other_processes
from tests.gunicorn_process import ASGI, CALLBACK_PATH, PRELOAD, SYNC, gunicorn, project_environment


def under_gunicorn(test: Callable[..., None]) -> Callable[..., None]:
    for mark in with_other_processes("gunicorn serving the example project"):
        test = mark(test)
    return test


def post_callback(port: int, query: dict[str, str], body: dict[str, Any]) -> int:
    """The HTTP status of a callback; 0 when the connection closed without an answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{CALLBACK_PATH}?{urlencode(query)}",
        data=json.dumps(body).encode(),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except RemoteDisconnected:
        return 0


def served(
    tmp_path: Path, arguments: tuple[str, ...], environment: dict[str, str], body: dict[str, Any]
) -> tuple[dict[str, str], int, str, str]:
    """One signed callback to gunicorn started with ``arguments``: its query, its status, and
    everything gunicorn wrote to stdout (the access log) and stderr (the error log)."""
    query = callback_query()
    stdout_path, stderr_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with (
        stdout_path.open("wb") as stdout,
        stderr_path.open("wb") as stderr,
        gunicorn(arguments, environment, stdout=stdout, stderr=stderr) as port,
    ):
        status = post_callback(port, query, body)
    return query, status, stdout_path.read_text(), stderr_path.read_text()


def callback_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if CALLBACK_PATH in line]


@under_gunicorn
def test_the_access_log_is_on_and_has_no_sign(tmp_path: Path) -> None:
    body = sample("text") | {"MsgKey": "1_1_1717000001"}
    query, status, access_log, error_log = served(
        tmp_path, (*ASGI, *PRELOAD), project_environment(tmp_path), body
    )
    assert status == 200
    [line] = callback_lines(access_log)
    assert f"&Sign={REDACTED}&RequestTime={query['RequestTime']}" in line
    assert '" 200 ' in line
    assert query["Sign"] not in access_log + error_log


@under_gunicorn
def test_a_worker_timeout_logs_no_sign(tmp_path: Path) -> None:
    # A receiver that outlasts the worker timeout: gunicorn aborts the sync worker in the
    # middle of the request and logs the request line with the traceback.
    environment = project_environment(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.gunicorn_slow_settings",
        RECEIVER_SLEEP="60",
        RECEIVER_FAIL=str(tmp_path / "no-failure"),
        RECEIVER_MARKER=str(tmp_path / "received"),
    )
    body = sample("text") | {"MsgKey": "1_1_1717000002"}
    query, status, access_log, error_log = served(
        tmp_path, (*SYNC, *PRELOAD, "--timeout", "1"), environment, body
    )
    assert status == 500
    assert "WORKER TIMEOUT" in error_log
    [error] = [line for line in error_log.splitlines() if "Error handling request" in line]
    assert f"{CALLBACK_PATH}?" in error
    assert f"&Sign={REDACTED}&" in error
    [access] = callback_lines(access_log)
    assert f"&Sign={REDACTED}&" in access
    assert '" 500 ' in access
    assert query["Sign"] not in access_log + error_log


# ------------------------------------------------------------- the filters, in this process


@pytest.fixture
def gunicorn_loggers() -> Iterator[list[logging.Logger]]:
    loggers = [logging.getLogger(name) for name in GUNICORN_LOGGERS]
    saved = [(list(logger.filters), list(logger.handlers), logger.level) for logger in loggers]
    yield loggers
    for logger, (filters, handlers, level) in zip(loggers, saved, strict=True):
        logger.filters[:], logger.handlers[:] = filters, handlers
        logger.setLevel(level)


def test_the_filters_sit_on_the_loggers_once(gunicorn_loggers: list[logging.Logger]) -> None:
    redact_sign_in_gunicorn_logs()
    redact_sign_in_gunicorn_logs()  # gunicorn reads its configuration file again on HUP
    for logger in gunicorn_loggers:
        assert sum(isinstance(item, RedactSignFilter) for item in logger.filters) == 1


def test_a_handler_added_afterwards_gets_redacted_records(
    gunicorn_loggers: list[logging.Logger],
) -> None:
    redact_sign_in_gunicorn_logs()
    sign = compute_sign("current-token", "1717000000")
    stream = io.StringIO()
    access = logging.getLogger("gunicorn.access")
    # As gunicorn does: its own handler, set up after the configuration file ran, and the
    # access line formatted from a dict of "atoms".
    access.addHandler(logging.StreamHandler(stream))
    access.setLevel(logging.INFO)
    access.info('"%(r)s" %(s)s', {"r": f"POST /hook?Sign={sign}&RequestTime=1 HTTP/1.1", "s": 200})
    assert stream.getvalue() == f'"POST /hook?Sign={REDACTED}&RequestTime=1 HTTP/1.1" 200\n'
