"""A time budget for each query of the admin's pages and the REST API (``QUERY_TIMEOUT``).

A page or an API call whose query would read a large table row by row (an odd filter, a text
that matches everything) otherwise holds its worker until the server's own timeout kills it,
and the user sees a 500. Inside ``query_budget()`` a statement that runs longer than
``QUERY_TIMEOUT`` seconds is stopped, and ``QueryTimedOut`` says so; the admin and the API turn
it into a message (``admin.budget``, ``api.budget``).

- PostgreSQL: ``statement_timeout``, set with ``SET LOCAL`` semantics in a transaction around
  the block, so that it can never outlive the block on a reused connection.
- SQLite: a progress handler interrupts a statement that runs past its budget.
- Other databases: no limit.

The budget is per statement, as ``statement_timeout`` is: a page of three slow queries may take
three budgets. It is for reading: a write interrupted on SQLite rolls its transaction back.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from .conf import get_settings

# PostgreSQL's SQLSTATE query_canceled: what statement_timeout raises.
_QUERY_CANCELED = "57014"
# SQLite calls the progress handler every this many virtual-machine steps: often enough to stop
# within a fraction of a millisecond past the budget, rarely enough to cost nothing measurable.
_SQLITE_STEPS = 1000


class QueryTimedOut(Exception):
    """A statement ran longer than ``QUERY_TIMEOUT`` and was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"a query ran longer than {seconds:g} s and was stopped")
        self.seconds = seconds


@contextmanager
def query_budget(using: str = DEFAULT_DB_ALIAS, seconds: float | None = None) -> Iterator[None]:
    """Within the block, each statement on ``using`` may run ``QUERY_TIMEOUT`` seconds (or
    ``seconds``, a budget of the caller's own); one that runs longer raises ``QueryTimedOut``
    (its transaction, or savepoint, rolled back).

    On PostgreSQL the block is a transaction (a savepoint inside one already open): render
    lazy responses inside it, or their queries run without the budget.
    """
    if seconds is None:
        seconds = get_settings().query_timeout
    connection = connections[using]
    if seconds <= 0:
        yield
        return
    try:
        if connection.vendor == "postgresql":
            with _statement_timeout(connection, seconds):
                yield
        elif connection.vendor == "sqlite":
            with _interrupt_after(connection, seconds):
                yield
        else:
            yield
    except OperationalError as error:
        if timed_out(error):
            raise QueryTimedOut(seconds) from error
        raise


def timed_out(error: BaseException) -> bool:
    """Whether a database error is a statement stopped for its time budget."""
    cause = error.__cause__
    # psycopg 3 names the code sqlstate, psycopg2 pgcode.
    code = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if code == _QUERY_CANCELED:
        return True
    return (
        isinstance(cause, sqlite3.OperationalError)
        and getattr(cause, "sqlite_errorname", "") == "SQLITE_INTERRUPT"
    )


@contextmanager
def _statement_timeout(connection: BaseDatabaseWrapper, seconds: float) -> Iterator[None]:
    milliseconds = max(1, math.ceil(seconds * 1000))
    nested = connection.in_atomic_block
    with transaction.atomic(using=connection.alias):
        with connection.cursor() as cursor:
            # set_config(..., true) is SET LOCAL that takes a parameter (SET takes none).
            cursor.execute(
                "SELECT current_setting('statement_timeout'), "
                "set_config('statement_timeout', %s, true)",
                [f"{milliseconds}ms"],
            )
            previous = cursor.fetchone()[0]
        yield
        if nested:
            # A savepoint's SET LOCAL lasts until the enclosing transaction ends (ATOMIC_REQUESTS,
            # a test's transaction): give the rest of that transaction its own value back.
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])


@contextmanager
def _interrupt_after(connection: BaseDatabaseWrapper, seconds: float) -> Iterator[None]:
    connection.ensure_connection()
    raw = connection.connection
    deadline = time.monotonic() + seconds

    def each_statement(execute: Callable[..., Any], *args: Any) -> Any:
        # SQLite computes rows as they are fetched, after execute() returns: the deadline set
        # here also covers the fetching, until the next statement sets its own.
        nonlocal deadline
        deadline = time.monotonic() + seconds
        return execute(*args)

    def past_deadline() -> int:
        return 1 if time.monotonic() > deadline else 0  # non-zero interrupts the statement

    raw.set_progress_handler(past_deadline, _SQLITE_STEPS)
    try:
        with connection.execute_wrapper(each_statement):
            yield
    finally:
        if connection.connection is raw:  # not closed and reopened meanwhile
            raw.set_progress_handler(None, 0)
