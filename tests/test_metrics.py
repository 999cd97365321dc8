"""Prometheus metrics: their values after a known sequence of callbacks, in this process and
under gunicorn with two workers in the client's multiprocess mode; receiver failures, Tencent's
answers by ErrorCode and the calls it never answered, the spool's depth, the task backlog's
bounded count; and the app without prometheus-client."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from officialaccount_webhook.messages.recall import recall_messages
from officialaccount_webhook.moderation import BEFORE_COMMANDS
from officialaccount_webhook.ops import metrics, probe
from officialaccount_webhook.signals import message_received
from officialaccount_webhook.webhook import spool
from officialaccount_webhook.webhook.wire import AFTER_MSG_WITHDRAW, AFTER_SEND_MSG
from tests.conftest import ROOT, callback_query, callback_url, sample
from tests.gunicorn_process import SYNC, gunicorn, project_environment
from tests.settings import SIGNED_APP
from tests.tencent import RECALL_PATH, SECRET_KEY, error_reply, recall_body, recall_reply
from tests.test_gunicorn_logs import post_callback
from tests.test_health import ready_tasks
from tests.test_recall import store
from tests.test_spool import record

RECALL_API = "official_account_open_http_svc/official_account_msg_recall"


def the_sequence() -> list[tuple[dict[str, str], Any]]:
    """(query, body): 4 new messages, 2 repeats, a withdrawal, 3 forged Signs, a bad body."""
    new = [sample("text") | {"MsgKey": f"{n}_1_1717000000"} for n in range(4)]
    forged = callback_query(token="forged-token")
    return [
        *((callback_query(), body) for body in new),
        *((callback_query(), body) for body in new[:2]),
        (callback_query(AFTER_MSG_WITHDRAW), sample("withdraw")),
        *((forged, new[0]) for _ in range(3)),
        (callback_query(), {"MsgKey": 5}),
    ]


EXPECTED_CALLBACKS = {
    (AFTER_SEND_MSG, "accepted"): 4,
    (AFTER_SEND_MSG, "duplicate"): 2,
    (AFTER_MSG_WITHDRAW, "withdrawal"): 1,
    (AFTER_SEND_MSG, "rejected"): 3,
    (AFTER_SEND_MSG, "refused"): 1,
}
EXPECTED_REFUSALS = {"authentication": 3, "malformed": 1}


def sample_value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def snapshot() -> dict[str, float]:
    values = {
        f"callbacks {command} {outcome}": sample_value(
            "officialaccount_callbacks_total", command=command, outcome=outcome
        )
        for command, outcome in EXPECTED_CALLBACKS
    }
    values |= {
        f"refusals {reason}": sample_value("officialaccount_callback_refusals_total", reason=reason)
        for reason in EXPECTED_REFUSALS
    }
    values["latency count"] = sample_value("officialaccount_callback_duration_seconds_count")
    return values


def expected_delta() -> dict[str, float]:
    delta = {f"callbacks {c} {o}": float(n) for (c, o), n in EXPECTED_CALLBACKS.items()}
    delta |= {f"refusals {reason}": float(n) for reason, n in EXPECTED_REFUSALS.items()}
    delta["latency count"] = float(sum(EXPECTED_CALLBACKS.values()))
    return delta


@pytest.mark.django_db
def test_a_known_sequence_in_this_process() -> None:
    before = snapshot()
    for query, body in the_sequence():
        Client().post(callback_url(query), data=json.dumps(body), content_type="application/json")
    after = snapshot()
    assert {key: after[key] - before[key] for key in after} == expected_delta()


def test_an_invented_command_is_counted_as_other() -> None:
    assert metrics.command_label("OfficialAccount.CallbackInventedByACaller") == "other"
    assert metrics.command_label(None) == "other"
    assert metrics.command_label(AFTER_SEND_MSG) == AFTER_SEND_MSG
    for command in BEFORE_COMMANDS:  # moderation's commands are this app's own
        assert metrics.command_label(command) == command


@pytest.mark.django_db(transaction=True)
def test_receiver_failures() -> None:
    def receiver(**kwargs: Any) -> None:
        raise RuntimeError("broken")

    before = sample_value("officialaccount_receiver_failures_total", signal="message_received")
    message_received.connect(receiver)
    try:
        query = callback_query()
        response = Client().post(
            callback_url(query), data=json.dumps(sample("text")), content_type="application/json"
        )
    finally:
        message_received.disconnect(receiver)
    assert response.status_code == 200
    after = sample_value("officialaccount_receiver_failures_total", signal="message_received")
    assert after - before == 1


@pytest.mark.django_db
def test_tencent_answers_by_error_code(httpserver: HTTPServer) -> None:
    conf = {
        "APPS": {
            SIGNED_APP: {"SECRET_KEY": SECRET_KEY, "API_BASE_URL": httpserver.url_for("/")},
        }
    }
    answers = iter([error_reply(20001, "not allowed"), None])

    def tencent(request: Request) -> Response:
        reply = next(answers) or recall_reply(dict.fromkeys(recall_body(request)["MsgKeyList"], 0))
        return Response(json.dumps(reply), content_type="application/json")

    httpserver.expect_request(RECALL_PATH, method="POST").respond_with_handler(tencent)

    def count(result: str, code: str) -> float:
        return sample_value(
            "officialaccount_tencent_calls_total", api=RECALL_API, result=result, error_code=code
        )

    before = (count("error", "20001"), count("ok", "0"))
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        first, second = store("81_1_1", "82_1_1")
        recall_messages([first])
        recall_messages([second])
    assert (count("error", "20001") - before[0], count("ok", "0") - before[1]) == (1, 1)


def closed_port() -> int:
    """A local port that nothing listens on: connecting to it is refused."""
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return int(probe_socket.getsockname()[1])


@pytest.mark.django_db
def test_calls_tencent_never_answered_count_as_transport() -> None:
    conf = {
        "APPS": {
            SIGNED_APP: {
                "SECRET_KEY": SECRET_KEY,
                "API_BASE_URL": f"http://127.0.0.1:{closed_port()}/",
            },
        },
        "REST_MAX_RETRIES": 1,
        "REST_RETRY_BACKOFF": 0,
    }

    def count() -> float:
        return sample_value(
            "officialaccount_tencent_calls_total",
            api=RECALL_API,
            result="transport",
            error_code="none",
        )

    before = count()
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        [outcome] = recall_messages(store("83_1_1"))
    assert not outcome.ok
    assert count() - before == 2  # the attempt and its retry


@pytest.mark.django_db
def test_the_task_backlog_gauge_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "MAX_COUNTED", 3)
    ready_tasks(5)
    with override_settings(
        TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["oa"]}},
        OFFICIALACCOUNT_WEBHOOK={"SIGNAL_MODE": "task", "TASK_QUEUE": "oa"},
    ):
        families = parse(metrics.exposition()[0].decode())
    assert families["officialaccount_task_backlog"] == {(): 3.0}


def test_the_spool_depth_is_measured_when_scraped(tmp_path: Path) -> None:
    spool.write(tmp_path, record(1))
    spool.write(tmp_path / "quarantine", record(2))
    spool.write(tmp_path / "quarantine", record(3))
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"SPOOL_DIR": str(tmp_path)}):
        families = parse(metrics.exposition()[0].decode())
    assert families["officialaccount_spool_pending"] == {(): 1.0}
    assert families["officialaccount_spool_quarantined"] == {(): 2.0}


def parse(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    """Each sample's value by its name and sorted labels."""
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample_ in family.samples:
            found.setdefault(sample_.name, {})[tuple(sorted(sample_.labels.items()))] = (
                sample_.value
            )
    return found


