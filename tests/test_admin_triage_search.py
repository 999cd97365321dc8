"""The delivery search's indexes (migration 0013): an IP address and a reason word are found
through an index, not by reading the deliveries, and the migration builds them concurrently on
PostgreSQL. The search's results are tested in test_admin_triage.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.models import QuerySet
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from officialaccount_webhook.admin import pagination, triage
from officialaccount_webhook.models import CallbackDelivery
from tests.settings import SIGNED_APP

APP_LABEL = "officialaccount_webhook"
ADDRESS_INDEX = "officialaccount_delivery_addr"
REASON_INDEX = "officialaccount_delivery_reason_trgm"
DELIVERIES = reverse("admin:officialaccount_webhook_callbackdelivery_changelist")
NOW = datetime(2024, 6, 10, 12, 0, 0, tzinfo=UTC)
ROWS = 2000
SKEW = "RequestTime is 612 s in the past: this server's clock is 612 s ahead of RequestTime"


def fill() -> None:
    """Deliveries during a flood of forged Signs from many addresses (nine in ten refused,
    which makes the outcome index no help), a few refused for a skewed clock, and accepted ones
    from Tencent's addresses; then fresh statistics, as in production."""
    rows = []
    for n in range(ROWS):
        outcome, status, reason = "rejected", 403, "Sign does not match any configured token"
        address = f"198.18.{n // 256 % 256}.{n % 256}"
        if n % 10 == 0:
            outcome, status, reason, address = "accepted", 200, "", f"203.0.113.{n % 16}"
        elif n % 1500 == 1:
            reason = SKEW
        rows.append(
            CallbackDelivery(
                received_at=NOW - timedelta(seconds=n),
                sdk_app_id=SIGNED_APP,
                command="OfficialAccount.CallbackAfterSendMsg",
                outcome=outcome,
                status_code=status,
                reason=reason,
                remote_addr=address,
            )
        )
    CallbackDelivery.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # New rows wait in the trigram index's pending list until autovacuum moves them
            # into the index proper, as this does; the planner prices a full list high.
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [REASON_INDEX])
        cursor.execute(f"ANALYZE {CallbackDelivery._meta.db_table}")


def plans(found: QuerySet[CallbackDelivery]) -> list[str]:
    """The plans of the list's two queries of ``found``: its capped count and its first page."""
    with CaptureQueriesContext(connection) as queries:
        pagination.capped_count(found)
        list(found[:50])
    explain = "EXPLAIN" if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN"
    found_plans = []
    with connection.cursor() as cursor:
        for query in queries:
            cursor.execute(f"{explain} {query['sql']}")
            found_plans.append("\n".join(str(row[-1]) for row in cursor.fetchall()))
    return found_plans


# transaction=True: the table is emptied (TRUNCATE) afterwards, not left with the pages of rows
# rolled back, which would change the plans of later tests that read its statistics.
@pytest.mark.django_db(transaction=True)
def test_an_ip_address_is_found_through_its_index() -> None:
    fill()
    found, refused = triage.search(CallbackDelivery.objects.all(), "198.18.0.3")
    assert refused is None and found.count() == 1
    for plan in plans(found):
        assert ADDRESS_INDEX in plan, plan


@pytest.mark.django_db(transaction=True)
def test_a_reason_word_is_found_through_the_trigram_index_on_postgresql() -> None:
    fill()
    found, refused = triage.search(CallbackDelivery.objects.all(), "CLOCK")
    assert refused is None
    assert [row.reason for row in found] == [SKEW] * len(range(1, ROWS, 1500))
    for plan in plans(found):
        # SQLite has no trigram index: it reads the refusals, as the docs say.
        assert (REASON_INDEX in plan) == (connection.vendor == "postgresql"), plan


@pytest.mark.django_db
def test_the_search_page_finds_an_ipv6_address_however_it_is_written(
    admin_client: Client,
) -> None:
    CallbackDelivery.objects.create(
        received_at=NOW,
        command="OfficialAccount.CallbackAfterSendMsg",
        outcome="rejected",
        status_code=403,
        reason="Sign is missing",
        remote_addr="2001:db8::a",
    )
    page = admin_client.get(DELIVERIES, {"q": "2001:DB8:0:0::A"})
    assert [row.remote_addr for row in page.context["cl"].result_list] == ["2001:db8::a"]


# ------------------------------------------------------------------ the migration


def index_definitions() -> dict[str, str]:
    """The delivery search's indexes, by name, as the database keeps them."""
    query = {
        "postgresql": "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN (%s, %s)",
        "sqlite": "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (%s, %s)",
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(query, [ADDRESS_INDEX, REASON_INDEX])
        return {str(name): str(sql) for name, sql in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_migration_0013_builds_the_search_indexes_concurrently_on_postgresql() -> None:
    loader = MigrationLoader(connection)
    migration = loader.get_migration(APP_LABEL, "0013_delivery_search")
    before = loader.project_state((APP_LABEL, "0012_health_index"))
    assert not migration.atomic  # CREATE INDEX CONCURRENTLY refuses to run in a transaction
    postgresql = connection.vendor == "postgresql"
    built = {ADDRESS_INDEX, REASON_INDEX} if postgresql else {ADDRESS_INDEX}
    assert set(index_definitions()) == built  # the test database was migrated through it
    with connection.schema_editor(atomic=migration.atomic) as editor:
        migration.unapply(before.clone(), editor)
    assert index_definitions() == {}
    with (
        CaptureQueriesContext(connection) as queries,
        connection.schema_editor(atomic=migration.atomic) as editor,
    ):
        migration.apply(before.clone(), editor)
    creates = [query["sql"] for query in queries if "CREATE INDEX" in query["sql"]]
    assert len(creates) == len(built)
    concurrently = "CONCURRENTLY " if postgresql else ""
    assert all(create.startswith(f"CREATE INDEX {concurrently}") for create in creates), creates
    definitions: dict[str, Any] = index_definitions()
    assert set(definitions) == built
    assert '"remote_addr", "received_at" DESC' in creates[0]
    if postgresql:
        # Partial to the refusals, the only deliveries with a reason, as the search asks.
        reason = definitions[REASON_INDEX]
        assert "USING gin (upper(reason) gin_trgm_ops)" in reason, reason
        assert "'rejected'" in reason and "'refused'" in reason, reason
        assert [outcome.value for outcome in triage.REFUSALS] == ["rejected", "refused"]
