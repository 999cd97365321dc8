"""Under ASGI (officialaccount_webhook.deploy.asgi.WebhookGuard around Django's real ASGI
handler): a caller that cannot authenticate has no byte of its body received, and is refused
and recorded by the view as under WSGI; an authenticated body is received no further than
MAX_BODY_SIZE plus one byte; a chunked body is read; other paths pass untouched."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.asgi import get_asgi_application
from django.test import override_settings

from officialaccount_webhook.deploy.asgi import WebhookGuard
from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from tests.conftest import callback_query, sample

pytestmark = pytest.mark.django_db(transaction=True)

PATH = "/webhooks/tencent-chat/"


@dataclass
class Client:
    """An ASGI client whose body comes in ``chunks``; it counts how many were received."""

    chunks: list[bytes]
    received: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def receive(self) -> dict[str, Any]:
        if self.received < len(self.chunks):
            self.received += 1
            more = self.received < len(self.chunks)
            return {
                "type": "http.request",
                "body": self.chunks[self.received - 1],
                "more_body": more,
            }
        await asyncio.Event().wait()  # the client stays connected
        raise AssertionError("unreachable")

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])

    @property
    def answer(self) -> dict[str, Any]:
        return json.loads(b"".join(m.get("body", b"") for m in self.sent[1:]))


def call(
    query: dict[str, str],
    chunks: list[bytes],
    *,
    path: str = PATH,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> Client:
    client = Client(chunks)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(query).encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), *(headers or [])],
        "client": ("203.0.113.9", 40000),
        "server": ("testserver", 80),
    }
    application = WebhookGuard(get_asgi_application(), path="/webhooks/tencent-chat")
    asyncio.run(application(scope, client.receive, client.send))
    return client


def body_chunks(body: bytes, size: int = 1000) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def message_body(msg_key: str = "7_1_1700000000") -> bytes:
    return json.dumps(sample("text") | {"MsgKey": msg_key}).encode()


def test_a_caller_that_cannot_authenticate_has_no_byte_of_its_body_received() -> None:
    client = call(callback_query(token="wrong-token"), body_chunks(message_body() * 50))

    assert client.received == 0
    assert client.status == 403
    assert client.answer["ErrorInfo"] == "authentication failed"
    delivery = CallbackDelivery.objects.get()
    assert delivery.status_code == 403
    assert "Sign does not match" in delivery.reason
    assert not OfficialAccountMessage.objects.exists()


def test_an_authenticated_callback_is_stored() -> None:
    client = call(
        callback_query(),
        body_chunks(message_body(), 100),
        headers=[(b"content-length", str(len(message_body())).encode())],
    )

    assert client.status == 200, client.answer
    assert OfficialAccountMessage.objects.get().msg_key == "7_1_1700000000"
    assert client.received == len(body_chunks(message_body(), 100))


@override_settings(
    OFFICIALACCOUNT_WEBHOOK={
        "APPS": {1400000000: {"CALLBACK_TOKENS": ["current-token"]}},
        "MAX_BODY_SIZE": 5000,
    }
)
def test_an_authenticated_body_is_received_no_further_than_the_cap() -> None:
    chunks = body_chunks(b"x" * 1_000_000)  # a thousand chunks of 1,000 bytes

    client = call(callback_query(), chunks)

    assert client.status == 413
    # 5,001 bytes: the sixth chunk, cut; not one more.
    assert client.received == 6
    assert CallbackDelivery.objects.get().status_code == 413


def test_a_chunked_body_is_read() -> None:
    client = call(
        callback_query(),
        body_chunks(message_body(), 64),
        headers=[(b"transfer-encoding", b"chunked")],
    )

    assert client.status == 200, client.answer
    assert OfficialAccountMessage.objects.count() == 1


def test_other_paths_pass_untouched() -> None:
    # The API is not the webhook: its body is received whole, whatever its query string says.
    client = call({}, [b"{", b"}"], path="/api/officialaccount/recall/")

    assert client.received == 2
    assert client.status in {401, 403}
    assert not CallbackDelivery.objects.exists()
