"""The HTTP layer of Tencent's REST API, on httpx.

One :class:`Transport` per client keeps one ``httpx.Client``, so calls reuse connections. It
owns the connect timeout, the whole-answer deadline (``REST_READ_TIMEOUT``, see
:mod:`.pool`), the reply size cap, TLS verification, Retry-After, and turns every failure into
a :class:`.TencentTransportError` that says whether a retry may help (``retryable``) and
whether Tencent may have received the request (``sent``).
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlencode

import httpx
from django.views.decorators.debug import sensitive_variables

from ..conf import RestSettings
from .budget import TimeBudget
from .errors import TencentTransportError
from .pool import WIRE_ONLY_QUERY, Deadline, PoolTransport

# Tencent's replies are a few KB; more is not a reply worth reading into memory.
MAX_REPLY_BYTES = 1024 * 1024
_RETRYABLE_HTTP_STATUS = frozenset({429, 500, 502, 503, 504})
# Idle connections kept for the next calls, and for how long: a server may close an idle one
# first, and a request sent on it just then fails after it was sent (so: uncertain).
_MAX_IDLE_CONNECTIONS = 10
_KEEPALIVE_EXPIRY = 5.0


class Transport:
    """POSTs JSON to ``<base_url>/v4/<service>/<command>`` and returns the JSON object answered.

    ``clock`` is the monotonic clock of the deadline; ``scrub`` takes secrets out of the text
    of an error. Thread-safe; :meth:`close` closes its connections.
    """

    def __init__(
        self,
        base_url: str,
        rest: RestSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        scrub: Callable[[str], str] = str,
    ) -> None:
        self.base_url = base_url
        self._read_timeout = rest.read_timeout
        self._connect_timeout = rest.connect_timeout
        self._clock = clock
        self._scrub = scrub
        self._client = httpx.Client(
            transport=PoolTransport(
                # The system's trust store, as before; a refused certificate is not retried.
                ssl_context=ssl.create_default_context(),
                max_idle=_MAX_IDLE_CONNECTIONS,
                keepalive_expiry=_KEEPALIVE_EXPIRY,
            ),
            # Each read or write also keeps to the deadline, which the pool applies.
            timeout=httpx.Timeout(
                connect=rest.connect_timeout,
                read=rest.read_timeout,
                write=rest.read_timeout,
                pool=rest.connect_timeout,
            ),
            headers={"Content-Type": "application/json", "Accept-Encoding": "identity"},
            # Each call stands alone: no cookie carries state from one to the next.
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            # No proxy, netrc or CA bundle from the environment: what the settings say only.
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"<Transport base_url={self.base_url!r}>"

    def close(self) -> None:
        self._client.close()

    @sensitive_variables("secret_query")
    def post(
        self,
        service: str,
        command: str,
        body: dict[str, Any],
        *,
        query: Mapping[str, str | int],
        secret_query: Mapping[str, str],
        budget: TimeBudget | None = None,
    ) -> dict[str, Any]:
        """POST ``body``; ``secret_query`` goes into the URL on the wire only (see :mod:`.pool`).

        With a ``budget``, connecting and the whole answer end when it runs out, if sooner.
        Raises :class:`.TencentTransportError` for anything but a 200 with a JSON object.
        """
        deadline = Deadline(self._read_timeout, self._clock, budget)
        connect, read = self._connect_timeout, self._read_timeout
        if budget is not None:
            if budget.spent:
                raise budget_spent(command)
            connect, read = budget.cut(connect), budget.cut(read)
        try:
            with (
                deadline.applied(),
                self._client.stream(
                    "POST",
                    f"{self.base_url}/v4/{service}/{command}",
                    params=query,
                    content=json.dumps(body).encode(),
                    extensions={WIRE_ONLY_QUERY: urlencode(secret_query).encode()},
                    timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
                ) as response,
            ):
                data = _read_limited(response)
        except _ReplyTooLarge:
            raise TencentTransportError(
                f"{command}: the reply is over {MAX_REPLY_BYTES} bytes", retryable=False, sent=True
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._failure(command, exc, sent=deadline.started) from None
        if response.status_code != 200:
            raise TencentTransportError(
                f"{command}: HTTP {response.status_code}",
                retryable=response.status_code in _RETRYABLE_HTTP_STATUS,
                sent=response.status_code >= 500,
                retry_after=retry_after(response.headers.get("Retry-After")),
            )
        try:
            reply = json.loads(data)
        except (ValueError, RecursionError):
            raise TencentTransportError(
                f"{command}: the reply is not JSON", retryable=False, sent=True
            ) from None
        if not isinstance(reply, dict):
            raise TencentTransportError(
                f"{command}: the reply is not a JSON object", retryable=False, sent=True
            )
        return reply

    def _failure(self, command: str, exc: Exception, *, sent: bool) -> TencentTransportError:
        if isinstance(exc, httpx.TimeoutException):
            return TencentTransportError(f"{command}: timed out", retryable=True, sent=sent)
        cause = _root_cause(exc)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return TencentTransportError(
                f"{command}: the server's certificate was refused ({cause.verify_message})",
                retryable=False,
            )
        # Named after what failed underneath (ConnectionRefusedError, say), as httpx's own
        # wrapper says little. The text names the failure, never the URL; scrubbed all the same.
        return TencentTransportError(
            self._scrub(f"{command}: {type(cause).__name__}: {cause}"), retryable=True, sent=sent
        )


def budget_spent(command: str) -> TencentTransportError:
    """The error of an attempt not made because the time budget had run out: nothing was sent,
    so nothing was done."""
    return TencentTransportError(
        f"{command}: not sent, the time budget for these calls ran out", retryable=False
    )


class _ReplyTooLarge(Exception):
    pass


def _read_limited(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_raw():
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise _ReplyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _root_cause(exc: BaseException) -> BaseException:
    """What failed underneath. httpcore wraps it as its own error's argument, and its pool
    re-raises that error ``from None``, so the chain of causes alone stops short of it."""
    while True:
        inner = exc.__cause__ or next((a for a in exc.args if isinstance(a, BaseException)), None)
        if inner is None:
            return exc
        exc = inner


def retry_after(value: str | None) -> float | None:
    """Retry-After in seconds, when given as seconds (an HTTP date is ignored)."""
    if value and value.strip().isascii() and value.strip().isdigit():
        return float(value.strip())
    return None
