"""Reprocessing: the authenticated callbacks that could not become a message, run through the
current parser again (after an upgrade, or a fix of the settings), and stored if they now parse.

Each refused delivery record keeps the body as received (``raw_body``). A record that now
parses is stored as its callback would have been, linked to its message, and marked
``reprocessed_at``, so that running again skips it; the storage seam's unique key keeps a
message from being stored twice either way. ``message_received`` is sent once per new message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import router, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ..conf import get_settings
from ..messages import history, tombstones
from ..models import CallbackDelivery
from ..notify import schedule
from .body import parse_body, resolve_command
from .events import MessageWithdrawal, SentMessage, parse_event
from .inbound import InboundRequest
from .ingest import apply_withdrawal, new_message, schedule_new_message
from .query import CallbackQuery
from .store import store_message
from .tally import StoreTally
from .wire import CallbackError

Outcome = CallbackDelivery.Outcome


@dataclass
class ReprocessReport(StoreTally):
    """What reprocessing did besides storing messages (``StoreTally``)."""

    withdrawals: int = 0
    handed_on: int = 0
    """Other products' callbacks after all (the record named no command)."""
    still_refused: list[str] = field(default_factory=list)
    """``delivery <pk>: <reason>`` for each record the current parser still refuses (in the
    active language; the parser's reason in English)."""
    stranded_recalls: int = 0
    """Withdrawals that came first and whose message is now stored: applied."""


def refused() -> QuerySet[CallbackDelivery]:
    """The refused deliveries that kept a body and were not reprocessed yet, oldest first."""
    return CallbackDelivery.objects.filter(
        outcome=Outcome.REFUSED, raw_body__isnull=False, reprocessed_at__isnull=True
    ).order_by("received_at", "id")


def reprocess(
    deliveries: QuerySet[CallbackDelivery], *, include_pruned: bool = False
) -> ReprocessReport:
    report = ReprocessReport()
    for pk in deliveries.values_list("pk", flat=True).iterator(chunk_size=500):
        _reprocess_one(pk, report, include_pruned=include_pruned)
    report.stranded_recalls = history.apply_stranded(router.db_for_write(CallbackDelivery))
    return report


def _reprocess_one(pk: int, report: ReprocessReport, *, include_pruned: bool) -> None:
    using = router.db_for_write(CallbackDelivery)
    with transaction.atomic(using=using):
        # Locked and read again: two runs at once reprocess each record once.
        delivery = (
            CallbackDelivery.objects.using(using)
            .select_for_update()
            .filter(pk=pk, reprocessed_at__isnull=True)
            .first()
        )
        if delivery is None or delivery.raw_body is None:
            return  # reprocessed meanwhile by another run
        if delivery.sdk_app_id is None:  # never authenticated, so never kept: not ours to store
            report.still_refused.append(_("delivery %(pk)d: no SDKAppID") % {"pk": pk})
            return
        query = CallbackQuery.from_query_string(delivery.query_string)
        try:
            payload = parse_body(bytes(delivery.raw_body))
            event = parse_event(resolve_command(query.command, payload), payload)
        except CallbackError as error:
            # The parser's reason stays English, as the webhook's ErrorInfo does.
            line = _("delivery %(pk)d: %(reason)s") % {"pk": pk, "reason": error.info}
            report.still_refused.append(line)
            if error.info != delivery.reason:
                delivery.reason = error.info
                delivery.save(using=using, update_fields=["reason"])
            return
        request = InboundRequest(
            query=query, remote_addr=delivery.remote_addr, received_at=delivery.received_at
        )
        delivery.body = payload
        delivery.reprocessed_at = timezone.now()
        if isinstance(event, SentMessage):
            if not include_pruned and tombstones.is_pruned(
                using, delivery.sdk_app_id, event.official_account, event.msg_key
            ):
                report.pruned += 1
            else:
                result = store_message(
                    using, new_message(delivery.sdk_app_id, event, request), None
                )
                delivery.message = result.message
                report.count_stored(result.is_new)
                if result.is_new:
                    schedule_new_message(using, result)
        elif isinstance(event, MessageWithdrawal):
            apply_withdrawal(using, delivery.sdk_app_id, event, delivery)
            report.withdrawals += 1
        else:
            # Another product's after all (the record named no command): handed on, and kept
            # only as KEEP_OTHER_COMMAND_BODIES says.
            report.handed_on += 1
            delivery.raw_body = None
            if not get_settings().keep_other_command_bodies:
                delivery.body = None
        delivery.save(using=using, update_fields=["body", "raw_body", "reprocessed_at", "message"])
        schedule.callback_received(using, delivery, event.payload)
