"""The API's reads within ``QUERY_TIMEOUT`` (``query_budget``): a query that runs too long ends
in a 503 with a JSON ``detail``, not in a worker killed mid-request (a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _
from rest_framework import status, viewsets
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from ..query_budget import QueryTimedOut, query_budget

if TYPE_CHECKING:
    _ViewSet = viewsets.ReadOnlyModelViewSet[Any]
else:  # a plain mixin at run time, before the viewset's own bases
    _ViewSet = object


class QueryTimeout(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "query_timeout"
    default_detail = _(
        "The query ran longer than the server allows (QUERY_TIMEOUT) and was stopped. "
        "Narrow it: a time range (since, until), an official account, an exact msg_key, or "
        "a longer text."
    )


class WithinQueryBudget(_ViewSet):
    """A read-only viewset's mixin: list and retrieve run each query within ``QUERY_TIMEOUT``
    (``class V(WithinQueryBudget, viewsets.ReadOnlyModelViewSet[M])``)."""

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with _budget(self):
            return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with _budget(self):
            return super().retrieve(request, *args, **kwargs)


@contextmanager
def _budget(view: viewsets.GenericViewSet[Any]) -> Iterator[None]:
    """``query_budget`` on the viewset's database; its ``QueryTimedOut`` as a 503."""
    try:
        # The queryset is built, not run: its database is the router's answer for reads.
        with query_budget(view.get_queryset().db):
            yield
    except QueryTimedOut as timeout:
        raise QueryTimeout() from timeout
