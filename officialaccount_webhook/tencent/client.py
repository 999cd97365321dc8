"""A client for Tencent Chat's REST API, one per configured app (protocol notes, section 5).

It composes the rest of this package: the HTTP layer with its timeouts and size cap
(:mod:`.transport`), the admin's UserSig, renewed before it expires and once more on 70001
(:mod:`.usersig`), the rate limit per app and process (:mod:`.ratelimit`), tolerant replies
(:mod:`.replies`) and typed errors (:mod:`.errors`). Here: the URL's base (the region's domain
over HTTPS, or ``API_BASE_URL``) and query, bounded retries of idempotent calls on transport
errors, 5xx, 429 and Tencent's rate-limit and timeout codes, after exponential backoff with
full jitter or the server's Retry-After (:mod:`.retries`), and the clients' registry. The API
calls live in one module per family (:mod:`.messages`, :mod:`.accounts`,
:mod:`.subscribers`), exposed as the client's methods.

Secrets (the key, the UserSig) are never logged, put in an exception, or shown by ``repr``.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext
from django.views.decorators.debug import sensitive_variables

from ..conf import RestSettings, TencentApp, get_settings
from ..ops import metrics
from ..redaction import REDACTED
from . import messages
from .accounts import AccountsApi
from .budget import TimeBudget
from .errors import TencentChatError, TencentTransportError, api_error
from .ratelimit import RateLimiter
from .replies import error_code, error_info
from .retries import RETRYABLE_CODES, retry_delay
from .sending import SendingApi
from .subscribers import SubscribersApi
from .transport import Transport, budget_spent
from .usersig import UserSigCache

logger = logging.getLogger(__name__)

# Documented data-center domains (protocol notes 5.1). API_BASE_URL covers any other. Mumbai
# is on the 2024-02/06 copies of the REST pages (e.g. 1047/60758 of 2024-06-18); Tokyo on the
# newest copies of the official-account pages (www.tencentcloud.com 1047/60755 and 60758).
REGIONS = {
    "china": "console.tim.qq.com",
    "singapore": "adminapisgp.im.qcloud.com",
    "seoul": "adminapikr.im.qcloud.com",
    "frankfurt": "adminapiger.im.qcloud.com",
    "silicon-valley": "adminapiusa.im.qcloud.com",
    "jakarta": "adminapiidn.im.qcloud.com",
    "mumbai": "adminapiind.im.qcloud.com",
    "tokyo": "adminapijpn.im.qcloud.com",
}

USERSIG_EXPIRED = 70001
# Keeps a runaway ErrorInfo out of pages, logs and database rows.
MAX_ERROR_INFO_LENGTH = 500


@dataclass(frozen=True)
class CallResult:
    reply: dict[str, Any]
    uncertain: bool
    """An earlier attempt failed in a way that may have carried the request out."""


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


class TencentChatClient(AccountsApi, SendingApi, SubscribersApi):
    """Calls Tencent Chat's REST API as one app's admin. Use :func:`client_for` to get one.

    ``clock`` is the wall clock (for the UserSig), ``monotonic`` the clock of the rate limit and
    of the whole-answer deadline, ``sleep`` waits (rate limit, backoff); all injectable for
    tests. It keeps connections open for the next call: :meth:`close` closes them (or use it as
    a context manager); the clients of :func:`client_for` live as long as the process.
    """

    def __init__(
        self,
        app: TencentApp,
        rest: RestSettings,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not app.secret_key:
            # Shown on the admin's account actions: in the reader's language.
            raise ImproperlyConfigured(
                gettext("App %(app)s: SECRET_KEY is needed to call Tencent.")
                % {"app": app.sdk_app_id}
            )
        self.app = app
        self.rest = rest
        self.base_url = base_url_for(app)
        self._sleep = sleep
        self._limiter = RateLimiter(rest.rate_limit, clock=monotonic, sleep=sleep)
        self._usersig = UserSigCache(
            app.sdk_app_id, app.secret_key, app.admin_identifier, clock=clock, sleep=sleep
        )
        self._transport = Transport(self.base_url, rest, clock=monotonic, scrub=self._scrub)

    def __repr__(self) -> str:
        return f"<TencentChatClient sdkappid={self.app.sdk_app_id} base_url={self.base_url!r}>"

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> TencentChatClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The message family's calls, as methods (the other families come from their mixins).
    recall_official_account_messages = messages.recall_official_account_messages
    get_official_account_messages = messages.get_official_account_messages

    def call(
        self,
        service: str,
        command: str,
        body: dict[str, Any],
        *,
        idempotent: bool,
        budget: TimeBudget | None = None,
    ) -> CallResult:
        """POST ``body`` to ``v4/<service>/<command>``; return the reply if ``ErrorCode`` is 0.

        With a ``budget`` (:mod:`.budget`), attempts keep to what is left of it, and none starts
        without time for an answer. Raises :class:`TencentApiError` (the subclass of
        :func:`.errors.api_error` for a documented code) or :class:`TencentTransportError`.
        """
        name = f"{service}/{command}"
        attempt = 0
        renewed_usersig = False
        uncertain = False
        least = budget.min_attempt(self.rest.read_timeout) if budget is not None else 0.0
        if budget is not None and not budget.allows(0, least):
            raise budget_spent(command)
        while True:
            self._limiter.acquire()
            failure: TencentChatError
            try:
                reply = self._post(service, command, body, budget)
            except TencentTransportError as error:
                metrics.tencent_unanswered(name)
                failure = error
                retry = error.retryable
            else:
                code = error_code(reply)
                metrics.tencent_answered(name, code)
                if code == 0:
                    return CallResult(reply=reply, uncertain=uncertain)
                failure = api_error(self._scrub(error_info(reply)), code)
                if code == USERSIG_EXPIRED and not renewed_usersig:
                    # Refused before it did anything, so it is safe to repeat, idempotent or not.
                    logger.warning(
                        "Tencent says the UserSig of app %s expired; making a new one (if this "
                        "repeats, check this server's clock)",
                        self.app.sdk_app_id,
                    )
                    self._usersig.renew()
                    renewed_usersig = True
                    continue
                retry = code in RETRYABLE_CODES
            failure.earlier_attempt_uncertain = uncertain
            uncertain = failure.maybe_carried_out
            delay = retry_delay(failure, attempt, self.rest.retry_backoff)
            if not (idempotent and retry and attempt < self.rest.max_retries) or delay is None:
                raise failure
            if budget is not None and not budget.allows(delay, least):
                logger.warning(
                    "Tencent REST %s for app %s failed (%s); no retry: too little time left",
                    *(name, self.app.sdk_app_id, failure),
                )
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

    @sensitive_variables("usersig", "secret_query")
    def _post(
        self, service: str, command: str, body: dict[str, Any], budget: TimeBudget | None
    ) -> dict[str, Any]:
        usersig = self._usersig.current()
        return self._transport.post(
            service,
            command,
            body,
            query={
                "sdkappid": self.app.sdk_app_id,
                "identifier": self.app.admin_identifier,
                "random": secrets.randbelow(2**32),
                "contenttype": "json",
            },
            secret_query={"usersig": usersig},
            budget=budget,
        )

    @sensitive_variables("usersig", "secret")
    def _scrub(self, text: str) -> str:
        """Tencent's ErrorInfo may echo the request; keep secrets out of what we pass on."""
        usersig = self._usersig.issued()
        # As sent, the UserSig is URL-encoded ("*" becomes "%2A"): look for both spellings.
        for secret in (quote_plus(usersig), usersig, self.app.secret_key):
            if secret:
                text = text.replace(secret, REDACTED)
        if len(text) > MAX_ERROR_INFO_LENGTH:
            text = text[: MAX_ERROR_INFO_LENGTH - 1] + "…"
        return text


_clients_lock = threading.Lock()
_clients: dict[tuple[TencentApp, RestSettings], TencentChatClient] = {}


def client_for(sdk_app_id: int) -> TencentChatClient:
    """The client of a configured app, shared so that its UserSig, rate limit and connections
    are too.

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
