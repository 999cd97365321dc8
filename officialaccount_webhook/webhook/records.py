"""The delivery record: what the app keeps of every request that reaches the webhook, stored
or refused (``models.CallbackDelivery``)."""

from __future__ import annotations

from typing import Any

from django.db import router

from ..models import CallbackDelivery
from .inbound import InboundRequest
from .wire import MAX_COMMAND_LENGTH, OWN_COMMAND_PREFIX, CallbackError

Outcome = CallbackDelivery.Outcome

# Keeps a junk query string from bloating the delivery table; real ones are ~200 characters.
MAX_STORED_QUERY_LENGTH = 2048


def record_rejection(
    request: InboundRequest, error: CallbackError, raw_body: bytes | None = None
) -> CallbackDelivery:
    """Record a refused request: without its body, or, for an authenticated callback of this
    app's that could not become a message (``raw_body``), with it, for
    ``officialaccount_reprocess``."""
    delivery = new_delivery(
        request,
        command=request.query.command,
        outcome=Outcome.REJECTED if raw_body is None else Outcome.REFUSED,
        status_code=error.status_code,
        sdk_app_id=request.query.sdk_app_id,
        reason=error.info,
    )
    delivery.raw_body = raw_body
    delivery.save(using=router.db_for_write(CallbackDelivery), force_insert=True)
    return delivery


def keeps_refused_body(request: InboundRequest) -> bool:
    """Whether an authenticated callback that could not be parsed keeps its body: this app's
    commands do (and one that names no command, which may be), another product's do not."""
    command = request.query.command
    return not command or command.startswith(OWN_COMMAND_PREFIX)


def new_delivery(
    request: InboundRequest,
    *,
    command: str,
    outcome: str,
    sdk_app_id: int | None,
    status_code: int = 200,
    reason: str = "",
    body: dict[str, Any] | None = None,
) -> CallbackDelivery:
    """The delivery record of ``request``, not saved yet."""
    return CallbackDelivery(
        command=command[:MAX_COMMAND_LENGTH],
        outcome=outcome,
        status_code=status_code,
        sdk_app_id=sdk_app_id,
        reason=reason,
        query_string=request.query.redacted_query[:MAX_STORED_QUERY_LENGTH],
        remote_addr=request.remote_addr,
        received_at=request.received_at,
        spool_record=request.spool_record,
        body=body,
    )
