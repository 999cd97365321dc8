"""The health endpoint: 200 while this node can store callbacks, 503 when its database does not
answer or its spool holds callbacks; the status alone for anyone, the details for staff (the
apps of their scope) and the bearer of HEALTH_TOKEN (every app); one statement, which reads the
accepted callbacks' partial index (migration 0012) and counts the task backlog up to a bound;
never cached."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from officialaccount_webhook.conf import get_settings
from officialaccount_webhook.models import AppGrant, CallbackDelivery
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
    expected_keys = {
        *("status", "failing", "checked_at", "database", "spool", "apps"),
        *("task_backlog", "task_backlog_capped"),
    }
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
    assert (body["task_backlog"], body["task_backlog_capped"]) == (3, False)


def ready_tasks(count: int) -> None:
    DBTaskResult.objects.bulk_create(
        DBTaskResult(
            status="READY",
            queue_name="oa",
            backend_name="default",
            args_kwargs={"args": [], "kwargs": {}},
            task_path="officialaccount_webhook.notify.task.deliver_signal",
            run_after=NOW,
        )
        for _ in range(count)
    )


@pytest.mark.django_db
def test_the_task_backlog_count_is_bounded_and_says_at_least(
    spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(probe, "MAX_COUNTED", 3)
    ready_tasks(2)
    with task_mode():
        body = get(Authorization=f"Bearer {HEALTH_TOKEN}").json()
        assert (body["task_backlog"], body["task_backlog_capped"]) == (2, False)
        ready_tasks(3)
        with CaptureQueriesContext(connection) as queries:
            body = get(Authorization=f"Bearer {HEALTH_TOKEN}").json()
    assert (body["task_backlog"], body["task_backlog_capped"]) == (3, True)
    (statement,) = (query["sql"] for query in queries if "COUNT(*)" in query["sql"])
    assert "LIMIT 3" in statement


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


# ------------------------------------------------------------------ who sees which apps


@pytest.mark.django_db
def test_staff_see_the_apps_of_their_scope_the_token_every_app(spool_dir: Path) -> None:
    delivery(SIGNED_APP, NOW)
    delivery(UNSIGNED_APP, NOW)
    everyone = {str(SIGNED_APP), str(UNSIGNED_APP)}
    scoped = User.objects.create_user("scoped", is_staff=True)
    AppGrant.objects.create(sdk_app_id=UNSIGNED_APP, user=scoped)
    staff = Client()
    staff.force_login(scoped)
    assert set(get(staff).json()["apps"]) == {str(UNSIGNED_APP)}
    # The token shows every app, whoever is signed in.
    assert set(get(staff, Authorization=f"Bearer {HEALTH_TOKEN}").json()["apps"]) == everyone
    unlimited = Client()
    unlimited.force_login(User.objects.create_user("unlimited", is_staff=True))
    assert set(get(unlimited).json()["apps"]) == everyone  # no grants: every app
    superuser = Client()
    superuser.force_login(User.objects.create_superuser("root"))
    assert set(get(superuser).json()["apps"]) == everyone


@pytest.mark.django_db
def test_staff_without_grants_see_no_app_when_grants_are_required(spool_dir: Path) -> None:
    conf = get_settings()
    staff = Client()
    staff.force_login(User.objects.create_user("ops", is_staff=True))
    with override_settings(
        OFFICIALACCOUNT_WEBHOOK={
            "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": ["t"]}},
            "SPOOL_DIR": str(conf.spool_dir),
            "REQUIRE_APP_GRANTS": True,
        }
    ):
        body = get(staff).json()
    assert (body["status"], body["apps"]) == ("ok", {})


# ------------------------------------------------------------------ the index (migration 0012)

APP_LABEL = "officialaccount_webhook"
INDEX = "officialaccount_delivery_ok"


def index_definition() -> str:
    """The index's SQL as the database keeps it ("" when there is none)."""
    query = {
        "postgresql": "SELECT indexdef FROM pg_indexes WHERE indexname = %s",
        "sqlite": "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = %s",
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(query, [INDEX])
        row = cursor.fetchone()
    return str(row[0]) if row else ""


@pytest.mark.django_db(transaction=True)
def test_migration_0012_builds_the_partial_index_concurrently_on_postgresql() -> None:
    loader = MigrationLoader(connection)
    migration = loader.get_migration(APP_LABEL, "0012_health_index")
    before = loader.project_state((APP_LABEL, "0011_moderation"))
    assert not migration.atomic  # CREATE INDEX CONCURRENTLY refuses to run in a transaction
    assert INDEX in index_definition()  # the test database was migrated through it
    with connection.schema_editor(atomic=migration.atomic) as editor:
        migration.unapply(before.clone(), editor)
    assert index_definition() == ""
    with (
        CaptureQueriesContext(connection) as queries,
        connection.schema_editor(atomic=migration.atomic) as editor,
    ):
        migration.apply(before.clone(), editor)
    (create,) = (query["sql"] for query in queries if "CREATE INDEX" in query["sql"])
    concurrently = "CONCURRENTLY " if connection.vendor == "postgresql" else ""
    assert create.startswith(f'CREATE INDEX {concurrently}"{INDEX}"')
    assert '("sdk_app_id", "received_at" DESC)' in create
    assert create.endswith('WHERE "status_code" = 200')
    assert INDEX in index_definition()


@pytest.mark.django_db
def test_the_last_accepted_callback_reads_the_partial_index_past_refusals(
    spool_dir: Path,
) -> None:
    # A flood of refused requests that carry the configured SDKAppID, as forged Signs do.
    CallbackDelivery.objects.bulk_create(
        CallbackDelivery(
            sdk_app_id=SIGNED_APP,
            command="OfficialAccount.CallbackAfterSendMsg",
            outcome="rejected",
            status_code=403,
            received_at=NOW - timedelta(seconds=n),
        )
        for n in range(2000)
    )
    for n in range(3):
        delivery(SIGNED_APP, NOW - timedelta(hours=1, seconds=n))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {CallbackDelivery._meta.db_table}")
    with CaptureQueriesContext(connection) as queries:
        result = health.check(get_settings(), NOW)
    assert result.last_accepted[SIGNED_APP] == NOW - timedelta(hours=1)
    (statement,) = (query["sql"] for query in queries)
    explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    with connection.cursor() as cursor:
        cursor.execute(f"{explain} {statement}")
        plan = "\n".join(str(row[-1]) for row in cursor.fetchall())
    assert plan.count(INDEX) == 2, plan  # each app's subquery
    assert "officialaccount_delivery_app" not in plan, plan
