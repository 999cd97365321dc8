"""What a message's list row and page say about its deliveries: marks that fit a column, and
the deliveries themselves, refused and failed ones standing out (admin.css)."""

from __future__ import annotations

from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from ..models import CallbackDelivery, OfficialAccountMessage
from . import times
from .base import outcome_badge

# A message's page lists at most this many of its deliveries (the newest); the link lists all.
SHOWN = 20
_LIST_URL = "admin:officialaccount_webhook_callbackdelivery_changelist"


def marks(message: OfficialAccountMessage) -> str:
    """The message's states as short marks, each explained on hover; "-" when it has none."""
    found = []
    if message.online_only:
        found.append(("online", _("online"), _("Online only: sent to subscribers online then.")))
    if message.recalled_at is not None:
        found.append(("recalled", _("recalled"), _("Recalled at %(at)s.")))
    if message.receiver_failed_at is not None:
        found.append(("failed", _("failed"), _("The receiver failed at %(at)s.")))
    if not found:
        return "-"
    at = {
        "recalled": times.moment(message.recalled_at),
        "failed": times.moment(message.receiver_failed_at),
    }
    return format_html_join(
        " ",
        '<span class="officialaccount-mark officialaccount-mark-{}" title="{}">{}</span>',
        ((kind, hint % {"at": at.get(kind, "")}, label) for kind, label, hint in found),
    )


def deliveries(message: OfficialAccountMessage) -> str:
    """The callbacks that delivered the message, newest first, each with its outcome; and the
    receiver's failure, if the message's receiver failed."""
    url = f"{reverse(_LIST_URL)}?message__id__exact={message.pk}"
    # The message link's index serves this: a page reads at most SHOWN of them.
    rows = list(
        CallbackDelivery.objects.filter(message=message)
        .order_by("-received_at", "-id")
        .only("received_at", "command", "outcome", "status_code", "reason")[: SHOWN + 1]
    )
    failure = ""
    if message.receiver_failed_at is not None:
        failure = format_html(
            '<p class="errornote officialaccount-receiver-failed">{} {}: {}</p>',
            _("The receiver failed at"),
            times.moment(message.receiver_failed_at),
            message.receiver_error or "-",
        )
    items = format_html_join(
        "",
        '<li class="{}">{} {} <code>{}</code> {}</li>',
        (
            (
                "officialaccount-delivery-bad" if _bad(row) else "officialaccount-delivery",
                outcome_badge(row.outcome, row.get_outcome_display(), row.status_code),
                times.moment(row.received_at),
                row.command or "?",
                row.reason,
            )
            for row in rows[:SHOWN]
        ),
    )
    more = format_html("<li>…</li>") if len(rows) > SHOWN else ""
    return format_html(
        '{}<ul class="officialaccount-deliveries">{}{}</ul><p><a href="{}">{}</a></p>',
        failure,
        items,
        more,
        url,
        _("The callbacks that delivered this message"),
    )


def _bad(row: CallbackDelivery) -> bool:
    refused = (CallbackDelivery.Outcome.REFUSED, CallbackDelivery.Outcome.REJECTED)
    return row.outcome in refused or row.status_code >= 400
