"""What every PostgreSQL benchmark does first: its own database, Django set up on it, migrated.

Each benchmark has a database of its own (``BENCH_DATABASE_URL``, else its default), so that
filling one never disturbs another's data, and runs with ``DEBUG`` off, as in production
(``DEBUG`` also keeps every query in memory).
"""

from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit


def ensure_database(url: str) -> None:
    """Create the database ``url`` names if it does not exist yet."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def start_django(default_url: str, sdk_app_id: int) -> str:
    """Point the example project at the benchmark's database (created if need be), set Django
    up and migrate; the database's URL."""
    url = os.environ.get("BENCH_DATABASE_URL") or default_url
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark is for PostgreSQL: set BENCH_DATABASE_URL to a postgres:// URL.")
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("TENCENT_CHAT_SDKAPPID", str(sdk_app_id))
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SECRET_KEY", "benchmark-only")
    os.environ["DJANGO_DEBUG"] = "0"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return url
