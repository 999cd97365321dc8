"""The admin of delivery records: every request that reached the webhook, and its outcome."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import CallbackDelivery
from .base import ReadOnlyAdmin, json_block
from .filters import CommandFilter, StatusCodeFilter


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
    fields = (*list_display[:-1], "query_string", "message_link", "raw_body")
    readonly_fields = ("message_link", "raw_body")

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallbackDelivery]:
        # The list shows the message's MsgKey only: no need for its body.
        return (
            super()
            .get_queryset(request)
            .select_related("message")
            .defer("message__msg_body", "message__text_content", "message__extra")
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

    @admin.display(description=_("body"))
    def raw_body(self, delivery: CallbackDelivery) -> str:
        return json_block(delivery.body) if delivery.body is not None else "-"
