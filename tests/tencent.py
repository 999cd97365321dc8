"""A local HTTP server that plays Tencent Chat's REST API, and helpers around it."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug import Request

SECRET_KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
RECALL_PATH = "/v4/official_account_open_http_svc/official_account_msg_recall"
ACCOUNT = "@TOA#_2J4SZEAEL"


def calling_app(base_url: str) -> dict[str, Any]:
    """The signed test app's settings, with what it needs to call the Tencent played at
    ``base_url``."""
    return {
        "CALLBACK_TOKENS": ["current-token"],
        "SECRET_KEY": SECRET_KEY,
        "API_BASE_URL": base_url,
    }


def decode_usersig(usersig: str, secret_key: str = SECRET_KEY) -> dict[str, Any]:
    """Check a UserSig the way Tencent does and return its document."""
    compressed = base64.b64decode(usersig.translate(str.maketrans("*-_", "+/=")))
    document: dict[str, Any] = json.loads(zlib.decompress(compressed))
    signed = (
        f"TLS.identifier:{document['TLS.identifier']}\n"
        f"TLS.sdkappid:{document['TLS.sdkappid']}\n"
        f"TLS.time:{document['TLS.time']}\n"
        f"TLS.expire:{document['TLS.expire']}\n"
    )
    expected = base64.b64encode(
        hmac.new(secret_key.encode(), signed.encode(), hashlib.sha256).digest()
    )
    assert document["TLS.sig"] == expected.decode(), "UserSig signature does not verify"
    return document


def recall_reply(ret_codes: dict[str, int], **extra: Any) -> dict[str, Any]:
    return {
        "ActionStatus": "OK",
        "ErrorInfo": "",
        "ErrorCode": 0,
        "RecallRetList": [{"MsgKey": key, "RetCode": code} for key, code in ret_codes.items()],
    } | extra


def error_reply(code: int, info: str = "error") -> dict[str, Any]:
    return {"ActionStatus": "FAIL", "ErrorInfo": info, "ErrorCode": code}


def recall_body(request: Request) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(request.get_data())
    return body


class Stall:
    """Holds the fake server, which answers one request at a time, for ``seconds``.

    A test that stalls it must wait for ``done`` before it ends, or the next test's requests
    would queue behind the stall and time out.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.done = threading.Event()

    def __call__(self) -> None:
        time.sleep(self.seconds)
        self.done.set()


class RawServer:
    """A bare TCP server on 127.0.0.1, for what pytest-httpserver cannot do: keep a connection
    open for the next request, stop at a chosen byte, or speak TLS with a certificate that no
    one trusts.

    ``handle`` gets each connection, in a thread of its own, and the connection is closed after
    it returns; ``connections`` counts them. Use it as a context manager.
    """

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self.connections = 0
        self._handle = handle
        self._listener = socket.create_server(("127.0.0.1", 0))
        # accept() polls, so that the server stops soon after it is told to.
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> RawServer:
        self._threads[0].start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._threads[0].join(5)  # accepts no more, then the connections finish
        for thread in self._threads[1:]:
            thread.join(5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # a client that hung up is no failure here
            conn.settimeout(5)
            self._handle(conn)


def read_request(conn: socket.socket) -> bytes | None:
    """The head of the next HTTP request on ``conn``, its body read too; None once it closes."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length:\s*([0-9]+)", head)
    while length and len(body) < int(length.group(1)):
        body += conn.recv(65536)
    return head


def http_response(reply: dict[str, Any], headers: Sequence[str] = ()) -> bytes:
    """A complete HTTP/1.1 200 answer carrying ``reply`` as JSON; the connection stays open."""
    body = json.dumps(reply).encode()
    lines = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join([*lines, *headers]) + "\r\n\r\n").encode() + body


# A self-signed certificate for 127.0.0.1 and localhost, valid until 2126: no trust store has
# it, so a client that checks certificates refuses it.
UNTRUSTED_CERTIFICATE = """\
-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUScCpzzE4bMQ2nGOUrbAEANpOr4MwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwNzA2NTgyMloYDzIxMjYxMTEz
MDY1ODIyWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQg5Jlzv+M+6CJUTTxhBtqRtVZVuNQ0LaqSsZ9HtYxK1tHptrSlWMHd
Wnf+kV8TjwsrHIrqC5txcvEBXgeF5s2Do28wbTAdBgNVHQ4EFgQUasQGxP+MZ/L5
Gvzmyl/UeTAcIB8wHwYDVR0jBBgwFoAUasQGxP+MZ/L5Gvzmyl/UeTAcIB8wDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARgglsb2NhbGhvc3SHBH8AAAEwCgYIKoZI
zj0EAwIDSAAwRQIhAJg7jsHVZdnkb+P7tRv1ljQVScB3pfzj3ml+w7gnqK4NAiAb
N59Sp0hx5rrO7XlAr0t28jVMUkIebZM6PQyjOBIahg==
-----END CERTIFICATE-----
"""
UNTRUSTED_KEY = """\
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQge00W4J1JgGLxtqCU
k6/qAY8wTi2qVhcc2Y059d+W4q6hRANCAAQg5Jlzv+M+6CJUTTxhBtqRtVZVuNQ0
LaqSsZ9HtYxK1tHptrSlWMHdWnf+kV8TjwsrHIrqC5txcvEBXgeF5s2D
-----END PRIVATE KEY-----
"""


def untrusted_tls_context(folder: Path) -> ssl.SSLContext:
    """A server-side TLS context that presents :data:`UNTRUSTED_CERTIFICATE`."""
    (folder / "cert.pem").write_text(UNTRUSTED_CERTIFICATE)
    (folder / "key.pem").write_text(UNTRUSTED_KEY)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context