# ------------------------------------------------------------------ gunicorn, two workers


@pytest.fixture
def two_workers(transactional_db: None, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The example project under gunicorn, two sync workers, in the multiprocess mode."""
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    environment = project_environment(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(multiproc))
    arguments = (*SYNC, "--workers", "2", "--log-level", "warning")
    with gunicorn(arguments, environment) as port:
        yield port, multiproc


def test_a_known_sequence_under_gunicorn_with_two_workers(two_workers: tuple[int, Path]) -> None:
    port, multiproc = two_workers
    sequence = the_sequence()
    # New messages first, so that the repeats are duplicates whichever worker takes them.
    first, rest = sequence[:4], sequence[4:]
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda item: post_callback(port, *item), first))
        statuses += list(pool.map(lambda item: post_callback(port, *item), rest))
    assert statuses == [200] * 7 + [403] * 3 + [400]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        families = parse(response.read().decode())
    callbacks = {
        (labels["command"], labels["outcome"]): value
        for labels, value in (
            (dict(key), value) for key, value in families["officialaccount_callbacks_total"].items()
        )
    }
    assert callbacks == {key: float(n) for key, n in EXPECTED_CALLBACKS.items()}
    refusals = families["officialaccount_callback_refusals_total"]
    assert refusals == {(("reason", r),): float(n) for r, n in EXPECTED_REFUSALS.items()}
    latency = families["officialaccount_callback_duration_seconds_count"]
    assert latency == {(): float(sum(EXPECTED_CALLBACKS.values()))}
    assert families["officialaccount_spool_pending"] == {(): 0.0}
    # Both workers counted: each wrote its own file, and the scrape added them up.
    writers = {path.stem.rsplit("_", 1)[-1] for path in multiproc.glob("*.db")}
    assert len(writers) == 2


def test_the_app_works_without_prometheus_client() -> None:
    script = """
import sys
sys.modules["prometheus_client"] = None  # as if not installed: importing it fails
import django
django.setup()
from django.urls import Resolver404, resolve
from officialaccount_webhook.ops import metrics
assert not metrics.available()
with metrics.track_callback():
    metrics.refused(403)
    metrics.receiver_failed("message_received")
    metrics.tencent_answered("a/b", 0)
try:
    resolve("/metrics")
except Resolver404:
    print("no metrics route")
resolve("/webhooks/tencent-chat/health/")
"""
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={"DJANGO_SETTINGS_MODULE": "tests.settings", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "no metrics route"
