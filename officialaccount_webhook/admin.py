"""Read-only admin for stored messages and delivery records.

Both tables only ever grow from Tencent's callbacks, so nobody adds or edits rows here;
deleting still follows the delete permission.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from .models import CallbackDelivery, OfficialAccountMessage
from .protocol import MAX_RECALL_REASON_BYTES
from .recall import RecallError, check_reason, recall_messages

# Each ten messages cost a call to Tencent while the page waits; more belongs to the command.
MAX_RECALL_SELECTION = 100


class RecallForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=MAX_RECALL_REASON_BYTES,
        help_text=_("Optional; sent to Tencent. At most %(bytes)d bytes.")
        % {"bytes": MAX_RECALL_REASON_BYTES},
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"]
        try:
            check_reason(reason)
        except RecallError as exc:
            raise ValidationError(str(exc)) from None
        return reason


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
    actions = ("recall_selected",)

    def has_recall_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("officialaccount_webhook.recall_officialaccountmessage")

    @admin.action(description=_("Recall selected messages"), permissions=["recall"])
    def recall_selected(
        self, request: HttpRequest, queryset: QuerySet[OfficialAccountMessage]
    ) -> TemplateResponse | None:
        """Ask for a reason on a confirmation page, then recall and show each outcome."""
        selected = queryset.count()
        if selected > MAX_RECALL_SELECTION:
            self.message_user(
                request,
                _(
                    "%(selected)d messages are selected; recall at most %(max)d at a time here, "
                    "or use the officialaccount_recall command."
                )
                % {"selected": selected, "max": MAX_RECALL_SELECTION},
                messages.ERROR,
            )
            return None
        confirmed = request.POST.get("confirm") == "yes"
        form = RecallForm(request.POST if confirmed else None)
        if confirmed and form.is_valid():
            try:
                outcomes = recall_messages(
                    queryset,
                    reason=form.cleaned_data["reason"],
                    requested_by=f"admin:{request.user.get_username()}",
                )
            except RecallError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return None
            counts = Counter(outcome.status for outcome in outcomes)
            self.message_user(
                request,
                _(
                    "Recalled: %(recalled)d. Already recalled: %(already)d. Failed: %(failed)d. "
                    "Unknown: %(unknown)d."
                )
                % {
                    "recalled": counts["recalled"],
                    "already": counts["already_recalled"],
                    "failed": counts["failed"],
                    "unknown": counts["unknown"],
                },
                messages.SUCCESS if all(o.ok for o in outcomes) else messages.WARNING,
            )
            return TemplateResponse(
                request,
                "admin/officialaccount_webhook/officialaccountmessage/recall_result.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "outcomes": outcomes,
                    "title": _("Recall results"),
                },
            )
        return TemplateResponse(
            request,
            "admin/officialaccount_webhook/officialaccountmessage/recall_confirmation.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("Recall selected messages"),
                "messages_to_recall": queryset,
                "form": form,
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            },
        )


@admin.register(CallbackDelivery)
class CallbackDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("received_at", "command", "outcome", "status_code", "reason", "remote_addr")
    list_filter = ("outcome", "status_code")
    list_select_related = ("message",)
    raw_id_fields = ("message",)
