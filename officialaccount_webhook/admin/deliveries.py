"""The admin of delivery records: every request that reached the webhook, and its outcome."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..models import CallbackDelivery
from . import detail, history, triage
from .base import ReadOnlyAdmin, one_line, outcome_badge, two_lines
from .filters import CommandFilter, StatusCodeFilter
from .moderation import decision_block


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ReadOnlyAdmin):
    # Fits a 1280 px window beside the sidebar and the filters (admin.css): the status code
    # rides with the outcome, the app and the remote address under the command, and the long
    # cells are one line cut with an ellipsis; the detail page shows each in full.
    list_display = (
        "received_at",
        "outcome_badge",
        "command_and_source",
        "reason_cut",
        "message_link",
    )
    list_filter = ("outcome", CommandFilter, StatusCodeFilter)
    search_fields = ("command", "reason", "remote_addr", "message__msg_key")  # see search()
    search_help_text = _(
        "An IP address, a MsgKey or a command (“Group.CallbackAfterSendMsg”) exactly; "
        "other words are looked for in the reasons."
    )
    drill_down_field = "received_at"
    # reason__exact: the summary's links to the deliveries refused for one reason.
    allowed_lookups = frozenset({"outcome__exact", "message__id__exact", "reason__exact"})
    sortable_by = ("received_at",)
    # The detail page: every column in full, then what a list has no room for.
    fields = (
        "received_at",
        "command",
        "outcome_badge",
        "status_code",
        "reason",
        "sdk_app_id",
        "remote_addr",
        "query_string",
        "message_link",
        "withdrawal",
        "moderation_summary",
        "body_json",
        "refused_body",
        "reprocessed_at",
    )
    readonly_fields = (
        "outcome_badge",
        "command_and_source",
        "reason_cut",
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

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        found, refused = triage.search(queryset, search_term)
        if refused:
            self.message_user(request, refused, messages.ERROR)
        return found, False  # one row per delivery: the MsgKey is matched in a subquery

    def add_changelist_context(self, context: dict[str, Any], changelist: ChangeList) -> None:
        super().add_changelist_context(context, changelist)
        # Of all the user's deliveries, not the filtered list: what happened lately.
        context["triage"] = triage.summary(changelist.root_queryset, timezone.now())

    @admin.display(description=_("outcome"), ordering="outcome")
    def outcome_badge(self, delivery: CallbackDelivery) -> str:
        return outcome_badge(delivery.outcome, delivery.get_outcome_display(), delivery.status_code)

    @admin.display(description=_("command · SDKAppID · from"))
    def command_and_source(self, delivery: CallbackDelivery) -> str:
        # What tells commands apart first ("AfterSendMsg"), in a narrow column; the product
        # ("OfficialAccount", "Group") leads the second line; the whole command on hover.
        command = delivery.command or "?"
        product, _dot, name = command.rpartition(".")
        source = f"{delivery.sdk_app_id or '-'} · {delivery.remote_addr or '-'}"
        second = f"{product} · {source}" if product else source
        return two_lines(name.removeprefix("Callback") or name, second, title=command)

    @admin.display(description=_("rejection reason"))
    def reason_cut(self, delivery: CallbackDelivery) -> str:
        return one_line(delivery.reason)

    @admin.display(description=_("message"))
    def message_link(self, delivery: CallbackDelivery) -> str:
        if delivery.message is None:
            return "-"
        url = reverse(
            "admin:officialaccount_webhook_officialaccountmessage_change",
            args=[delivery.message.pk],
        )
        key = delivery.message.msg_key
        return format_html(
            '<a href="{}" class="officialaccount-cut" title="{}">{}</a>', url, key, key
        )

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
