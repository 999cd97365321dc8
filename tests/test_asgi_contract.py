"""The webhook's contract under uvicorn serving project/asgi.py, as tests/test_gunicorn.py
checks it under gunicorn: the same test (imported, not copied) against this module's
``server``, several uvicorn worker processes on PostgreSQL. Parallel deliveries with distinct
and repeated MsgKeys are stored once each, with one signal each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import with_other_processes
from tests.gunicorn_process import CALLBACK_PATH, project_environment, uvicorn
from tests.test_gunicorn import WORKERS
from tests.test_gunicorn import (
    test_parallel_deliveries_under_gunicorn as test_parallel_deliveries_under_uvicorn,
)

pytestmark = with_other_processes("several processes writing at once")

__all__ = ["test_parallel_deliveries_under_uvicorn"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """uvicorn on project/asgi.py (WebhookGuard around Django's ASGI handler), with the
    receiver that counts message_received."""
    counter = tmp_path / "signals.txt"
    environment = project_environment(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.gunicorn_settings",
        SIGNAL_COUNT_FILE=str(counter),
    )
    arguments = ("project.asgi:application", "--workers", str(WORKERS), "--log-level", "warning")
    with uvicorn(arguments, environment) as port:
        yield f"http://127.0.0.1:{port}{CALLBACK_PATH}", counter
