"""``POST send/``: a broadcast, sent now or scheduled, with an ``Idempotency-Key``.

Needs the ``send_officialaccountmessage`` permission, within the caller's apps. The key (the
header, required) makes a retried HTTP request send once: the first request's answer is kept
under (caller, key) and a retry with the same body gets it again; the same key with another
body is a 422, and a retry while the first is still sending a 409. A send that certainly did
not happen (refused before the call, or by Tencent) keeps nothing, so the key may be retried.
Anything else keeps an answer: a 504 "maybe sent" when the send failed unexpectedly, and for a
claim left without an answer (its request died) once ``IDEMPOTENCY_CLAIM_TIMEOUT`` has passed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..compose.send import SendError, SendFailed, SentNotStored, send_message
from ..conf import get_settings
from ..models import OfficialAccountMessage, SendIdempotencyKey
from ..models.sending import IDEMPOTENCY_CLAIM_TIMEOUT, IDEMPOTENCY_KEY_LENGTH
from ..tencent.budget import TimeBudget
from ..tencent.retries import RETRYABLE_CODES
from ..webhook.wire import MAX_ACCOUNT_LENGTH
from .parsers import BoundedJSONParser
from .permissions import check_app_scope
from .serializers import MAX_SDK_APP_ID
from .titles import Titled

logger = logging.getLogger(__name__)

SEND = "officialaccount_webhook.send_officialaccountmessage"
HEADER = "Idempotency-Key"


def maybe_sent() -> dict[str, Any]:
    """The answer when it is not known whether the message went out: kept, so no retry resends
    it. In the language of the request that keeps it: a retry gets the first answer as it was."""
    return {
        "detail": _(
            "The send did not finish: the message may have been sent, and its after-send "
            "callback will store it if so. Do not send it again with another key."
        ),
        "maybe_sent": True,
    }


class CanSendMessages(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(SEND))


class SendRequestSerializer(serializers.Serializer[dict[str, Any]]):
    sdk_app_id = serializers.IntegerField(min_value=1, max_value=MAX_SDK_APP_ID)
    official_account = serializers.CharField(max_length=MAX_ACCOUNT_LENGTH)
    text = serializers.CharField(required=False, trim_whitespace=False)
    elements = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        min_length=1,
        help_text="MsgBody: elements as Tencent names them, {MsgType, MsgContent}.",
    )
    cloud_custom_data = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    online_only = serializers.BooleanField(required=False, default=False)
    offline_push_info = serializers.DictField(required=False, allow_null=True, default=None)
    send_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="Schedule it for then."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("text" in attrs) == ("elements" in attrs):
            raise serializers.ValidationError(_("Give either text or elements."))
        return attrs


class SendResponseSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=["sent", "scheduled"])
    msg_key = serializers.CharField(required=False)
    msg_time = serializers.DateTimeField(required=False)
    message_id = serializers.IntegerField(required=False, help_text="Absent if not stored yet.")
    uncertain = serializers.BooleanField(
        required=False, help_text="Sent by a retry after an attempt that may have sent it."
    )
    detail = serializers.CharField(required=False)
    scheduled_send_id = serializers.IntegerField(required=False)
    send_at = serializers.DateTimeField(required=False)


_ANSWERS = {
    201: SendResponseSerializer,
    202: SendResponseSerializer,
    400: OpenApiTypes.OBJECT,
    403: OpenApiTypes.OBJECT,
    409: OpenApiTypes.OBJECT,
    422: OpenApiTypes.OBJECT,
    429: OpenApiTypes.OBJECT,
    502: OpenApiTypes.OBJECT,
    504: OpenApiTypes.OBJECT,
}
_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description="Chosen by the client, one per send (a UUID, say): a retry with the same key "
    "and body gets the first answer and sends nothing.",
)


# No transaction around the request: the call to Tencent must not hold one open, and the key's
# row must commit before the send starts, so that a concurrent retry sees it.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class SendView(Titled, APIView):
    """Send a broadcast now (201, with MsgKey and MsgTime), or schedule it (202)."""

    title = gettext_lazy("Send a broadcast")
    summary = gettext_lazy(
        "Send a broadcast now (201, with MsgKey and MsgTime), or schedule it (202)."
    )

    permission_classes = (CanSendMessages,)
    parser_classes = (BoundedJSONParser,)

    @extend_schema(request=SendRequestSerializer, responses=_ANSWERS, parameters=[_KEY_PARAMETER])
    def post(self, request: Request) -> Response:
        key = request.headers.get(HEADER, "")
        if not key or len(key) > IDEMPOTENCY_KEY_LENGTH or not key.isprintable():
            detail = _("Send an %(header)s header: 1 to %(max)d printable characters.") % {
                "header": HEADER,
                "max": IDEMPOTENCY_KEY_LENGTH,
            }
            return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
        serializer = SendRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        check_app_scope(request, data["sdk_app_id"])
        claimed = _claim(request.user, key, _fingerprint(request.data))
        if isinstance(claimed, Response):
            return claimed
        try:
            answer, code = _send(data, f"api:{request.user.get_username()}")
        except Exception:
            # A bug, or the database: whether Tencent sent it is unknown, so the key must not
            # be freed for a second send, nor left claimed (409) for ever.
            logger.exception("Send for key %r failed unexpectedly", key)
            answer, code = maybe_sent(), status.HTTP_504_GATEWAY_TIMEOUT
        if code in (status.HTTP_400_BAD_REQUEST, status.HTTP_429_TOO_MANY_REQUESTS, 502):
            claimed.delete()  # nothing was sent: the same key may try again
        else:
            claimed.answer, claimed.status_code = answer, code
            claimed.save(update_fields=["answer", "status_code"])
        return Response(answer, status=code)


def _fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _claim(user: Any, key: str, fingerprint: str) -> SendIdempotencyKey | Response:
    """The new row for this key, or the answer a retry gets."""
    try:
        with transaction.atomic():
            return SendIdempotencyKey.objects.create(user=user, key=key, request_hash=fingerprint)
    except IntegrityError:
        pass
    first = SendIdempotencyKey.objects.filter(user=user, key=key).first()
    if first is None:  # deleted meanwhile: its send failed; the client may retry
        return Response(
            {"detail": _("A request with this key just failed; retry.")},
            status=status.HTTP_409_CONFLICT,
        )
    if first.request_hash != fingerprint:
        return Response(
            {
                "detail": _("This %(header)s was used with another request body.")
                % {"header": HEADER}
            },
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if first.answer is None and first.created_at < timezone.now() - IDEMPOTENCY_CLAIM_TIMEOUT:
        # Its request died before answering (a worker killed mid-send): say "maybe sent" now
        # and for good.
        SendIdempotencyKey.objects.filter(pk=first.pk, answer__isnull=True).update(
            answer=maybe_sent(), status_code=status.HTTP_504_GATEWAY_TIMEOUT
        )
        first.refresh_from_db()
    if first.answer is None:
        return Response(
            {"detail": _("A request with this key is still being sent; retry later.")},
            status=status.HTTP_409_CONFLICT,
        )
    return Response(first.answer, status=first.status_code, headers={"Idempotent-Replayed": "true"})


def _send(data: dict[str, Any], sent_by: str) -> tuple[dict[str, Any], int]:
    """Send (or schedule) and say it as the answer's body and status."""
    try:
        sent = send_message(
            data["sdk_app_id"],
            data["official_account"],
            [data["text"]] if "text" in data else data["elements"],
            cloud_custom_data=data["cloud_custom_data"],
            online_only=data["online_only"],
            offline_push_info=data["offline_push_info"],
            sent_by=sent_by,
            send_at=data["send_at"],
            # The request answers within RECALL_TIME_BUDGET, whatever Tencent does.
            budget=TimeBudget(get_settings().recall_time_budget),
        )
    except SendError as exc:
        return {"detail": str(exc)}, status.HTTP_400_BAD_REQUEST
    except SendFailed as exc:
        answer = {
            "detail": str(exc),
            "error_code": exc.error_code,
            "error_info": exc.error_info,
            "maybe_sent": exc.maybe_sent,
        }
        if exc.maybe_sent:
            return answer, status.HTTP_504_GATEWAY_TIMEOUT
        if exc.error_code in RETRYABLE_CODES:
            return answer, status.HTTP_429_TOO_MANY_REQUESTS
        return answer, status.HTTP_502_BAD_GATEWAY
    except SentNotStored as exc:
        # Sent: the answer says so, with Tencent's MsgKey; its callback stores the message.
        body: dict[str, Any] = {"status": "sent", "msg_key": exc.msg_key, "detail": str(exc)}
        if exc.msg_time is not None:
            body["msg_time"] = datetime.fromtimestamp(exc.msg_time, tz=UTC)
        return dict(SendResponseSerializer(body).data), status.HTTP_201_CREATED
    if isinstance(sent, OfficialAccountMessage):
        body = {
            "status": "sent",
            "msg_key": sent.msg_key,
            "msg_time": sent.msg_time,
            "message_id": sent.pk,
        }
        if getattr(sent, "sent_uncertain", False):
            body["uncertain"] = True
        return dict(SendResponseSerializer(body).data), status.HTTP_201_CREATED
    body = {"status": "scheduled", "scheduled_send_id": sent.pk, "send_at": sent.send_at}
    return dict(SendResponseSerializer(body).data), status.HTTP_202_ACCEPTED
