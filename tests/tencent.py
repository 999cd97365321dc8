"""A local HTTP server that plays Tencent Chat's REST API, and helpers around it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import zlib
from typing import Any

from werkzeug import Request

SECRET_KEY = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
RECALL_PATH = "/v4/official_account_open_http_svc/official_account_msg_recall"
ACCOUNT = "@TOA#_2J4SZEAEL"


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
