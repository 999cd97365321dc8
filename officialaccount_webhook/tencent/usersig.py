"""UserSig generation (TLSSigAPIv2), on the standard library.

The algorithm is Tencent's own (``tls-sig-api-v2``): an HMAC-SHA256 over a fixed text, put in a
small JSON document, zlib-compressed, then base64 with ``+/=`` replaced by ``*-_``. The tests
compare the result byte for byte with Tencent's package, which is not shipped: it has been
unmaintained since 2019.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import zlib

VERSION = "2.0"


def generate_usersig(
    sdk_app_id: int, secret_key: str, identifier: str, *, now: int, expire: int
) -> str:
    """A UserSig for ``identifier``, valid for ``expire`` seconds from ``now`` (Unix seconds)."""
    signed_text = (
        f"TLS.identifier:{identifier}\n"
        f"TLS.sdkappid:{sdk_app_id}\n"
        f"TLS.time:{now}\n"
        f"TLS.expire:{expire}\n"
    )
    signature = hmac.new(secret_key.encode(), signed_text.encode(), hashlib.sha256).digest()
    document = {
        "TLS.ver": VERSION,
        "TLS.identifier": identifier,
        "TLS.sdkappid": sdk_app_id,
        "TLS.expire": expire,
        "TLS.time": now,
        "TLS.sig": base64.b64encode(signature).decode(),
    }
    # json.dumps' default separators and this key order are what Tencent's package produces.
    compressed = zlib.compress(json.dumps(document).encode())
    return base64.b64encode(compressed).decode().translate(str.maketrans("+/=", "*-_"))
