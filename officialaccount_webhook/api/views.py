"""A small REST API for other services: find stored messages, and recall them.

Authentication is the project's (DRF's ``DEFAULT_AUTHENTICATION_CLASSES``); reading needs the
``view_officialaccountmessage`` permission and recalling ``recall_officialaccountmessage``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from django.db import transaction
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..messages.recall import RecallError, recall_messages
from ..models import MessageRecall, OfficialAccountMessage, OfficialAccountMessageQuerySet
from ..values import parse_moment, parse_sdk_app_id
from .permissions import CanRecallMessages, CanViewMessages
from .serializers import MessageSerializer, RecallRequestSerializer, RecallResponseSerializer


class NewestFirst(CursorPagination):
    # A cursor stays fast on a large table, where OFFSET would scan every skipped row.
    ordering = ("-msg_time", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"


_FILTERS = [
    OpenApiParameter("sdk_app_id", OpenApiTypes.INT, description="SDKAppID"),
    OpenApiParameter("official_account", OpenApiTypes.STR, description="Official account ID"),
    OpenApiParameter("msg_key", OpenApiTypes.STR, description="MsgKey, exact"),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="Message time from (inclusive)"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Message time before (exclusive)"),
    OpenApiParameter("text", OpenApiTypes.STR, description="Text in the message body"),
]


@extend_schema(parameters=_FILTERS)
class MessageViewSet(viewsets.ReadOnlyModelViewSet[OfficialAccountMessage]):
    """Stored official-account messages, newest first."""

    serializer_class = MessageSerializer
    permission_classes = (CanViewMessages,)
    pagination_class = NewestFirst

    def get_queryset(self) -> OfficialAccountMessageQuerySet:
        params = self.request.query_params
        for name, value in params.items():
            if "\x00" in value:  # PostgreSQL cannot compare text with NUL: a 500 otherwise
                raise ValidationError({name: "Must not contain a NUL character."})
        return OfficialAccountMessage.objects.matching(
            sdk_app_id=_parsed(params, "sdk_app_id", parse_sdk_app_id, "Enter a whole number."),
            official_account=params.get("official_account"),
            msg_key=params.get("msg_key"),
            since=_parsed(params, "since", parse_moment, _DATETIME_HINT),
            until=_parsed(params, "until", parse_moment, _DATETIME_HINT),
            text=params.get("text"),
        )


# Each batch of the recall commits on its own, as Tencent carries it out: under ATOMIC_REQUESTS
# a failure in a later batch would roll back what earlier batches did recall, and the database
# transaction would stay open across every call to Tencent.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class RecallView(APIView):
    """Recall MsgKeys of one official account; answers with each key's result."""

    permission_classes = (CanRecallMessages,)

    @extend_schema(
        request=RecallRequestSerializer,
        responses={200: RecallResponseSerializer, 400: OpenApiTypes.OBJECT},
    )
    def post(self, request: Request) -> Response:
        serializer = RecallRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        targets = [(data["sdk_app_id"], data["official_account"], key) for key in data["msg_keys"]]
        try:
            outcomes = recall_messages(
                targets,
                reason=data["reason"],
                requested_by=f"api:{request.user.get_username()}",
                source=MessageRecall.Source.API,
            )
        except RecallError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(RecallResponseSerializer({"results": outcomes}).data)


_DATETIME_HINT = "Enter an ISO 8601 date and time, e.g. 2024-06-01T00:00:00Z."
_Value = TypeVar("_Value")


def _parsed(
    params: Mapping[str, str], name: str, parse: Callable[[str], _Value | None], hint: str
) -> _Value | None:
    """``params[name]`` parsed, None if absent; a 400 naming the parameter if it cannot be."""
    if name not in params:
        return None
    value = parse(params[name])
    if value is None:
        raise ValidationError({name: hint})
    return value
