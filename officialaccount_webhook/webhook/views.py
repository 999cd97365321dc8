"""The webhook endpoint Tencent calls. It holds no rules of its own: it authenticates the
request on its query string and source address (``auth``), only then reads the body, hands it
to ``body``, ``events`` and ``spooling``, and answers in Tencent's envelope."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, DataError, IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import log
from ..conf import get_settings
from ..moderation.events import BeforeEvent
from ..moderation.moderate import answer_body, decide
from ..ops import metrics
from .auth import AuthenticationFailed, authenticate
from .body import parse_body, resolve_command
from .events import parse_event
from .inbound import InboundRequest, read_body
from .records import keeps_refused_body, record_rejection
from .spooling import store_or_spool
from .wire import (
    CallbackError,
    InternalError,
    MethodNotAllowed,
    failure_envelope,
    success_envelope,
)

logger = logging.getLogger(__name__)

# Every accepted callback gets the same answer: encoded once, as DRF's JSONRenderer would.
_SUCCESS_BODY = json.dumps(success_envelope(), separators=(",", ":")).encode()


class AlwaysJSON(BaseContentNegotiation):
    """Tencent reads only JSON; an odd ``Accept`` header must not turn the answer into a 406."""

    def select_parser(self, request: Request, parsers: Any) -> None:
        return None

    def select_renderer(
        self, request: Request, renderers: Any, format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return JSONRenderer(), JSONRenderer.media_type


class CallbackView(APIView):
    """Receive a Tencent Chat callback (any ``CallbackCommand``) and answer in Tencent's envelope.

    Responses, all ``{"ActionStatus", "ErrorCode", "ErrorInfo"}`` JSON:

    * 200 OK: the callback was authenticated and well formed, and it is stored: a new or
      duplicate official-account message, a recall, or any other command handed on by the
      ``callback_received`` signal. A "before" command gets moderation's decision
      (docs/moderation.md): ``ErrorCode`` 0 allows, 1 or the app's own code refuses, 2 discards.
    * 400 FAIL: the body is not a JSON object, a field is missing or of the wrong type, or the
      query string and the body name different commands. ``ErrorInfo`` names the field.
    * 403 FAIL: ``SdkAppid`` is missing or not configured, the source address is outside the
      app's ``ALLOWED_NETWORKS``, the app has no token and does not accept unsigned callbacks,
      or ``Sign``/``RequestTime`` are missing or wrong: all answered "authentication failed"
      (the delivery record and the log say which); or ``RequestTime`` is outside the accepted
      clock skew, which the answer spells out. Decided before the body is read.
    * 405 FAIL: any method but POST.
    * 411 FAIL: a chunked body that this server does not decode (see ``inbound.read_body``).
    * 413 FAIL: the body is larger than ``MAX_BODY_SIZE``.
    * 500 FAIL: an unexpected error, logged with its traceback.
    """

    # Authentication is Tencent's Sign, checked in auth.authenticate; a project's default
    # DRF authentication (sessions, tokens) means nothing to Tencent.
    authentication_classes = ()
    permission_classes = ()
    # Tencent does not retry by default: a throttled delivery would be a lost message.
    throttle_classes = ()
    # A machine endpoint: JSON only, no browsable API.
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = AlwaysJSON
    # The body is parsed by body.parse_body whatever Content-Type says: Tencent sends none.
    parser_classes = ()
    # OPTIONS and HEAD are methods other than POST like any other: 405, no schema.
    http_method_names = ("post",)
    # Tencent's endpoint, not part of the API that other services call.
    schema = None

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        """The view function, marked once here rather than by method decorators, which would
        wrap ``dispatch`` again on every request.

        * Tencent cannot send a CSRF token; the request is authenticated by its Sign instead.
          DRF's ``as_view()`` already exempts API views (``csrf_exempt``).
        * Ingest owns its transactions: under ATOMIC_REQUESTS its signals would wait for the
          whole request, and an exception after ingest (in a middleware, say) would roll back
          a valid message that Tencent will not send again.
        * Tencent has no session; LoginRequiredMiddleware would answer it with a redirect to
          a login page.
        """
        view = super().as_view(**initkwargs)
        return login_not_required(transaction.non_atomic_requests(view))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        # One scope per request for its log fields, its count and its time (ops.metrics).
        with metrics.track_callback():
            return super().dispatch(request, *args, **kwargs)

    def post(self, request: Request) -> HttpResponse | Response:
        conf = get_settings()
        inbound = InboundRequest.from_http(request._request, conf.trusted_proxies)
        log.note(sdk_app_id=inbound.query.sdk_app_id, command=inbound.query.command)
        try:
            # The query string and the source address decide, before a byte of the body is
            # read: an unauthenticated request costs no read, no buffer, and no 413 that would
            # tell it the size limit.
            app = authenticate(
                inbound.query,
                conf.apps,
                now=int(time.time()),
                skew=conf.request_time_skew,
                source=inbound.remote_addr,
            )
            body = read_body(request._request, conf.max_body_size)
        except CallbackError as error:
            return _reject(inbound, error)
        try:
            payload = parse_body(body)
            event = parse_event(resolve_command(inbound.query.command, payload), payload)
            log.note(command=event.command, msg_key=getattr(event, "msg_key", None))
        except CallbackError as error:
            # Authenticated, so Tencent's, and it will not come again: keep what it sent if it
            # is this app's to keep (docs/webhook.md), for officialaccount_reprocess.
            return _reject(inbound, error, body if keeps_refused_body(inbound) else None)
        if isinstance(event, BeforeEvent):
            return _moderated(app.sdk_app_id, decide(app, event), inbound, body)
        # What fails here is ours, not the request's: handle_exception answers it.
        store_or_spool(app.sdk_app_id, event, inbound)
        return HttpResponse(_SUCCESS_BODY, content_type=JSONRenderer.media_type)

    def http_method_not_allowed(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Response:
        # DRF hands in its Request, which wraps Django's.
        return _reject(
            _inbound(getattr(request, "_request", request)),
            MethodNotAllowed(f"method {request.method} is not allowed; Tencent callbacks are POST"),
        )

    def handle_exception(self, exc: Exception) -> Response:
        # The view raises nothing on purpose (refusals are answered in post()), so whatever
        # arrives here is unexpected: log it, record it if the database lets us, and answer
        # in the envelope all the same, so that Tencent's log shows a JSON reason.
        logger.exception("Unexpected error while handling a Tencent callback")
        error = InternalError(f"internal error ({type(exc).__name__})")
        try:
            record_rejection(_inbound(self.request._request), error)
        except DatabaseError:
            logger.exception("Could not record the failed delivery either")
        return _envelope_response(error.status_code, error.info)


def _moderated(
    sdk_app_id: int, event: BeforeEvent, inbound: InboundRequest, body: bytes
) -> HttpResponse:
    """A before-callback, decided by moderation's hooks: stored with its decision, and answered
    with it even when it could not be stored (Tencent does not ask again)."""
    try:
        store_or_spool(sdk_app_id, event, inbound)
    except (IntegrityError, DataError) as exc:
        # About this callback's data: kept as a refused body, for officialaccount_reprocess.
        logger.exception("Could not store a moderated callback; kept as refused")
        _keep_unstored(inbound, NotStored(f"not stored ({type(exc).__name__})"), body)
    except Exception:
        logger.exception("Could not keep a moderated callback; its decision is answered anyway")
    return HttpResponse(answer_body(event), content_type=JSONRenderer.media_type)


class NotStored(CallbackError):
    """A moderated callback answered with its decision (so 200), which could not be stored."""

    status_code = 200


def _keep_unstored(inbound: InboundRequest, error: CallbackError, body: bytes) -> None:
    log.note(outcome="refused")
    try:
        record_rejection(inbound, error, body)
    except DatabaseError:
        logger.exception("Could not record the unstored callback either")


def _inbound(http_request: HttpRequest) -> InboundRequest:
    """The request as recorded, where the settings may be what failed."""
    try:
        trusted_proxies = get_settings().trusted_proxies
    except ImproperlyConfigured:
        trusted_proxies = 0  # the nearest peer's address: true, if maybe a proxy's
    return InboundRequest.from_http(http_request, trusted_proxies)


def _reject(inbound: InboundRequest, error: CallbackError, body: bytes | None = None) -> Response:
    log.note(outcome="refused" if body is not None else "rejected")
    metrics.refused(error.status_code)
    try:
        record_rejection(inbound, error, body)
    except DatabaseError:
        # The refusal stands whether or not it could be recorded.
        logger.exception("Could not record a rejected callback")
    # The caller may be told less than the record and the log keep (auth.GENERIC_REFUSAL).
    answer = error.answer if isinstance(error, AuthenticationFailed) else error.info
    # %r keeps attacker-chosen text on one line; neither the Sign nor a token is ever in it.
    logger.warning(
        "Rejected callback %r from %s for SdkAppid %s: %s %r",
        inbound.query.command,
        inbound.remote_addr,
        inbound.query.sdk_app_id,
        error.status_code,
        error.info,
    )
    return _envelope_response(error.status_code, answer)


def _envelope_response(status_code: int, info: str) -> Response:
    response = Response(failure_envelope(status_code, info), status=status_code)
    # This module has logged the failure already, without the URL. Django's request logger
    # would log it again with the request attached, and the request's URL carries the Sign.
    response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own flag
    return response
