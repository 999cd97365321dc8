"""The admin of scheduled sends: the list, cancelling one before its task sends it, and the
"Compose broadcast" page (``compose``), which lives here as the page that sending starts from.

Whoever may send (``send_officialaccountmessage``) may see and cancel scheduled sends, within
their apps (``scope``); nobody edits one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .. import elements
from ..compose.schedule import cancel_scheduled
from ..models import ScheduledSend
from .base import ReadOnlyAdmin, json_block
from .compose import SEND_PERMISSION, compose_view
from .scope import refuse_out_of_scope


@admin.action(description=_("Cancel selected scheduled sends"), permissions=["send"])
def cancel_selected(
    model_admin: Any, request: HttpRequest, queryset: QuerySet[ScheduledSend]
) -> None:
    """Cancel each selected send still waiting; say which could not be (already claimed)."""
    if refuse_out_of_scope(model_admin, request, queryset):
        return
    who = f"admin:{request.user.get_username()}"
    results = [cancel_scheduled(row, who) for row in queryset]
    cancelled = sum(results)
    model_admin.message_user(
        request, _("Cancelled: %(count)d.") % {"count": cancelled}, messages.SUCCESS
    )
    if cancelled < len(results):
        model_admin.message_user(
            request,
            _("%(count)d were no longer waiting (sending, sent, failed or cancelled before).")
            % {"count": len(results) - cancelled},
            messages.WARNING,
        )


@admin.register(ScheduledSend)
class ScheduledSendAdmin(ReadOnlyAdmin):
    list_display = ("send_at", "official_account", "preview", "status", "requested_by", "sent")
    list_filter = ("status",)
    allowed_lookups = frozenset({"status__exact"})
    sortable_by = ("send_at",)
    actions = (cancel_selected,)
    fields = (
        "status",
        "sdk_app_id",
        "official_account",
        "send_at",
        "body",
        "cloud_custom_data",
        "online_only",
        "offline_push_info",
        "random",
        "requested_by",
        "created_at",
        "task_id",
        "cancelled_at",
        "cancelled_by",
        "finished_at",
        "sent",
        "error",
    )
    readonly_fields = ("body", "sent")

    @admin.display(description=pgettext_lazy("column", "content"))
    def preview(self, row: ScheduledSend) -> str:
        return elements.preview(row.msg_body)

    @admin.display(description=_("message body"))
    def body(self, row: ScheduledSend) -> str:
        return json_block(row.msg_body)

    @admin.display(description=_("message"))
    def sent(self, row: ScheduledSend) -> str:
        if row.message_id is None:
            return row.msg_key or "-"
        url = reverse(
            "admin:officialaccount_webhook_officialaccountmessage_change", args=[row.message_id]
        )
        return format_html('<a href="{}">{}</a>', url, row.msg_key)

    def has_send_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(SEND_PERMISSION)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_send_permission(request) or super().has_view_permission(request, obj)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_send_permission(request) or super().has_module_permission(request)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "can_send": self.has_send_permission(request)}
        return super().changelist_view(request, extra)

    def get_urls(self) -> list[URLPattern]:
        # No database transaction around the page: the call to Tencent must not hold one open.
        @transaction.non_atomic_requests
        def compose(request: HttpRequest) -> HttpResponse:
            return compose_view(self, request)

        name = "officialaccount_webhook_scheduledsend_compose"
        return [
            path("compose/", self.admin_site.admin_view(compose), name=name),
            *super().get_urls(),
        ]
