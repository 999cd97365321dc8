"""The admin of stored messages: browse, search, drill down by date, see the volume, recall."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..models import OfficialAccountMessage
from ..models.volume import deleting
from . import accounts, delivery_marks, detail, history
from .base import ReadOnlyAdmin, json_block, one_line, two_lines
from .budget import within_budget
from .chart import volume_chart
from .export import export_csv, export_jsonl
from .filters import (
    ElementTypeFilter,
    OfficialAccountFilter,
    RecalledFilter,
    SdkAppIdFilter,
)
from .recall import check_recall_again, recall_selected
from .rendering import pretty_json


@admin.register(OfficialAccountMessage)
class OfficialAccountMessageAdmin(ReadOnlyAdmin):
    # Fits a 1280 px window beside the sidebar and the filters (admin.css): long cells are one
    # line cut with an ellipsis, the MsgKey sits under its account, and "online only",
    # "recalled" and a receiver's failure share a column of marks.
    list_display = ("msg_time", "account_and_key", "preview", "marks", "received_at")
    list_filter = (
        SdkAppIdFilter,
        OfficialAccountFilter,
        ElementTypeFilter,
        "online_only",
        RecalledFilter,
    )
    # "=" makes the MsgKey and account searches exact matches, which their indexes serve; the
    # text search looks in text_content, which a trigram index serves on PostgreSQL.
    search_fields = ("=msg_key", "=official_account", "text_content")
    search_help_text = _("An exact MsgKey or official account, or words from the text.")
    drill_down_field = "msg_time"
    allowed_lookups = frozenset({"online_only__exact"})
    # Sorting by a column without an index would sort a million rows for every page.
    sortable_by = ("msg_time",)
    actions = (recall_selected, check_recall_again, export_csv, export_jsonl)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "account",
                    "msg_key",
                    "msg_time",
                    "content",
                    "cloud_custom_data_pretty",
                    "online_only",
                    "repair_notes",
                )
            },
        ),
        (
            _("Delivery"),
            {
                "fields": (
                    "sdk_app_id",
                    "event_time",
                    "received_at",
                    "client_ip",
                    "opt_platform",
                    "deliveries",
                    "receiver_error",
                    "receiver_failed_at",
                )
            },
        ),
        (
            _("Recall"),
            {
                "fields": (
                    "recalled_at",
                    "recall_unknown_at",
                    "recall_ret_code",
                    "recall_reason",
                    "recall_requested_by",
                    "recall_history",
                )
            },
        ),
        (_("Raw JSON"), {"classes": ("collapse",), "fields": ("raw_body", "raw_extra")}),
    )
    readonly_fields = (
        "account",
        "content",
        "cloud_custom_data_pretty",
        "deliveries",
        "raw_body",
        "raw_extra",
        "repair_notes",
        "recall_history",
    )

    def add_changelist_context(self, context: dict[str, Any], changelist: ChangeList) -> None:
        super().add_changelist_context(context, changelist)
        context["volume_chart"] = volume_chart(changelist)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return accounts.MessagesChangeList  # the first elements, and the accounts' names

    @admin.display(description=_("official account"))
    def account(self, message: OfficialAccountMessage) -> str:
        return accounts.named_account(message)  # its name beside it

    @admin.display(description=_("Official account · MsgKey"))
    def account_and_key(self, message: OfficialAccountMessage) -> str:
        return two_lines(accounts.named_account(message), message.msg_key)

    # A context of its own: DRF's catalogue, read first, says "content" otherwise.
    @admin.display(description=pgettext_lazy("column", "content"))
    def preview(self, message: OfficialAccountMessage) -> str:
        return one_line(detail.head_preview(message))

    @admin.display(description=_("marks"))
    def marks(self, message: OfficialAccountMessage) -> str:
        return delivery_marks.marks(message)

    @admin.display(description=pgettext_lazy("column", "content"))
    def content(self, message: OfficialAccountMessage) -> str:
        return detail.content(message)  # at most DETAIL_MAX_ELEMENTS of them

    @admin.display(description=_("cloud custom data"))
    def cloud_custom_data_pretty(self, message: OfficialAccountMessage) -> str:
        if not message.cloud_custom_data:
            return "-"
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            pretty_json(message.cloud_custom_data),
        )

    @admin.display(description=_("deliveries"))
    def deliveries(self, message: OfficialAccountMessage) -> str:
        return delivery_marks.deliveries(message)

    @admin.display(description=_("repairs"))
    def repair_notes(self, message: OfficialAccountMessage) -> str:
        return history.notes(message.repairs)

    @admin.display(description=_("recall history"))
    def recall_history(self, message: OfficialAccountMessage) -> str:
        return history.recall_table(message.recalls.all())

    @admin.display(description=_("MsgBody"))
    def raw_body(self, message: OfficialAccountMessage) -> str:
        return detail.raw_body(message)

    @admin.display(description=_("other body fields"))
    def raw_extra(self, message: OfficialAccountMessage) -> str:
        return json_block(message.extra)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # The chart's rollup takes the whole selection off at once, not a message at a time.
        with transaction.atomic(queryset.db), deleting(queryset.db):
            super().delete_queryset(request, queryset)

    def has_recall_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("officialaccount_webhook.recall_officialaccountmessage")

    def get_urls(self) -> list[URLPattern]:
        # Before Django's own: its "<object_id>/" catch-all would take the URL otherwise.
        raw_json = path(
            "<path:object_id>/raw-json/",
            self.admin_site.admin_view(self.raw_json_view),
            name=detail.RAW_JSON_URL_NAME,
        )
        return [raw_json, *super().get_urls()]

    def raw_json_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The whole msg_body as JSON: what the detail page, bounded, links to."""
        return within_budget(
            self, request, lambda: detail.raw_json_view(self, request, unquote(object_id))
        )
