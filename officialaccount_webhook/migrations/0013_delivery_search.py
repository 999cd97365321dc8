"""The delivery list's search (admin/triage.py), served by indexes at millions of deliveries.

- ``officialaccount_delivery_addr`` on ``(remote_addr, -received_at)``: an IP address searched
  for finds its deliveries, newest first, instead of reading the table.
- ``officialaccount_delivery_reason_trgm``, PostgreSQL only: a trigram index on the refusals'
  ``UPPER(reason)`` (what a case-insensitive "contains" compares), partial to the outcomes that
  have a reason (``triage.REFUSALS``), so a reason word finds its refusals without reading them
  all. It needs pg_trgm, which migration 0003 creates. It is not in the model's ``Meta``
  (``concurrent_indexes.RunSQLOnPostgreSQL`` says why); SQLite has no such index and reads the
  refusals, as it always did.

Both are built CONCURRENTLY on PostgreSQL, so a busy delivery table keeps taking callbacks; that
cannot run in a transaction, hence ``atomic = False``. docs/upgrading.md says what to do if a
concurrent build is interrupted.
"""

from django.db import migrations, models

from officialaccount_webhook.concurrent_indexes import (
    AddIndexConcurrentlyOnPostgreSQL,
    RunSQLOnPostgreSQL,
)

REASON_INDEX = "officialaccount_delivery_reason_trgm"


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("officialaccount_webhook", "0012_health_index")]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="callbackdelivery",
            index=models.Index(
                fields=["remote_addr", "-received_at"], name="officialaccount_delivery_addr"
            ),
        ),
        RunSQLOnPostgreSQL(
            f"CREATE INDEX CONCURRENTLY {REASON_INDEX} "
            "ON officialaccount_webhook_callbackdelivery "
            "USING gin (UPPER(reason) gin_trgm_ops) "
            "WHERE outcome IN ('rejected', 'refused')",
            f"DROP INDEX CONCURRENTLY IF EXISTS {REASON_INDEX}",
        ),
    ]
