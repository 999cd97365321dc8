"""Under ASGI: the webhook's callers authenticated before their body is received, and the
body received no further than ``MAX_BODY_SIZE``.

Django's ASGI handler receives a request's whole body, into a temporary file and with no limit,
before any view runs: the webhook's view, which authenticates before it reads a byte under
WSGI, would come too late. :class:`WebhookGuard`, wrapped around Django's ASGI application,
looks at the POSTs to the webhook's path first. It authenticates them from the query string and
the client's address, as the view does, with the same function; a request that fails is handed
to Django with an empty body, without receiving a byte of what its client sends, and the view
refuses and records it as it would have. An authenticated request's body is received up to
``MAX_BODY_SIZE`` plus one byte and no further: the view sees it is over the cap and answers
413. Bodies sent with ``Transfer-Encoding: chunked`` arrive decoded, and are read like others.

    application = WebhookGuard(get_asgi_application(), path="/webhooks/tencent-chat")

``project/asgi.py`` does so.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..conf import get_settings
from ..webhook.auth import authenticate
from ..webhook.inbound import client_address
from ..webhook.query import CallbackQuery
from ..webhook.wire import CallbackError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class WebhookGuard:
    """ASGI middleware for the webhook's path (``path``: the URL's prefix, as routed)."""

    def __init__(self, app: ASGIApp, *, path: str) -> None:
        self.app = app
        self.path = path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._guards(scope):
            await self.app(scope, receive, send)
            return
        conf = get_settings()
        try:
            authenticate(
                CallbackQuery.from_query_string(scope.get("query_string", b"").decode("latin-1")),
                conf.apps,
                now=int(time.time()),
                skew=conf.request_time_skew,
                source=client_address(_meta(scope), conf.trusted_proxies),
            )
        except CallbackError:
            # The view authenticates again, refuses, and records why; the body stays unread.
            await self.app(scope, _empty_body(), send)
            return
        await self.app(scope, _at_most(receive, conf.max_body_size + 1), send)

    def _guards(self, scope: Scope) -> bool:
        path = str(scope.get("path", ""))
        return (
            scope.get("type") == "http"
            and scope.get("method") == "POST"
            and (path == self.path or path.startswith(self.path + "/"))
        )


def _meta(scope: Scope) -> dict[str, str]:
    """What ``client_address`` reads, from the ASGI scope, as Django's ASGIRequest builds it."""
    client = scope.get("client") or ("", 0)
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name.lower() == b"x-forwarded-for"
    ]
    return {"REMOTE_ADDR": str(client[0]), "HTTP_X_FORWARDED_FOR": ",".join(forwarded)}


async def _never() -> Message:
    # Django listens for a disconnect once the body is complete, and cancels the wait when the
    # answer is sent: a client whose body was cut short or left unread is not listened to.
    await asyncio.Event().wait()
    raise AssertionError("unreachable")  # pragma: no cover


def _empty_body() -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return await _never()
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    return receive


def _at_most(receive: Receive, limit: int) -> Receive:
    """``receive``, ending the body once ``limit`` bytes have come."""
    received = 0
    cut = False

    async def capped() -> Message:
        nonlocal received, cut
        if cut:
            return await _never()
        message = await receive()
        if message.get("type") != "http.request":
            return message
        body = bytes(message.get("body", b""))
        if received + len(body) >= limit and message.get("more_body", False):
            cut = True
            body = body[: limit - received]
            message = {"type": "http.request", "body": body, "more_body": False}
        received += len(body)
        return message

    return capped
