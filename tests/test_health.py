"""The health endpoint: 200 while this node can store callbacks, 503 when its database does not
answer or its spool holds callbacks; the status alone for anyone, the details for staff and the
bearer of HEALTH_TOKEN; one statement; never cached."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from officialaccount_webhook.conf import get_settings
from officialaccount_webhook.models import CallbackDelivery
from officialaccount_webhook.ops import health, probe
from officialaccount_webhook.webhook import spool, spooling
from tests.settings import SIGNED_APP, UNSIGNED_APP
from tests.test_spool import database_unreachable, record

HEALTH_TOKEN = "monitor-token-for-tests"
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def spool_dir(tmp_path: Path) -> Iterator[Path]:
    conf = {
        "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": ["t"]}, UNSIGNED_APP: {"ACCEPT_UNSIGNED": True}},
        "SPOOL_DIR": str(tmp_path / "spool"),
        "HEALTH_TOKEN": HEALTH_TOKEN,
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        yield tmp_path / "spool"


def get(client: Client | None = None, **headers: str) -> Any:
    return (client or Client()).get(reverse("officialaccount_webhook:health"), headers=headers)


def delivery(sdk_app_id: int, at: datetime, status_code: int = 200) -> None:
    CallbackDelivery.objects.create(
        sdk_app_id=sdk_app_id,
        command="OfficialAccount.CallbackAfterSendMsg",
        outcome="accepted" if status_code == 200 else "rejected",
        status_code=status_code,
        received_at=at,
    )


@pytest.mark.django_db
def test_healthy_anyone_gets_the_status_alone_never_cached(spool_dir: Path) -> None:
    response = get()
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]
    assert reverse("officialaccount_webhook:health") == "/webhooks/tencent-chat/health/"


@pytest.mark.django_db
def test_the_bearer_of_the_token_and_staff_get_the_details(spool_dir: Path) -> None:
    expected_keys = {"status", "failing", "checked_at", "database", "spool", "task_backlog", "apps"}
    by_token = get(Authorization=f"Bearer {HEALTH_TOKEN}").json()
    assert set(by_token) == expected_keys
    assert by_token["spool"] | {"counted_up_to": 0} == {
        "configured": True,
        "pending": 0,
        "quarantined": 0,
        "counted_up_to": 0,
    }
    assert by_token["apps"] == {
        str(SIGNED_APP): {"last_accepted_at": None, "age_seconds": None},
        str(UNSIGNED_APP): {"last_accepted_at": None, "age_seconds": None},
    }
    assert get(Authorization="Bearer wrong-token").json() == {"status": "ok"}
    assert get(Authorization=HEALTH_TOKEN).json() == {"status": "ok"}
    staff = Client()
    staff.force_login(User.objects.create_user("ops", is_staff=True))
    assert set(get(staff).json()) == expected_keys
    plain = Client()
    plain.force_login(User.objects.create_user("someone"))
    assert get(plain).json() == {"status": "ok"}


@pytest.mark.django_db
def test_the_details_hold_no_secret(spool_dir: Path) -> None:
    text = get(Authorization=f"Bearer {HEALTH_TOKEN}").content.decode()
    assert HEALTH_TOKEN not in text
    assert '"t"' not in text


@pytest.mark.django_db
def test_no_token_configured_means_staff_only(spool_dir: Path) -> None:
    conf = get_settings()
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"SPOOL_DIR": str(conf.spool_dir)}):
        assert get(Authorization="Bearer ").json() == {"status": "ok"}


@pytest.mark.django_db
def test_callbacks_waiting_in_the_spool_are_a_503(spool_dir: Path) -> None:
    spool.write(spool_dir, record(1))
    spool.write(spool_dir, record(2))
    response = get(Authorization=f"Bearer {HEALTH_TOKEN}")
    assert response.status_code == 503
    body = response.json()
    assert (body["status"], body["failing"], body["database"]) == ("unavailable", ["spool"], "ok")
    assert (body["spool"]["pending"], body["spool"]["quarantined"]) == (2, 0)
    assert get().json() == {"status": "unavailable"}


@pytest.mark.django_db
def test_quarantined_records_are_reported_not_failed_on(spool_dir: Path) -> None:
    quarantine = spool_dir / spooling.QUARANTINE_DIR
    spool.write(quarantine, record(1))
    spooling._write_attempts(quarantine, "anything", spooling.Attempts(5, "DataError: x"))
    response = get(Authorization=f"Bearer {HEALTH_TOKEN}")
    assert response.status_code == 200
    assert (response.json()["spool"]["pending"], response.json()["spool"]["quarantined"]) == (0, 1)


@pytest.mark.django_db(transaction=True)
def test_a_database_that_does_not_answer_is_a_503(spool_dir: Path) -> None:
    with database_unreachable():
        response = get(Authorization=f"Bearer {HEALTH_TOKEN}")
        anonymous = get()
    assert response.status_code == 503
    body = response.json()
    assert (body["failing"], body["database"], body["apps"]) == (["database"], "unavailable", {})
    assert (anonymous.status_code, anonymous.json()) == (503, {"status": "unavailable"})
    assert get().status_code == 200  # back


@pytest.mark.django_db
def test_the_last_accepted_callback_per_app_and_its_age(spool_dir: Path) -> None:
    delivery(SIGNED_APP, NOW - timedelta(seconds=300))
    delivery(SIGNED_APP, NOW - timedelta(seconds=90))
    delivery(SIGNED_APP, NOW - timedelta(seconds=5), status_code=403)  # refused: not accepted
    delivery(999, NOW - timedelta(seconds=1))  # not a configured app
    result = health.check(get_settings(), NOW)
    assert result.last_accepted == {SIGNED_APP: NOW - timedelta(seconds=90), UNSIGNED_APP: None}
    assert result.details()["apps"][str(SIGNED_APP)] == {
        "last_accepted_at": (NOW - timedelta(seconds=90)).isoformat(),
        "age_seconds": 90.0,
    }


@pytest.mark.django_db
def test_one_statement_whatever_is_measured(
    spool_dir: Path, django_assert_num_queries: Any
) -> None:
    delivery(SIGNED_APP, NOW)
    with task_mode(), django_assert_num_queries(1):
        result = health.check(get_settings(), NOW)
    assert (result.database, result.task_backlog) == (True, 0)
    with django_assert_num_queries(1):
        assert health.check(get_settings(), NOW).task_backlog is None


def task_mode() -> Any:
    conf = get_settings()
    return override_settings(
        TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["oa"]}},
        OFFICIALACCOUNT_WEBHOOK={
            "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": ["t"]}},
            "SPOOL_DIR": str(conf.spool_dir),
            "SIGNAL_MODE": "task",
            "TASK_QUEUE": "oa",
            "HEALTH_TOKEN": HEALTH_TOKEN,
        },
    )


@pytest.mark.django_db
def test_the_task_backlog_counts_the_app_queues_waiting_tasks(spool_dir: Path) -> None:
    def task(status: str = "READY", queue: str = "oa", backend: str = "default") -> None:
        DBTaskResult.objects.create(
            status=status,
            queue_name=queue,
            backend_name=backend,
            args_kwargs={"args": [], "kwargs": {}},
            task_path="officialaccount_webhook.notify.task.deliver_signal",
            run_after=NOW,
        )

    for _ in range(3):
        task()
    task(status="SUCCESSFUL")
    task(status="RUNNING")
    task(queue="other")
    task(backend="elsewhere")
    with task_mode():
        body = get(Authorization=f"Bearer {HEALTH_TOKEN}").json()
    assert body["task_backlog"] == 3


def test_the_spool_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probe, "MAX_COUNTED", 3)
    for n in range(5):
        (tmp_path / f"{n}{spool.RECORD_SUFFIX}").touch()
    (tmp_path / f"x{spool.TEMP_SUFFIX}").touch()
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"SPOOL_DIR": str(tmp_path)}):
        assert probe.spool_depth(get_settings()) == probe.SpoolDepth(pending=3, quarantined=0)


@pytest.mark.django_db
def test_only_get_and_head(spool_dir: Path) -> None:
    url = reverse("officialaccount_webhook:health")
    assert Client().head(url).status_code == 200
    assert Client().post(url).status_code == 405


@pytest.mark.django_db
def test_reachable_behind_login_required_middleware(spool_dir: Path) -> None:
    from django.conf import settings

    middleware = [*settings.MIDDLEWARE, "django.contrib.auth.middleware.LoginRequiredMiddleware"]
    with override_settings(MIDDLEWARE=middleware):
        assert get().status_code == 200
