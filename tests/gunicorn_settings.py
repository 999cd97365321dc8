"""The example project, plus a receiver that counts message_received: for tests/test_gunicorn.py."""

from project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.signal_counter"]  # noqa: F405
