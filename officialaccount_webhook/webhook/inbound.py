"""What the app keeps of an HTTP request to the webhook, whichever way it is stored later:
now, by ingest, or after an outage, from the spool; and how its body is read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest
from django.utils import timezone

from .query import CallbackQuery, parse_ip
from .wire import BodyTooLarge, CallbackError


class LengthRequired(CallbackError):
    """A chunked body that this server cannot read safely (see :func:`read_body`)."""

    status_code = 411


@dataclass(frozen=True)
class InboundRequest:
    """What the delivery record keeps of the HTTP request."""

    query: CallbackQuery
    remote_addr: str | None
    """The client's address: ``REMOTE_ADDR``, or taken from ``X-Forwarded-For`` as far as
    ``TRUSTED_PROXIES`` says it can be believed; None when it cannot be told."""
    received_at: datetime = field(default_factory=timezone.now)
    spool_record: str = ""
    """For a callback drained from the spool: its record's name."""

    @classmethod
    def from_http(cls, http_request: HttpRequest, trusted_proxies: int = 0) -> InboundRequest:
        return cls(
            query=CallbackQuery.from_query_string(http_request.META.get("QUERY_STRING", "")),
            remote_addr=client_address(http_request.META, trusted_proxies),
        )


def client_address(meta: Mapping[str, Any], trusted_proxies: int) -> str | None:
    """The address of whoever sent the request.

    With no trusted proxy, ``REMOTE_ADDR``: ``X-Forwarded-For`` is then whatever the sender
    wrote. Each of ``trusted_proxies`` proxies appends the address it was reached from, so the
    client is that many entries from the right end; the entries further left were written by
    the client itself and prove nothing. Fewer entries than proxies means the request did not
    come through them all: the address is unknown (None), not the nearest proxy's, which an
    allow-list might well contain.
    """
    if trusted_proxies <= 0:
        return parse_ip(meta.get("REMOTE_ADDR", ""))
    # Several X-Forwarded-For headers reach WSGI joined by commas, in order.
    forwarded = [entry.strip() for entry in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [entry for entry in forwarded if entry]
    if len(forwarded) < trusted_proxies:
        return None
    return parse_ip(forwarded[-trusted_proxies])


def read_body(http_request: HttpRequest, limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes without reading them all.

    Read straight from the stream so that Django's DATA_UPLOAD_MAX_MEMORY_SIZE, a limit for
    form data, does not apply a second, different cap. A body sent with ``Transfer-Encoding:
    chunked`` has no ``Content-Length``, and Django then reads nothing; it is read from
    ``wsgi.input`` when the server decodes the chunks and ends the stream at the body's end
    (``wsgi.input_terminated``: gunicorn, mod_wsgi with WSGIChunkedRequest). Elsewhere reading
    it could block on the raw connection or see chunk headers, so it is refused with a 411.
    """
    meta = http_request.META
    if (
        not meta.get("CONTENT_LENGTH")
        and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
    ):
        if isinstance(http_request, ASGIRequest):
            # Django's ASGI handler has received the whole body already, decoded (capped by
            # deploy.asgi.WebhookGuard where it is used).
            body = _read_at_most(http_request, limit + 1)
        elif not meta.get("wsgi.input_terminated"):
            raise LengthRequired(
                "a chunked body needs a server that decodes it (gunicorn, for one); "
                "send Content-Length"
            )
        else:
            body = _read_at_most(meta["wsgi.input"], limit + 1)
    else:
        try:
            declared = int(meta.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise BodyTooLarge(f"the body is {declared} bytes; at most {limit} are accepted")
        body = _read_at_most(http_request, limit + 1)
    if len(body) > limit:
        raise BodyTooLarge(f"the body is over {limit} bytes")
    return body


def _read_at_most(stream: Any, size: int) -> bytes:
    # A WSGI stream may return fewer bytes than asked before its end; b"" is the end.
    chunks = []
    while size > 0:
        chunk = stream.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
