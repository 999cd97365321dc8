"""A client for Tencent Chat's REST API, one per configured app.

What it takes care of (protocol notes, section 5):

* the URL: ``<base>/v4/<service>/<command>?sdkappid=..&identifier=..&usersig=..&random=..``,
  where the base is the app's region domain (HTTPS) or an explicit ``API_BASE_URL``;
* the UserSig: generated for the app admin, cached, renewed before it expires, and renewed once
  more when Tencent answers 70001 (expired);
* explicit timeouts: to connect, and for the whole answer (``REST_READ_TIMEOUT``), whose size
  is capped too;
* bounded retries with exponential backoff and full jitter (or the server's Retry-After), on
  transport errors, 5xx, 429 and Tencent's rate-limit and timeout codes, for idempotent calls
  only;
* a client-side rate limit per app, in each process;
* tolerant replies: ``ErrorCode == 0`` is success, missing or extra fields never crash it;
* typed errors that carry ``ErrorCode`` and ``ErrorInfo``.

Secrets (the key, the UserSig) are never logged, put in an exception, or shown by ``repr``.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import logging
import random
import re
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables

from ..conf import RestSettings, TencentApp, get_settings
from ..redaction import REDACTED
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
# Codes after which the request may have been carried out although it failed: a retry's answer
# then says nothing certain about the first attempt.
_MAYBE_CARRIED_OUT_CODES = frozenset({60008})
# No single wait longer than this: a caller (an admin page, an API request) is waiting.
MAX_RETRY_DELAY = 10.0
# Tencent's replies are a few KB; more is not a reply worth reading into memory.
MAX_REPLY_BYTES = 1024 * 1024
# Keeps a runaway ErrorInfo out of pages, logs and database rows.
MAX_ERROR_INFO_LENGTH = 500


class TencentChatError(Exception):
    """A REST call that did not succeed. ``error_code`` is Tencent's ``ErrorCode``, if any."""

    def __init__(self, error_info: str, error_code: int | None = None) -> None:
        message = f"{error_info} (ErrorCode {error_code})" if error_code is not None else error_info
        super().__init__(message)
        self.error_code = error_code
        self.error_info = error_info

    @property
    def maybe_carried_out(self) -> bool:
        """Whether Tencent may have done what was asked although the call failed."""
        return self.error_code in _MAYBE_CARRIED_OUT_CODES


class TencentApiError(TencentChatError):
    """Tencent answered, with a non-zero ``ErrorCode``."""


