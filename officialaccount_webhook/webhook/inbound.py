"""What the app keeps of an HTTP request to the webhook, whichever way it is stored later:
now, by ingest, or after an outage, from the spool."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone

from .query import CallbackQuery, parse_ip


@dataclass(frozen=True)
class InboundRequest:
    """What the delivery record keeps of the HTTP request."""

    query: CallbackQuery
    remote_addr: str | None
    received_at: datetime = field(default_factory=timezone.now)
    spool_record: str = ""
    """For a callback drained from the spool: its record's name."""

    @classmethod
    def from_http(cls, http_request: HttpRequest) -> InboundRequest:
        return cls(
            query=CallbackQuery.from_query_string(http_request.META.get("QUERY_STRING", "")),
            remote_addr=parse_ip(http_request.META.get("REMOTE_ADDR", "")),
        )
