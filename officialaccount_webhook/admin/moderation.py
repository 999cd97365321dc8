"""The admin of moderation: the decisions on before-callbacks (read only, filterable, each with
the callback's body), and the rules the shipped hooks read: keywords and the deny list."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import CallbackDelivery, DenyListEntry, KeywordRule, ModerationDecision
from ..moderation import keywords  # noqa: F401  (its cache forgets rules saved here)
from ..scope import visible_app_ids
from . import detail, times
from .base import ReadOnlyAdmin, json_block
from .filters import CommandFilter, SdkAppIdFilter
from .scope import AppScopedAdmin


@admin.register(ModerationDecision)
class ModerationDecisionAdmin(ReadOnlyAdmin):
    list_display = (
        "decided_at",
        "command",
        "official_account",
        "decision",
        "hook",
        "reason",
        "error_code",
        "duration_ms",
        "fallback_applied",
        "dry_run",
        "sdk_app_id",
    )
    list_filter = (
        "decision",
        "fallback_applied",
        "dry_run",
        CommandFilter,
        SdkAppIdFilter,
    )
    drill_down_field = "decided_at"
    allowed_lookups = frozenset(
        {"decision__exact", "fallback_applied__exact", "dry_run__exact", "delivery__id__exact"}
    )
    sortable_by = ("decided_at",)
    fields = (*list_display, "failure", "delivery_link", "answer_json", "callback_body")
    readonly_fields = ("delivery_link", "answer_json", "callback_body")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ModerationDecision]:
        return super().get_queryset(request).defer("answer")

    @admin.display(description=_("delivery"))
    def delivery_link(self, decision: ModerationDecision) -> str:
        url = reverse(
            "admin:officialaccount_webhook_callbackdelivery_change", args=[decision.delivery_id]
        )
        return format_html('<a href="{}">{}</a>', url, decision.delivery_id)

    @admin.display(description=_("answer to Tencent"))
    def answer_json(self, decision: ModerationDecision) -> str:
        return json_block(decision.answer)

    @admin.display(description=_("callback body"))
    def callback_body(self, decision: ModerationDecision) -> str:
        body = decision.delivery.body
        return "-" if body is None else detail.callback_body(body, None)


def decision_block(delivery: CallbackDelivery) -> str:
    """The delivery page's summary of its moderation decision, linked to the decision."""
    decision = ModerationDecision.objects.filter(delivery=delivery).first()
    if decision is None:
        return "-"
    url = reverse("admin:officialaccount_webhook_moderationdecision_change", args=[decision.pk])
    failure = f"; {decision.failure}" if decision.failure else ""
    # The values escaped, then put in the translated sentence, whose order is the language's.
    said = gettext("%(decision)s by %(hook)s in %(duration)s ms") % {
        "decision": format_html('<a href="{}">{}</a>', url, decision.get_decision_display()),
        "hook": conditional_escape(decision.hook or "-"),
        "duration": decision.duration_ms,
    }
    return format_html(
        "{}{}{}{}",
        mark_safe(said),  # noqa: S308  (the values in it are escaped above)
        gettext(", fallback applied") if decision.fallback_applied else "",
        gettext(", dry run: allowed") if decision.dry_run else "",
        failure,
    )


class _AppRuleAdmin(AppScopedAdmin):
    """Rules of one app or of every app: a user limited to some apps edits theirs only."""

    def __init__(self, model: type[Any], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        times.show_moments(self)  # their times as every list of the app shows them

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[Any]]:
        form = super().get_form(request, obj, change, **kwargs)
        visible = visible_app_ids(request.user)

        def clean_sdk_app_id(self: forms.ModelForm[Any]) -> int | None:
            value: int | None = self.cleaned_data.get("sdk_app_id")
            if visible is not None and (value is None or value not in visible):
                raise forms.ValidationError(_("Choose one of your apps."))
            return value

        return type(form.__name__, (form,), {"clean_sdk_app_id": clean_sdk_app_id})


@admin.register(KeywordRule)
class KeywordRuleAdmin(_AppRuleAdmin):
    list_display = ("pattern", "is_regex", "enabled", "sdk_app_id", "comment", "updated_at")
    list_filter = ("enabled", "is_regex")
    list_editable = ("enabled",)
    search_fields = ("pattern",)
    fields = ("pattern", "is_regex", "enabled", "sdk_app_id", "comment")


@admin.register(DenyListEntry)
class DenyListEntryAdmin(_AppRuleAdmin):
    list_display = ("account", "kind", "sdk_app_id", "comment", "created_at")
    list_filter = ("kind",)
    search_fields = ("account",)
    fields = ("kind", "account", "sdk_app_id", "comment")
