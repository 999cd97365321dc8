"""An overall time limit for a series of REST calls: a recall's batches, their retries, and
the waits between them (``RECALL_TIME_BUDGET``).

Each call's own limits (``REST_CONNECT_TIMEOUT``, ``REST_READ_TIMEOUT``, retries) bound one call;
a recall of a hundred messages makes ten calls, each of which may be tried four times, while an
admin page or an API request waits for all of them, and gunicorn kills its worker at 30 s. The
budget bounds the whole: each attempt's connect and answer are cut to what is left of it, and
no attempt starts that could not get an answer in what is left (:meth:`TimeBudget.allows`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

# A retry with less time than this left would time out before most answers come back, and
# then only add an uncertain attempt: it is not started.
MIN_ATTEMPT_SECONDS = 1.0


class TimeBudget:
    """``seconds`` from now on a monotonic ``clock`` (injectable for tests)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._expires_at = clock() + seconds

    def __repr__(self) -> str:
        return f"<TimeBudget {self.seconds} s, {self.remaining():.3f} s left>"

    def remaining(self) -> float:
        """Seconds left, never below 0."""
        return max(0.0, self._expires_at - self._clock())

    @property
    def spent(self) -> bool:
        return self.remaining() <= 0

    def allows(self, wait: float, attempt: float) -> bool:
        """Whether waiting ``wait`` seconds, then an attempt of at least ``attempt`` seconds,
        fits in what is left."""
        return wait + attempt <= self.remaining()

    def cut(self, timeout: float) -> float:
        """``timeout``, no longer than what is left."""
        return min(timeout, self.remaining())

    def min_attempt(self, read_timeout: float) -> float:
        """The least time worth starting an attempt with: a second; less if the whole answer's
        timeout is shorter (an attempt never needs more than that), or if half the budget is
        (a budget that short is all the caller can wait: its first attempt still goes)."""
        return min(MIN_ATTEMPT_SECONDS, read_timeout, self.seconds / 2)
