"""The recall history as the admin shows it: on a message, every recall of it; on a withdrawal
callback, what it did to each MsgKey, linked to the messages."""

from __future__ import annotations

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _

from ..models import MessageRecall

# A page shows at most this many rows; a withdrawal lists at most Tencent's batch anyway.
MAX_ROWS = 100


def recall_table(recalls: QuerySet[MessageRecall]) -> str:
    rows = list(recalls.order_by("-at", "-id")[: MAX_ROWS + 1])
    for recall in rows:
        recall.message_url = (  # type: ignore[attr-defined]  # for the template only
            reverse(
                "admin:officialaccount_webhook_officialaccountmessage_change",
                args=[recall.message_id],
            )
            if recall.message_id
            else ""
        )
        recall.delivery_url = (  # type: ignore[attr-defined]
            reverse(
                "admin:officialaccount_webhook_callbackdelivery_change", args=[recall.delivery_id]
            )
            if recall.delivery_id
            else ""
        )
    return render_to_string(
        "admin/officialaccount_webhook/recall_history.html",
        {"recalls": rows[:MAX_ROWS], "more": len(rows) > MAX_ROWS, "shown": MAX_ROWS},
    )


def notes(values: list[str]) -> str:
    """A message's repair notes, one line each."""
    if not values:
        return _("Stored as sent: nothing repaired.")
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((v,) for v in values)))
