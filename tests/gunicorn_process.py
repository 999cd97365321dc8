"""gunicorn started in the repository's root, so that it reads gunicorn.conf.py, serving the
example project on the test database: for tests/test_gunicorn_logs.py,
tests/test_slow_clients.py, tests/test_hardening_webhook.py and tests/test_metrics.py; and
uvicorn the same way, for tests/test_asgi_contract.py and tests/test_scale_out.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.conftest import TOKEN, subprocess_database_url
from tests.settings import SIGNED_APP

ROOT = Path(__file__).resolve().parent.parent
CALLBACK_PATH = "/webhooks/tencent-chat/"
# The recommended set-up (docs/operations.md): gunicorn's own ASGI worker on project/asgi.py.
ASGI = ("project.asgi:application", "--worker-class", "asgi")
# gunicorn's default: sync workers on project/wsgi.py.
SYNC = ("project.wsgi:application", "--worker-class", "sync")
# The project is loaded before gunicorn listens, so that once it accepts connections its
# workers answer at once: no measured time is a worker's start.
PRELOAD = ("--preload",)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def project_environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The example project's environment, on the test database, with the tests' token."""
    return (
        os.environ
        | {
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DATABASE_URL": subprocess_database_url(),
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "gunicorn-test-" + "x" * 40,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "TENCENT_CHAT_SDKAPPID": str(SIGNED_APP),
            "TENCENT_CHAT_CALLBACK_TOKEN": TOKEN,
            "OFFICIALACCOUNT_SPOOL_DIR": str(tmp_path / "spool"),
            "OFFICIALACCOUNT_SIGNAL_MODE": "on_commit",
        }
        | extra
    )


@contextmanager
def gunicorn(
    arguments: tuple[str, ...],
    environment: dict[str, str],
    *,
    stdout: IO[bytes] | None = None,
    stderr: IO[bytes] | None = None,
) -> Iterator[int]:
    """gunicorn with ``arguments``, from the repository's root; yields its port once it
    accepts connections, and stops it (SIGTERM, then waits) on the way out."""
    port = free_port()
    command = ["-m", "gunicorn", *arguments, "--bind", f"127.0.0.1:{port}"]
    with serving(command, port, environment, stdout=stdout, stderr=stderr):
        yield port


@contextmanager
def uvicorn(arguments: tuple[str, ...], environment: dict[str, str]) -> Iterator[int]:
    """uvicorn, another ASGI server, as :func:`gunicorn` runs gunicorn."""
    port = free_port()
    command = ["-m", "uvicorn", *arguments, "--host", "127.0.0.1", "--port", str(port)]
    with serving(command, port, environment):
        yield port


@contextmanager
def serving(
    command: list[str],
    port: int,
    environment: dict[str, str],
    *,
    stdout: IO[bytes] | None = None,
    stderr: IO[bytes] | None = None,
) -> Iterator[None]:
    """``python command`` from the repository's root, until it accepts connections on
    ``port``; stopped (SIGTERM, then waits) on the way out."""
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=environment,
        stdout=stdout,
        stderr=stderr,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None, f"{command[1]} exited"
                assert time.monotonic() < deadline, f"{command[1]} did not start listening"
                time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
