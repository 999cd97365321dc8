"""A client for Tencent Chat's REST API, one per configured app.

What it takes care of (protocol notes, section 5):

* the URL: ``<base>/v4/<service>/<command>?sdkappid=..&identifier=..&usersig=..&random=..``,
  where the base is the app's region domain (HTTPS) or an explicit ``API_BASE_URL``;
* the UserSig: generated for the app admin, cached, renewed before it expires, and renewed once
  more when Tencent answers 70001 (expired);
* explicit connect and read timeouts;
* bounded retries with exponential backoff and full jitter, on transport errors, 5xx, 429 and
  Tencent's rate-limit and timeout codes, for idempotent calls only;
* a client-side rate limit per app;
* tolerant replies: ``ErrorCode == 0`` is success, missing or extra fields never crash it;
* typed errors that carry ``ErrorCode`` and ``ErrorInfo``.

Secrets (the key, the UserSig) are never logged, put in an exception, or shown by ``repr``.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import random
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured

from ..conf import RestSettings, TencentApp, get_settings
from .usersig import generate_usersig

logger = logging.getLogger(__name__)

# Documented data-center domains (protocol notes 5.1). API_BASE_URL covers any other.
REGIONS = {
    "china": "console.tim.qq.com",
    "singapore": "adminapisgp.im.qcloud.com",
    "seoul": "adminapikr.im.qcloud.com",
    "frankfurt": "adminapiger.im.qcloud.com",
    "silicon-valley": "adminapiusa.im.qcloud.com",
    "jakarta": "adminapiidn.im.qcloud.com",
    "tokyo": "adminapijpn.im.qcloud.com",
}

OFFICIAL_ACCOUNT_SERVICE = "official_account_open_http_svc"

# Rate limits (60007, 60011, 60018, 60019) and Tencent's own timeout (60008): worth a retry.
RETRYABLE_CODES = frozenset({60007, 60008, 60011, 60018, 60019})
USERSIG_EXPIRED = 70001

# A day is Tencent's advice for the shortest validity; renewing ten minutes early keeps a
# request from leaving with a signature that expires on its way.
USERSIG_LIFETIME = 86_400
USERSIG_RENEW_BEFORE = 600

_RETRYABLE_HTTP_STATUS = frozenset({429, 500, 502, 503, 504})


class TencentChatError(Exception):
    """A REST call that did not succeed. ``error_code`` is Tencent's ``ErrorCode``, if any."""

    def __init__(self, error_info: str, error_code: int | None = None) -> None:
        super().__init__(
            f"{error_info} (ErrorCode {error_code})" if error_code is not None else error_info
        )
        self.error_code = error_code
        self.error_info = error_info


class TencentApiError(TencentChatError):
    """Tencent answered, with a non-zero ``ErrorCode``."""


class TencentTransportError(TencentChatError):
    """No usable answer: no connection, a timeout, an HTTP error status, or not JSON."""

    def __init__(self, error_info: str, *, retryable: bool) -> None:
        super().__init__(error_info)
        self.retryable = retryable