class TencentTransportError(TencentChatError):
    """No usable answer: no connection, a timeout, an HTTP error status, or not JSON."""

    def __init__(
        self,
        error_info: str,
        *,
        retryable: bool,
        sent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(error_info)
        self.retryable = retryable
        self.sent = sent
        self.retry_after = retry_after

    @property
    def maybe_carried_out(self) -> bool:
        return self.sent


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
class CallResult:
    reply: dict[str, Any]
    uncertain: bool
    """An earlier attempt failed in a way that may have carried the request out."""


@dataclass(frozen=True)
class RecallReply:
    """``official_account_msg_recall``'s answer: each MsgKey's ``RetCode`` (0 = recalled).

    ``uncertain`` is set when an earlier attempt may have recalled the messages already; a
    non-zero ``RetCode`` then does not prove that a message was not recalled.
    """

    ret_codes: dict[str, int]
    uncertain: bool = False


@dataclass(frozen=True)
class HistoryPage:
    """One page of ``official_account_msg_get_simple``: ``RspMsgList`` items, as sent."""

    items: list[dict[str, Any]]
    last_msg_key: str
    finished: bool


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
        # (UserSig, issued at, expires at), Unix seconds.
        self._usersig: tuple[str, int, int] | None = None

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
        # changes the RetCode Tencent reports for it (see RecallReply.uncertain).
        result = self.call(
            OFFICIAL_ACCOUNT_SERVICE, "official_account_msg_recall", body, idempotent=True
        )
        ret_codes: dict[str, int] = {}
        items = result.reply.get("RecallRetList")
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict) and isinstance(item.get("MsgKey"), str):
                code = _as_int(item.get("RetCode"))
                # A key listed twice counts as recalled if either entry says so.
                if code is not None and ret_codes.get(item["MsgKey"]) != 0:
                    ret_codes[item["MsgKey"]] = code
        return RecallReply(ret_codes=ret_codes, uncertain=result.uncertain)

    def get_official_account_messages(
        self, official_account: str, *, last_msg_key: str = "", count: int = 20
    ) -> HistoryPage:
        """One page of an account's history, newest first (``official_account_msg_get_simple``).

        Recalled messages are left out (Tencent's default): history marks no recall that a
        stored message could carry. Pass the page's ``last_msg_key`` for the next one.
        """
        body: dict[str, Any] = {"Official_Account": official_account, "ReqMsgNumber": count}
        if last_msg_key:
            body["LastMsgKey"] = last_msg_key
        # Reading history changes nothing: safe to retry.
        reply = self.call(
            OFFICIAL_ACCOUNT_SERVICE, "official_account_msg_get_simple", body, idempotent=True
        ).reply
        items = reply.get("RspMsgList")
        next_key = reply.get("LastMsgKey")
        return HistoryPage(
            items=[item for item in items if isinstance(item, dict)]
            if isinstance(items, list)
            else [],
            last_msg_key=next_key if isinstance(next_key, str) else "",
            finished=_as_int(reply.get("IsFinished")) == 1,
        )

    def call(
        self, service: str, command: str, body: dict[str, Any], *, idempotent: bool
    ) -> CallResult:
        """POST ``body`` to ``v4/<service>/<command>``; return the reply if ``ErrorCode`` is 0.

        Raises :class:`TencentApiError` or :class:`TencentTransportError`.
        """
        name = f"{service}/{command}"
        attempt = 0
        renewed_usersig = False
        uncertain = False
        while True:
            self._limiter.acquire()
            failure: TencentChatError
            try:
                reply = self._post(service, command, body)
            except TencentTransportError as error:
                failure = error
                retry = error.retryable
            else:
                code = _error_code(reply)
                if code == 0:
                    return CallResult(reply=reply, uncertain=uncertain)
                failure = TencentApiError(self._scrub(_error_info(reply)), code)
                if code == USERSIG_EXPIRED and not renewed_usersig:
                    # Refused before it did anything, so it is safe to repeat, idempotent or not.
                    self._renew_usersig()
                    renewed_usersig = True
                    continue
                retry = code in RETRYABLE_CODES
            uncertain = uncertain or failure.maybe_carried_out
            delay = self._retry_delay(failure, attempt)
            if not (idempotent and retry and attempt < self.rest.max_retries) or delay is None:
                raise failure
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

    def _retry_delay(self, failure: TencentChatError, attempt: int) -> float | None:
        """Exponential backoff with full jitter, or the server's Retry-After; None: too long."""
        ceiling = min(MAX_RETRY_DELAY, self.rest.retry_backoff * 2**attempt)
        delay = random.uniform(0, ceiling)  # noqa: S311  (jitter, not cryptography)
        retry_after = getattr(failure, "retry_after", None)
        if retry_after is not None:
            if retry_after > MAX_RETRY_DELAY:
                return None
            delay = max(delay, retry_after)
        return delay

    @sensitive_variables("query", "path")
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
        sent = False
        # REST_READ_TIMEOUT bounds the whole answer, not each read: a server that drips bytes
        # is cut off when it runs out, by shutting the socket under the reading thread.
        timed_out = threading.Event()
        deadline: threading.Timer | None = None
        try:
            connection.connect()
            sock = connection.sock
            sock.settimeout(self.rest.read_timeout)
            # The socket itself, not the connection: http.client hands it to the response.
            deadline = threading.Timer(self.rest.read_timeout, _abort, args=(sock, timed_out))
            deadline.start()
            sent = True  # from here on, Tencent may have received the request
            connection.request(
                "POST",
                path,
                body=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"},
            )
            response = connection.getresponse()
            data = _read_limited(response)
        except ssl.SSLCertVerificationError as exc:
            raise TencentTransportError(
                f"{command}: the server's certificate was refused ({exc.verify_message})",
                retryable=False,
            ) from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            if timed_out.is_set() or isinstance(exc, TimeoutError):
                raise TencentTransportError(
                    f"{command}: timed out", retryable=True, sent=sent
                ) from None
            if isinstance(exc, _ReplyTooLarge):
                raise TencentTransportError(
                    f"{command}: the reply is over {MAX_REPLY_BYTES} bytes",
                    retryable=False,
                    sent=True,
                ) from None
            # The exception's text names the failure, never the URL; scrubbed all the same.
            raise TencentTransportError(
                self._scrub(f"{command}: {type(exc).__name__}: {exc}"), retryable=True, sent=sent
            ) from None
        finally:
            if deadline is not None:
                deadline.cancel()
            connection.close()
        if timed_out.is_set():  # the cut may also look like a short, complete reply
            raise TencentTransportError(f"{command}: timed out", retryable=True, sent=True)
        if response.status != 200:
            raise TencentTransportError(
                f"{command}: HTTP {response.status}",
                retryable=response.status in _RETRYABLE_HTTP_STATUS,
                sent=response.status >= 500,
                retry_after=_retry_after(response.getheader("Retry-After")),
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

    @sensitive_variables("usersig")
    def _current_usersig(self) -> str:
        with self._usersig_lock:
            now = int(self._clock())
            if self._usersig is None or self._usersig[2] - now < USERSIG_RENEW_BEFORE:
                usersig = generate_usersig(
                    self.app.sdk_app_id,
                    self.app.secret_key,
                    self.app.admin_identifier,
                    now=now,
                    expire=USERSIG_LIFETIME,
                )
                self._usersig = (usersig, now, now + USERSIG_LIFETIME)
            return self._usersig[0]

    def _renew_usersig(self) -> None:
        """Drop a UserSig that Tencent refused as expired, so that the next call makes another.

        Made in the same second, the new one would be the same bytes; waiting for the next
        second makes it a new signature. If Tencent refuses that too, this server's clock is
        probably off.
        """
        logger.warning(
            "Tencent says the UserSig of app %s expired; making a new one (if this repeats, "
            "check this server's clock)",
            self.app.sdk_app_id,
        )
        with self._usersig_lock:
            issued = self._usersig[1] if self._usersig else None
            self._usersig = None
        now = self._clock()
        if issued is not None and now < issued + 1:
            self._sleep(issued + 1 - now)

    def _scrub(self, text: str) -> str:
        """Tencent's ErrorInfo may echo the request; keep secrets out of what we pass on."""
        with self._usersig_lock:
            usersig = self._usersig[0] if self._usersig else ""
        # As sent, the UserSig is URL-encoded ("*" becomes "%2A"): look for both spellings.
        for secret in (quote_plus(usersig), usersig, self.app.secret_key):
            if secret:
                text = text.replace(secret, REDACTED)
        if len(text) > MAX_ERROR_INFO_LENGTH:
            text = text[: MAX_ERROR_INFO_LENGTH - 1] + "…"
        return text


class _ReplyTooLarge(ValueError):
    pass


def _read_limited(response: http.client.HTTPResponse) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(65536):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise _ReplyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _abort(sock: socket.socket, timed_out: threading.Event) -> None:
    timed_out.set()
    with contextlib.suppress(OSError):  # already closed: nothing left to cut
        sock.shutdown(socket.SHUT_RDWR)


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isascii() and value.strip().isdigit():
        return float(value.strip())
    return None


_INT32 = range(-(2**31), 2**31)
_INTEGER = re.compile(r"-?[0-9]{1,10}")


def _as_int(value: Any) -> int | None:
    """An error or return code as an int, or None when it is not a plausible one."""
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in _INT32:
        return None
    return value


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
