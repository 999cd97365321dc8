"""Migration operations that build an index on a busy table without stopping its writes.

On PostgreSQL they use ``CREATE INDEX CONCURRENTLY``, so the delivery table keeps taking
callbacks while the index is built. That statement refuses to run in a transaction: a
migration using them sets ``atomic = False``. If a build is interrupted, PostgreSQL leaves an
invalid index of that name and the migration is not recorded; docs/upgrading.md says to drop
it (``DROP INDEX CONCURRENTLY IF EXISTS <name>``) and migrate again.

Shared by the migrations, which import them from here (a migration's module name starts with a
digit, so one migration cannot import another's class by a plain ``import``). Migrations 0012
and 0013 import this module: it must keep its path and these names for as long as they ship.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


class AddIndexConcurrentlyOnPostgreSQL(migrations.AddIndex):
    """``AddIndex``, built with ``CREATE INDEX CONCURRENTLY`` (and dropped with ``DROP INDEX
    CONCURRENTLY``) on PostgreSQL; plain on every other database."""

    def _for(self, schema_editor: Any) -> migrations.AddIndex:
        if schema_editor.connection.vendor != "postgresql":
            return migrations.AddIndex(self.model_name, self.index)
        # Here, not at the top: django.contrib.postgres needs psycopg, which a SQLite-only
        # install does not have.
        from django.contrib.postgres.operations import AddIndexConcurrently

        return AddIndexConcurrently(self.model_name, self.index)

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._for(schema_editor).database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        self._for(schema_editor).database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"{super().describe()} (concurrently on PostgreSQL)"


class RunSQLOnPostgreSQL(migrations.RunSQL):
    """``RunSQL`` on PostgreSQL only, for an index only PostgreSQL has (a trigram index); every
    other database skips it.

    Such an index is not in the model's ``Meta``: the migration state would then hold it, and
    SQLite, which rebuilds a table and all the indexes of its state whenever a migration alters
    it, would fail on ``USING gin``. So makemigrations never sees it; the SQL names it whole."""

    def database_forwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(
        self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any
    ) -> None:
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"{super().describe()} (PostgreSQL only)"
