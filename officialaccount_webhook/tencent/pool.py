"""Under the httpx client: the connection pool, whose sockets keep to each request's deadline,
and the query parameters that only the wire sees.

httpx's timeouts bound each socket operation, never a whole answer (encode/httpx#1450): a
server that sends a byte just inside every read timeout holds a call for as long as it likes.
httpcore, which httpx runs on, takes a network backend (public API since httpcore 1.0); the one
here bounds every read and write by what is left of the request's :class:`Deadline`, so the
answer is cut off when ``REST_READ_TIMEOUT`` runs out, whether the headers or the body drip.
httpx gives no way to hand its own transport a backend (encode/httpx#3749, open), so
:class:`PoolTransport` does that transport's work, less proxies and HTTP/2, never used here.

It also adds the secret query parameters (the UserSig) to the request target on its way to the
socket: httpx logs each request's URL (INFO, logger ``httpx``) and keeps it in its requests,
their ``repr`` and its exceptions, none of which should hold a secret.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, Protocol, runtime_checkable

import httpcore
import httpx
from django.views.decorators.debug import sensitive_variables

from .budget import TimeBudget

WIRE_ONLY_QUERY = "officialaccount_webhook.wire_only_query"
"""Request extension: an encoded query string, added to the URL's only on the wire."""

# One per thread (and per task): a client shared by threads runs their requests side by side.
_current_deadline: ContextVar[Deadline | None] = ContextVar("tencent_deadline", default=None)


class Deadline:
    """The whole-answer time limit of one request, on a monotonic ``clock``.

    It starts with the request's first byte, once connected (the connect timeout bounds that),
    and covers sending the request and receiving all of the answer. While :meth:`applied`, each
    socket read or write of this thread waits at most for what is left, and fails once nothing
    is. A ``budget`` (:mod:`.budget`) ends it sooner when the budget runs out first.
    """

    def __init__(
        self, seconds: float, clock: Callable[[], float], budget: TimeBudget | None = None
    ) -> None:
        self.seconds = seconds
        self._clock = clock
        self._budget = budget
        self._expires_at: float | None = None

    @property
    def started(self) -> bool:
        """Whether sending has begun: from then on, Tencent may have received the request."""
        return self._expires_at is not None

    @contextlib.contextmanager
    def applied(self) -> Iterator[None]:
        token = _current_deadline.set(self)
        try:
            yield
        finally:
            _current_deadline.reset(token)

    def bound(self, timeout: float | None, expired: type[httpcore.TimeoutException]) -> float:
        """``timeout``, cut to what is left; raises ``expired`` when nothing is."""
        now = self._clock()
        if self._expires_at is None:  # the first read or write of the request: its start
            self._expires_at = now + self.seconds
        left = self._expires_at - now
        if self._budget is not None:  # the series of calls this one belongs to may end sooner
            left = min(left, self._budget.remaining())
        if left <= 0:
            raise expired("the deadline for the whole answer has passed")
        return left if timeout is None else min(timeout, left)


def _bounded(timeout: float | None, expired: type[httpcore.TimeoutException]) -> float | None:
    deadline = _current_deadline.get()
    return timeout if deadline is None else deadline.bound(timeout, expired)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # The handshake is part of connecting: the connect timeout bounds it, not the deadline.
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream)


# httpcore's errors as httpx's, most specific first, as httpx's own transport maps them.
_HTTPX_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


_CORE_ERRORS = tuple(core_error for core_error, _ in _HTTPX_ERRORS)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except _CORE_ERRORS as exc:
        httpx_error = next(error for core, error in _HTTPX_ERRORS if isinstance(exc, core))
        raise httpx_error(str(exc)) from exc


@runtime_checkable
class _CoreResponseStream(Protocol):
    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, stream: _CoreResponseStream) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        # Frees the connection for the next call, or drops it if the answer was not read whole.
        self._stream.close()


class PoolTransport(httpx.BaseTransport):
    """An httpx transport on an httpcore connection pool whose sockets keep to deadlines."""

    def __init__(
        self, *, ssl_context: ssl.SSLContext, max_idle: int, keepalive_expiry: float
    ) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            # No cap: before the pool, each call had a connection of its own.
            max_connections=None,
            max_keepalive_connections=max_idle,
            keepalive_expiry=keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )

    # Everything here and below it (httpcore's and h11's frames) may hold the secret query.
    @sensitive_variables()
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        extensions = dict(request.extensions)
        secret_query: bytes = extensions.pop(WIRE_ONLY_QUERY, b"")
        target = request.url.raw_path
        if secret_query:
            target += (b"&" if request.url.query else b"?") + secret_query
        if not isinstance(request.stream, httpx.SyncByteStream):  # pragma: no cover
            raise TypeError("PoolTransport sends synchronous requests only")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=target,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=extensions,
        )
        with _as_httpx_errors():
            response = self._pool.handle_request(core_request)
        if not isinstance(response.stream, _CoreResponseStream):  # pragma: no cover
            raise TypeError("httpcore's synchronous pool answered with an async stream")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()
