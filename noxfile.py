"""The test matrix. `nox` runs every leg; `nox -l` lists them; `nox -s "<name>"` runs one.

Why these legs: Django 5.2 is the LTS most projects run, and 3.11 the oldest Python we
support; Django 6.x needs Python 3.12 or newer, and 3.13 is the newest Python both Django 6.x
and our dependencies support. The two pairs cover the oldest and newest of both. Each runs on
PostgreSQL, the production database (DATABASE_URL, default: the local server), and on SQLite,
the embedded default. The PostgreSQL legs set FAIL_ON_SKIP, so a skipped test fails them.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True

POSTGRES_URL = os.environ.get("POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
MATRIX = [("3.11", "5.2"), ("3.13", "6.1")]


@nox.session
@nox.parametrize("database", ["postgres", "sqlite"])
@nox.parametrize(("python", "django"), MATRIX)
def tests(session: nox.Session, django: str, database: str) -> None:
    # The package's own ranges, then this leg's Django. The test extra brings django-tasks-db
    # without its "compat" extra (which pins Django < 6), so the task worker's tests run on
    # every leg: through the django-tasks backport on 5.2, through django.tasks on 6.
    session.install("-e", ".[test]", f"django~={django}.0")
    env = {"DATABASE_URL": "", "FAIL_ON_SKIP": ""}
    if database == "postgres":
        env = {"DATABASE_URL": POSTGRES_URL, "REQUIRE_POSTGRES": "1", "FAIL_ON_SKIP": "1"}
    session.run("python", "-m", "pytest", *session.posargs, env=env)
