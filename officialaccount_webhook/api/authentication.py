"""HTTP Basic authentication for the REST API that stops guessing before it costs a password hash.

Each wrong password costs the server one hash of the password (PBKDF2: hundreds of
milliseconds of a worker): sixteen clients guessing at once keep every worker hashing, and the
webhook's callbacks, served by the same workers, wait past Tencent's deadline.
:class:`ThrottledBasicAuthentication` counts failed attempts per client address and per
username in Django's cache, and once either has failed :attr:`~ThrottledBasicAuthentication.
max_failures` times within :attr:`~ThrottledBasicAuthentication.window` seconds, refuses with a
429 and a Retry-After before looking at the password.

Basic authentication is off in the example project unless ``OFFICIALACCOUNT_API_BASIC_AUTH``
says otherwise; prefer DRF's token authentication for services (docs/recall.md).
"""

from __future__ import annotations

import hashlib
import math
import time
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BasicAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from ..conf import get_settings
from ..webhook.inbound import client_address

CACHE_KEY_PREFIX = "officialaccount_webhook:basic-auth-failures"


class TooManyFailures(Throttled):
    default_detail = _(
        "Too many failed sign-ins from this address or for this username: Basic "
        "authentication is refused for a while, without checking the password."
    )
    default_code = "too_many_failed_sign_ins"


class ThrottledBasicAuthentication(BasicAuthentication):
    """DRF's ``BasicAuthentication``, refusing (429) an address or a username that failed too
    often lately, before the password is hashed.

    The count is an estimate over a sliding window: the failures of the current window plus
    the previous window's, weighted by how much of it still overlaps. Set :attr:`cache_alias`
    to a cache every worker process shares (the default ``LocMemCache`` counts per process).
    Subclass to change the limits; :meth:`clock` is the wall clock, replaceable in tests.
    """

    max_failures = 10
    window = 300
    """Seconds."""
    cache_alias = "default"

    @staticmethod
    def clock() -> float:
        return time.time()

    def authenticate_credentials(
        self, userid: str, password: str, request: Request | None = None
    ) -> Any:
        subjects = self._subjects(userid, request)
        now = self.clock()
        worst = max(self._failures(subject, now) for subject in subjects)
        if worst >= self.max_failures:
            raise TooManyFailures(wait=self.window - now % self.window)
        try:
            return super().authenticate_credentials(userid, password, request)
        except AuthenticationFailed:
            for subject in subjects:
                self._count_failure(subject, now)
            raise

    def _subjects(self, userid: str, request: Request | None) -> list[str]:
        address = "unknown"
        if request is not None:
            address = client_address(request.META, get_settings().trusted_proxies) or "unknown"
        # Hashed: a username or an address may hold what a cache key may not (memcached).
        return [
            hashlib.sha256(f"{kind}:{value}".encode(errors="surrogatepass")).hexdigest()
            for kind, value in (("address", address), ("username", userid))
        ]

    @property
    def _cache(self) -> BaseCache:
        return caches[self.cache_alias]

    def _key(self, subject: str, bucket: int) -> str:
        return f"{CACHE_KEY_PREFIX}:{subject}:{bucket}"

    def _failures(self, subject: str, now: float) -> float:
        bucket, into = divmod(now, self.window)
        current, previous = (self._key(subject, int(bucket) - back) for back in (0, 1))
        counts = self._cache.get_many([current, previous])
        overlap = 1 - into / self.window
        return float(counts.get(current, 0)) + float(counts.get(previous, 0)) * overlap

    def _count_failure(self, subject: str, now: float) -> None:
        key = self._key(subject, int(now // self.window))
        # Kept for two windows: the next one still weighs this one's failures.
        timeout = math.ceil(2 * self.window)
        if not self._cache.add(key, 1, timeout):
            try:
                self._cache.incr(key)
            except ValueError:  # expired between add and incr
                self._cache.set(key, 1, timeout)
