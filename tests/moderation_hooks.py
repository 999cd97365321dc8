"""Hooks that misbehave, for tests/test_moderation_gunicorn.py: one sleeps far past the budget
(and leaves a mark when it wakes), one raises."""

from __future__ import annotations

import os
import time
from pathlib import Path

from officialaccount_webhook.moderation.decisions import Decision
from officialaccount_webhook.moderation.events import HookEvent

SLEEP_SECONDS = 10


def sleeps(event: HookEvent) -> Decision:
    time.sleep(SLEEP_SECONDS)
    Path(os.environ["MODERATION_TEST_MARKS"], "woke").touch()
    return Decision.refuse("too late to matter")


def raises(event: HookEvent) -> Decision:
    raise RuntimeError("a hook that fails")
