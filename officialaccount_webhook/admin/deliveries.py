"""The admin of delivery records: every request that reached the webhook, and its outcome."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import CallbackDelivery
from . import detail, history
from .base import ReadOnlyAdmin
from .filters import CommandFilter, StatusCodeFilter
from .moderation import decision_block


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "command",
        "outcome",
        "status_code",
        "reason",
        "sdk_app_id",
        "remote_addr",
        "message_link",
    )
    list_filter = ("outcome", CommandFilter, StatusCodeFilter)
    drill_down_field = "received_at"
    allowed_lookups = frozenset({"outcome__exact", "message__id__exact"})
    sortable_by = ("received_at",)
    # The detail page: the list's columns, then what a list has no room for.
    fields = (
        *list_display[:-1],
        "query_string",
        "message_link",
        "withdrawal",
        "moderation_summary",
        "body_json",
        "refused_body",
        "reprocessed_at",
    )
    readonly_fields = (
        "message_link",
        "withdrawal",
        "moderation_summary",
        "body_json",
        "refused_body",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallbackDelivery]:
        # The list shows the message's MsgKey only: no need for its body.
        return (
            super()
            .get_queryset(request)
            .select_related("message")
            # The list shows no body: a page of them need not read a megabyte each. The detail
            # page reads them when it shows them.
            .defer(
                "body", "raw_body", "message__msg_body", "message__text_content", "message__extra"
            )
        )

    @admin.display(description=_("message"))
    def message_link(self, delivery: CallbackDelivery) -> str:
        if delivery.message is None:
            return "-"
        url = reverse(
            "admin:officialaccount_webhook_officialaccountmessage_change",
            args=[delivery.message.pk],
        )
        return format_html('<a href="{}">{}</a>', url, delivery.message.msg_key)

    @admin.display(description=_("what the withdrawal did"))
    def withdrawal(self, delivery: CallbackDelivery) -> str:
        if delivery.outcome != CallbackDelivery.Outcome.WITHDRAWAL:
            return "-"
        return history.recall_table(delivery.recalls.all())

    @admin.display(description=_("moderation"))
    def moderation_summary(self, delivery: CallbackDelivery) -> str:
        return decision_block(delivery)

    @admin.display(description=_("body"))
    def body_json(self, delivery: CallbackDelivery) -> str:
        if delivery.body is None:
            return "-"
        # Its MsgBody cut to DETAIL_MAX_ELEMENTS, linked to the message's whole (detail.py).
        return detail.callback_body(delivery.body, delivery.message)

    @admin.display(description=_("refused body, as received"))
    def refused_body(self, delivery: CallbackDelivery) -> str:
        if delivery.raw_body is None:
            return "-"
        # Bytes that may not be UTF-8 (that may be why they were refused): shown with
        # replacement characters; officialaccount_reprocess reads the bytes themselves.
        return detail.callback_body(bytes(delivery.raw_body).decode("utf-8", "replace"), None)