def base_url_for(app: TencentApp) -> str:
    """The app's REST base URL: ``API_BASE_URL`` if set, else its region's domain over HTTPS."""
    if app.api_base_url:
        parts = urlsplit(app.api_base_url)
        if parts.scheme == "https" and parts.hostname:
            return app.api_base_url.rstrip("/")
        if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
            return app.api_base_url.rstrip("/")
        raise ImproperlyConfigured(
            f"App {app.sdk_app_id}: API_BASE_URL must be an https:// URL "
            "(http:// is accepted for loopback hosts only)."
        )
    if app.region:
        try:
            return f"https://{REGIONS[app.region.lower()]}"
        except KeyError:
            raise ImproperlyConfigured(
                f"App {app.sdk_app_id}: unknown REGION {app.region!r}; known: "
                f"{', '.join(REGIONS)}. Set API_BASE_URL for any other domain."
            ) from None
    raise ImproperlyConfigured(f"App {app.sdk_app_id}: set REGION or API_BASE_URL to call Tencent.")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RateLimiter:
    """A token bucket: ``rate`` calls per second on average, bursts of up to ``rate``."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            # Taking the token now, even into debt, reserves this caller's place in line.
            self._tokens -= 1
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait:
            self._sleep(wait)


@dataclass(frozen=True)
class RecallReply:
    """``official_account_msg_recall``'s answer: each MsgKey's ``RetCode`` (0 = recalled)."""

    ret_codes: dict[str, int]


class TencentChatClient:
    """Calls Tencent Chat's REST API as one app's admin. Use :func:`client_for` to get one."""

    def __init__(
        self,
        app: TencentApp,
        rest: RestSettings,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not app.secret_key:
            raise ImproperlyConfigured(
                f"App {app.sdk_app_id}: SECRET_KEY is needed to call Tencent."
            )
        self.app = app
        self.rest = rest
        self.base_url = base_url_for(app)
        self._clock = clock
        self._sleep = sleep
        self._limiter = RateLimiter(rest.rate_limit, sleep=sleep)
        self._usersig_lock = threading.Lock()
        self._usersig: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return f"<TencentChatClient sdkappid={self.app.sdk_app_id} base_url={self.base_url!r}>"

    # ------------------------------------------------------------------ API calls

    def recall_official_account_messages(
        self, official_account: str, msg_keys: Sequence[str], reason: str = ""
    ) -> RecallReply:
        body: dict[str, Any] = {"Official_Account": official_account, "MsgKeyList": list(msg_keys)}
        if reason:
            body["Reason"] = reason
        # Idempotent: recalling a recalled message leaves it recalled; a repeated call only
        # changes the RetCode Tencent reports for it.
        reply = self.call(
            OFFICIAL_ACCOUNT_SERVICE, "official_account_msg_recall", body, idempotent=True
        )
        ret_codes: dict[str, int] = {}
        items = reply.get("RecallRetList")
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and isinstance(item.get("MsgKey"), str):
                code = _as_int(item.get("RetCode"))
                if code is not None:
                    ret_codes[item["MsgKey"]] = code
        return RecallReply(ret_codes=ret_codes)

    def call(
        self, service: str, command: str, body: dict[str, Any], *, idempotent: bool
    ) -> dict[str, Any]:
        """POST ``body`` to ``v4/<service>/<command>``; return the reply if ``ErrorCode`` is 0.

        Raises :class:`TencentApiError` or :class:`TencentTransportError`.
        """
        name = f"{service}/{command}"
        attempt = 0
        renewed_usersig = False
        while True:
            self._limiter.acquire()
            try:
                reply = self._post(service, command, body)
            except TencentTransportError as error:
                if not (idempotent and error.retryable and attempt < self.rest.max_retries):
                    raise
                failure: TencentChatError = error
            else:
                code = _error_code(reply)
                if code == 0:
                    return reply
                failure = TencentApiError(_error_info(reply), code)
                if code == USERSIG_EXPIRED and not renewed_usersig:
                    # The request was refused before it did anything, so it is safe to repeat.
                    logger.info(
                        "Tencent says the UserSig of app %s expired; renewing it",
                        self.app.sdk_app_id,
                    )
                    self._forget_usersig()
                    renewed_usersig = True
                    continue
                if not (idempotent and code in RETRYABLE_CODES and attempt < self.rest.max_retries):
                    raise failure
            delay = random.uniform(0, self.rest.retry_backoff * 2**attempt)  # noqa: S311  (jitter)
            attempt += 1
            logger.warning(
                "Tencent REST %s for app %s failed (%s); retry %d of %d in %.2f s",
                name,
                self.app.sdk_app_id,
                failure,
                attempt,
                self.rest.max_retries,
                delay,
            )
            self._sleep(delay)

    # ------------------------------------------------------------------ internals

    def _post(self, service: str, command: str, body: dict[str, Any]) -> dict[str, Any]:
        parts = urlsplit(self.base_url)
        query = urlencode(
            {
                "sdkappid": self.app.sdk_app_id,
                "identifier": self.app.admin_identifier,
                "usersig": self._current_usersig(),
                "random": secrets.randbelow(2**32),
                "contenttype": "json",
            }
        )
        path = f"{parts.path.rstrip('/')}/v4/{service}/{command}?{query}"
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "",
                parts.port,
                timeout=self.rest.connect_timeout,
                context=ssl.create_default_context(),
            )
        else:
            connection = http.client.HTTPConnection(
                parts.hostname or "", parts.port, timeout=self.rest.connect_timeout
            )
        try:
            connection.connect()
            if connection.sock is not None:
                connection.sock.settimeout(self.rest.read_timeout)
            connection.request(
                "POST",
                path,
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            status, data = response.status, response.read()
        except TimeoutError:
            raise TencentTransportError(f"{command}: timed out", retryable=True) from None
        except (OSError, http.client.HTTPException) as exc:
            # The exception's text names the failure, never the URL (and so never the UserSig).
            raise TencentTransportError(
                f"{command}: {type(exc).__name__}: {exc}", retryable=True
            ) from None
        finally:
            connection.close()
        if status != 200:
            raise TencentTransportError(
                f"{command}: HTTP {status}", retryable=status in _RETRYABLE_HTTP_STATUS
            )
        try:
            reply = json.loads(data)
        except ValueError:
            raise TencentTransportError(
                f"{command}: the reply is not JSON", retryable=False
            ) from None
        if not isinstance(reply, dict):
            raise TencentTransportError(
                f"{command}: the reply is not a JSON object", retryable=False
            )
        return reply

    def _current_usersig(self) -> str:
        with self._usersig_lock:
            now = self._clock()
            if self._usersig is None or self._usersig[1] - now < USERSIG_RENEW_BEFORE:
                usersig = generate_usersig(
                    self.app.sdk_app_id,
                    self.app.secret_key,
                    self.app.admin_identifier,
                    now=int(now),
                    expire=USERSIG_LIFETIME,
                )
                self._usersig = (usersig, int(now) + USERSIG_LIFETIME)
            return self._usersig[0]

    def _forget_usersig(self) -> None:
        with self._usersig_lock:
            self._usersig = None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _error_code(reply: dict[str, Any]) -> int | None:
    """``ErrorCode`` as an int; without one, 0 if ``ActionStatus`` is OK, else None (failed)."""
    code = _as_int(reply.get("ErrorCode"))
    if code is None and "ErrorCode" not in reply and reply.get("ActionStatus") == "OK":
        return 0
    return code


def _error_info(reply: dict[str, Any]) -> str:
    info = reply.get("ErrorInfo")
    return info if isinstance(info, str) and info else "no ErrorInfo"


_clients_lock = threading.Lock()
_clients: dict[tuple[TencentApp, RestSettings], TencentChatClient] = {}


def client_for(sdk_app_id: int) -> TencentChatClient:
    """The client of a configured app, shared so that its UserSig and rate limit are too.

    Raises ``ImproperlyConfigured`` if the app is not configured or cannot call Tencent.
    """
    conf = get_settings()
    app = conf.apps.get(sdk_app_id)
    if app is None:
        raise ImproperlyConfigured(
            f"App {sdk_app_id} is not configured in OFFICIALACCOUNT_WEBHOOK['APPS']."
        )
    key = (app, conf.rest)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = TencentChatClient(app, conf.rest)
        return client
