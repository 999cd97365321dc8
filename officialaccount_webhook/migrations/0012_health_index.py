"""The health probe's index: each app's last accepted callback (``ops.probe``), a partial index on
``(sdk_app_id, -received_at) WHERE status_code = 200`` so that refused requests, which carry the
configured SDKAppID too, are never walked past.

On PostgreSQL it is built CONCURRENTLY (Django's ``AddIndexConcurrently``), so a busy delivery
table keeps taking callbacks while it is built; that cannot run in a transaction, hence
``atomic = False``. Elsewhere (SQLite) it is a plain ``CREATE INDEX``. docs/upgrading.md says what
to do if a concurrent build is interrupted.
"""

from django.db import migrations, models

# Shared with the later migrations that build indexes concurrently (0013).
from officialaccount_webhook.concurrent_indexes import AddIndexConcurrentlyOnPostgreSQL


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("officialaccount_webhook", "0011_moderation"),
    ]

    operations = [
        AddIndexConcurrentlyOnPostgreSQL(
            model_name="callbackdelivery",
            index=models.Index(
                condition=models.Q(("status_code", 200)),
                fields=["sdk_app_id", "-received_at"],
                name="officialaccount_delivery_ok",
            ),
        ),
    ]
