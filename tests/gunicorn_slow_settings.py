"""The example project with a message_received receiver that sleeps RECEIVER_SLEEP seconds in
the request (tests/slow_receiver): for the worker timeout of tests/test_gunicorn_logs.py."""

from project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.slow_receiver"]  # noqa: F405
