"""Read-only admin for stored messages and delivery records.

Both tables only ever grow from Tencent's callbacks, so nobody adds or edits rows here;
deleting still follows the delete permission.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import CallbackDelivery, OfficialAccountMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    # Counting millions of rows on every page load is what makes big admins slow.
    show_full_result_count = False
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OfficialAccountMessage)
class OfficialAccountMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "msg_time",
        "official_account",
        "msg_key",
        "online_only",
        "recalled_at",
        "received_at",
    )
    list_filter = ("sdk_app_id", "online_only", ("recalled_at", admin.EmptyFieldListFilter))
    # "=" makes the MsgKey and account searches exact matches, which the unique index serves.
    search_fields = ("=msg_key", "=official_account")
    date_hierarchy = "msg_time"


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "command", "outcome", "status_code", "reason", "remote_addr")
    list_filter = ("outcome", "status_code")
    list_select_related = ("message",)
    raw_id_fields = ("message",)
