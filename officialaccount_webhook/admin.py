"""Read-only admin for stored messages and delivery records.

Both tables only ever grow from Tencent's callbacks, so nobody adds or edits rows here;
deleting still follows the delete permission.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import elements
from .admin_filters import (
    CommandFilter,
    ElementTypeFilter,
    OfficialAccountFilter,
    RecalledFilter,
    SdkAppIdFilter,
    StatusCodeFilter,
)
from .charts import volume_chart
from .drilldown import drill_down, parse_moment
from .models import CallbackDelivery, OfficialAccountMessage
from .pagination import COUNT_CAP, CappedCountPaginator
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


if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
else:  # ModelAdmin takes no type argument at run time
    ModelAdmin = admin.ModelAdmin


class ReadOnlyAdmin(ModelAdmin):
    # Counting millions of rows on every page load is what makes big admins slow: no full
    # count, and no per-filter counts (facets).
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    list_per_page = 50
    # The field whose drill-down (drilldown.py) stands in for Django's date_hierarchy.
    drill_down_field = ""
    # The lookups the list may be given in its query string besides its own filters' (the
    # drill-down's ranges are added): anything else could be a slow or failing query.
    allowed_lookups: frozenset[str] = frozenset()

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if self.drill_down_field and lookup in (
            f"{self.drill_down_field}__gte",
            f"{self.drill_down_field}__lt",
        ):
            return parse_moment(value) is not None
        own_filters = {
            spec.parameter_name
            for spec in self.list_filter
            if isinstance(spec, type) and issubclass(spec, admin.SimpleListFilter)
        }
        return lookup in own_filters or lookup in self.allowed_lookups

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        # "Select all" means every matching row, but past the count's cap nobody saw how many.
        selects_all = request.POST.get("select_across") == "1"
        if selects_all and queryset.order_by()[: COUNT_CAP + 1].count() > COUNT_CAP:
            self.message_user(
                request,
                _("More than %(cap)d rows match: narrow the list before acting on all of them.")
                % {"cap": COUNT_CAP},
                messages.ERROR,
            )
            return None
        return super().response_action(request, queryset, *args, **kwargs)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:  # not for a redirect or an action's own page
            self.add_changelist_context(context, context["cl"])
        return response

    def add_changelist_context(self, context: dict[str, Any], changelist: ChangeList) -> None:
        context["count_capped"] = getattr(changelist.paginator, "capped", False)
        context["count_cap"] = COUNT_CAP
        if self.drill_down_field:
            context["drill_down"] = drill_down(changelist, self.drill_down_field)


@admin.register(OfficialAccountMessage)
class OfficialAccountMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "msg_time",
        "official_account",
        "msg_key",
        "preview",
        "online_only",
        "recalled",
        "received_at",
    )
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
    actions = ("recall_selected",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "official_account",
                    "msg_key",
                    "msg_time",
                    "content",
                    "cloud_custom_data_pretty",
                    "online_only",
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
            {"fields": ("recalled_at", "recall_ret_code", "recall_reason", "recall_requested_by")},
        ),
        (_("Raw JSON"), {"classes": ("collapse",), "fields": ("raw_body", "raw_extra")}),
    )
    readonly_fields = (
        "content",
        "cloud_custom_data_pretty",
        "deliveries",
        "raw_body",
        "raw_extra",
    )

    def add_changelist_context(self, context: dict[str, Any], changelist: ChangeList) -> None:
        super().add_changelist_context(context, changelist)
        context["volume_chart"] = volume_chart(changelist.queryset)

    @admin.display(description=_("content"))
    def preview(self, message: OfficialAccountMessage) -> str:
        return elements.preview(message.msg_body)

    @admin.display(description=_("recalled"), boolean=True, ordering="recalled_at")
    def recalled(self, message: OfficialAccountMessage) -> bool:
        return message.recalled_at is not None

    @admin.display(description=_("content"))
    def content(self, message: OfficialAccountMessage) -> str:
        views = [elements.view(element) for element in message.msg_body or []]
        return render_to_string(
            "admin/officialaccount_webhook/message_body.html", {"elements": views}
        )

    @admin.display(description=_("cloud custom data"))
    def cloud_custom_data_pretty(self, message: OfficialAccountMessage) -> str:
        if not message.cloud_custom_data:
            return "-"
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            elements.pretty_json(message.cloud_custom_data),
        )

    @admin.display(description=_("deliveries"))
    def deliveries(self, message: OfficialAccountMessage) -> str:
        url = reverse("admin:officialaccount_webhook_callbackdelivery_changelist")
        return format_html(
            '<a href="{}?message__id__exact={}">{}</a>',
            url,
            message.pk,
            _("The callbacks that delivered this message"),
        )

    @admin.display(description=_("MsgBody"))
    def raw_body(self, message: OfficialAccountMessage) -> str:
        return _json_block(message.msg_body)

    @admin.display(description=_("other body fields"))
    def raw_extra(self, message: OfficialAccountMessage) -> str:
        return _json_block(message.extra)

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
    fields = (
        "received_at",
        "command",
        "outcome",
        "status_code",
        "reason",
        "sdk_app_id",
        "remote_addr",
        "query_string",
        "message_link",
        "raw_body",
    )
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
        return _json_block(delivery.body) if delivery.body is not None else "-"


def _json_block(value: Any) -> str:
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', elements.pretty_json(value))
