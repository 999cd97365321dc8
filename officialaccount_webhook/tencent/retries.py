"""When a failed call is worth repeating, and how long to wait first."""

from __future__ import annotations

import random

from .errors import TencentChatError

# Rate limits (60007, 60011, 60018, 60019) and Tencent's own timeout (60008): worth a retry.
RETRYABLE_CODES = frozenset({60007, 60008, 60011, 60018, 60019})
# No single wait longer than this: a caller (an admin page, an API request) is waiting.
MAX_RETRY_DELAY = 10.0


def retry_delay(failure: TencentChatError, attempt: int, backoff: float) -> float | None:
    """Exponential backoff with full jitter, or the server's Retry-After; None: too long.

    ``attempt`` counts the retries made so far; ``backoff`` is ``REST_RETRY_BACKOFF``.
    """
    ceiling = min(MAX_RETRY_DELAY, backoff * 2**attempt)
    delay = random.uniform(0, ceiling)  # noqa: S311  (jitter, not cryptography)
    retry_after = getattr(failure, "retry_after", None)
    if retry_after is not None:
        if retry_after > MAX_RETRY_DELAY:
            return None
        delay = max(delay, retry_after)
    return delay
