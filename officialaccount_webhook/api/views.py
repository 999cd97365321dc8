"""A small REST API for other services: find stored messages, and recall them.

Authentication is the project's (DRF's ``DEFAULT_AUTHENTICATION_CLASSES``); reading needs the
``view_officialaccountmessage`` permission and recalling ``recall_officialaccountmessage``,
each within the caller's apps (``officialaccount_webhook.scope``, docs/recall.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..messages.recall import RecallError, RecallOutcome, recall_messages
from ..messages.recall_check import check_recalls
from ..models import MessageRecall, OfficialAccountMessage, OfficialAccountMessageQuerySet
from ..scope import scoped
from .budget import WithinQueryBudget
from .filters import MessageFilters
from .params import APP_PARAMETERS, NewestFirst, check_params, text_search_parameter
from .parsers import BoundedJSONParser
from .permissions import CanRecallMessages, CanViewMessages, check_app_scope
from .serializers import (
    MessageSerializer,
    RecallCheckRequestSerializer,
    RecallRequestSerializer,
    RecallResponseSerializer,
)
from .titles import Titled

_FILTERS = [
    *APP_PARAMETERS,
    OpenApiParameter("msg_key", OpenApiTypes.STR, description="MsgKey, exact"),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Message time from (inclusive)"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Message time before (exclusive)"),
    text_search_parameter("text", "the message body"),
]


@extend_schema(parameters=_FILTERS)
# Each query within QUERY_TIMEOUT: one that runs longer is a 503 (budget.py).
class MessageViewSet(
    Titled, WithinQueryBudget, viewsets.ReadOnlyModelViewSet[OfficialAccountMessage]
):
    """Stored official-account messages, newest first."""

    title = _("Messages")
    item_title = _("Message")
    summary = _("Stored official-account messages, newest first.")

    serializer_class = MessageSerializer
    permission_classes = (CanViewMessages,)
    pagination_class = NewestFirst
    filter_backends = (MessageFilters,)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        check_params(request.query_params)

    def get_queryset(self) -> OfficialAccountMessageQuerySet:
        # Only the caller's apps (scope.py): another app's message is a 404, as if missing.
        # The query parameters narrow it in MessageFilters, which also offers them as a form.
        return scoped(OfficialAccountMessage.objects.all(), self.request.user)


_RECALL_ANSWERS = {
    200: RecallResponseSerializer,
    400: OpenApiTypes.OBJECT,
    403: OpenApiTypes.OBJECT,  # also: the SDKAppID is outside the caller's scope
}


# Each batch of the recall commits on its own, as Tencent carries it out: under ATOMIC_REQUESTS
# a failure in a later batch would roll back what earlier batches did recall, and the database
# transaction would stay open across every call to Tencent.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class _RecallEndpoint(Titled, APIView):
    """What both recall endpoints do around their one call: the body checked, the caller's
    scope, and each key's result, or the ``RecallError`` as a 400. Within RECALL_TIME_BUDGET,
    whatever Tencent does: a key whose outcome is unknown answers "unknown"."""

    permission_classes = (CanRecallMessages,)
    parser_classes = (BoundedJSONParser,)
    request_serializer: type[serializers.Serializer[Any]]

    def post(self, request: Request) -> Response:
        serializer = self.request_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        check_app_scope(request, data["sdk_app_id"])
        try:
            outcomes = self.carry_out(data, f"api:{request.user.get_username()}")
        except RecallError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(RecallResponseSerializer({"results": outcomes}).data)

    def carry_out(self, data: Mapping[str, Any], requested_by: str) -> list[RecallOutcome]:
        raise NotImplementedError


@extend_schema_view(post=extend_schema(request=RecallRequestSerializer, responses=_RECALL_ANSWERS))
class RecallView(_RecallEndpoint):
    """Recall MsgKeys of one official account; answers with each key's result."""

    title = _("Recall")
    summary = _("Recall MsgKeys of one official account; answers with each key's result.")

    request_serializer = RecallRequestSerializer

    def carry_out(self, data: Mapping[str, Any], requested_by: str) -> list[RecallOutcome]:
        return recall_messages(
            [(data["sdk_app_id"], data["official_account"], key) for key in data["msg_keys"]],
            reason=data["reason"],
            requested_by=requested_by,
            source=MessageRecall.Source.API,
        )


@extend_schema_view(
    post=extend_schema(request=RecallCheckRequestSerializer, responses=_RECALL_ANSWERS)
)
class RecallCheckView(_RecallEndpoint):
    """Check the recalls whose outcome is unknown against Tencent's history; answers with each
    checked key's result (keys with no unknown recall are left out)."""

    title = _("Recall check")
    summary = _(
        "Check the recalls whose outcome is unknown against Tencent's history; answers with "
        "each checked key's result (keys with no unknown recall are left out)."
    )

    request_serializer = RecallCheckRequestSerializer

    def carry_out(self, data: Mapping[str, Any], requested_by: str) -> list[RecallOutcome]:
        messages = OfficialAccountMessage.objects.filter(
            sdk_app_id=data["sdk_app_id"],
            official_account=data["official_account"],
            msg_key__in=data["msg_keys"],
        )
        return check_recalls(
            messages, requested_by=f"{requested_by} (check)", source=MessageRecall.Source.API
        )
