"""UserSig generation (TLSSigAPIv2), on the standard library, and the admin's cached UserSig.

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
import threading
import time
import zlib
from collections.abc import Callable

from django.views.decorators.debug import sensitive_variables

VERSION = "2.0"

# A day is Tencent's advice for the shortest validity; renewing ten minutes early keeps a
# request from leaving with a signature that expires on its way.
USERSIG_LIFETIME = 86_400
USERSIG_RENEW_BEFORE = 600


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


class UserSigCache:
    """One app admin's UserSig: made on first use, then reused until ten minutes before it
    expires. :meth:`renew` drops one that Tencent refused as expired (ErrorCode 70001).

    ``clock`` is the wall clock (a UserSig carries Unix seconds); ``sleep`` waits. Both are
    injectable for tests. The secret key and the UserSig stay out of ``repr``.
    """

    def __init__(
        self,
        sdk_app_id: int,
        secret_key: str,
        identifier: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sdk_app_id = sdk_app_id
        self._secret_key = secret_key
        self._identifier = identifier
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        # (UserSig, issued at, expires at), Unix seconds.
        self._usersig: tuple[str, int, int] | None = None

    def __repr__(self) -> str:
        return f"<UserSigCache sdkappid={self._sdk_app_id} identifier={self._identifier!r}>"

    @sensitive_variables("usersig")
    def current(self) -> str:
        """The UserSig to send now: the cached one, or a new one if it expires soon."""
        with self._lock:
            now = int(self._clock())
            if self._usersig is None or self._usersig[2] - now < USERSIG_RENEW_BEFORE:
                usersig = generate_usersig(
                    self._sdk_app_id,
                    self._secret_key,
                    self._identifier,
                    now=now,
                    expire=USERSIG_LIFETIME,
                )
                self._usersig = (usersig, now, now + USERSIG_LIFETIME)
            return self._usersig[0]

    def issued(self) -> str:
        """The UserSig last handed out, or "" (never makes one): what to keep out of text."""
        with self._lock:
            return self._usersig[0] if self._usersig else ""

    def renew(self) -> None:
        """Drop the UserSig, so that the next :meth:`current` makes another.

        Made in the same second, the new one would be the same bytes; waiting for the next
        second makes it a new signature.
        """
        with self._lock:
            issued = self._usersig[1] if self._usersig else None
            self._usersig = None
        now = self._clock()
        if issued is not None and now < issued + 1:
            self._sleep(issued + 1 - now)
