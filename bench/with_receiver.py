"""The example project with one message_received receiver connected (bench/receiver_app), so
that the benchmark also measures what a message costs when someone listens: the receiver runs
in the request, after the commit, and signalled_at is recorded."""

from project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.receiver_app"]  # noqa: F405
