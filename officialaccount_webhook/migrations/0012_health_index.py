"""The health probe's index: each app's last accepted callback (``ops.probe``), a partial index on
``(sdk_app_id, -received_at) WHERE status_code = 200`` so that refused requests, which carry the
configured SDKAppID too, are never walked past.

On PostgreSQL it is built CONCURRENTLY (Django's ``AddIndexConcurrently``), so a busy delivery
table keeps taking callbacks while it is built; that cannot run in a transaction, hence
``atomic = False``. Elsewhere (SQLite) it is a plain ``CREATE INDEX``. docs/upgrading.md says what
to do if a concurrent build is interrupted.
"""

from django.db import migrations, models


class AddIndexConcurrentlyOnPostgreSQL(migrations.AddIndex):
    """``AddIndex``, built with ``CREATE INDEX CONCURRENTLY`` (and dropped with ``DROP INDEX
    CONCURRENTLY``) on PostgreSQL; plain on every other database."""

    def _for(self, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return migrations.AddIndex(self.model_name, self.index)
        # Here, not at the top: django.contrib.postgres needs psycopg, which a SQLite-only
        # install does not have.
        from django.contrib.postgres.operations import AddIndexConcurrently

        return AddIndexConcurrently(self.model_name, self.index)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._for(schema_editor).database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._for(schema_editor).database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"{super().describe()} (concurrently on PostgreSQL)"


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
