"""The admin's export actions: the selected messages, or with "select all" everything the
filtered list shows, streamed as CSV or JSON Lines (``export.formats``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..export.formats import FORMATS, export
from ..models import OfficialAccountMessage


def _download(queryset: QuerySet[OfficialAccountMessage], fmt: str) -> StreamingHttpResponse:
    # The list's own order, newest first; the rows stream as they are read.
    response = StreamingHttpResponse(
        export(queryset.order_by("-msg_time", "-id"), fmt), content_type=FORMATS[fmt]
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="messages-{stamp}.{fmt}"'
    return response


@admin.action(description=_("Export selected messages as CSV"), permissions=["view"])
def export_csv(
    model_admin: Any, request: HttpRequest, queryset: QuerySet[OfficialAccountMessage]
) -> StreamingHttpResponse:
    return _download(queryset, "csv")


@admin.action(description=_("Export selected messages as JSON Lines"), permissions=["view"])
def export_jsonl(
    model_admin: Any, request: HttpRequest, queryset: QuerySet[OfficialAccountMessage]
) -> StreamingHttpResponse:
    return _download(queryset, "jsonl")
