"""The admin of subscribers: who follows which account, now and before, at a million rows.

Read-only: subscribers change through Tencent (the account's page has the actions). Every
query of the list is served by an index: the order is the unique (account, subscriber) key,
the search matches whole IDs (the subscriber index, the account's key), and the count is
capped (``pagination``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import OfficialAccount, OfficialAccountSubscriber
from ..scope import visible_app_ids
from ..webhook.wire import MAX_ACCOUNT_LENGTH
from . import search
from .base import ReadOnlyAdmin
from .filters import InputFilter, SdkAppIdFilter
from .scope import AppScopedAdmin


class SubscriberAppFilter(SdkAppIdFilter):
    """The SDKAppID filter, through the subscriber's account."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        filtered = super().queryset(request, OfficialAccount.objects.all())
        if self.value() is None:
            return queryset
        return queryset.filter(account__in=filtered.values("pk"))


class SubscriberAccountFilter(InputFilter):
    """An exact official account ID, typed (the account list links here with it)."""

    title = _("official account")
    parameter_name = "official_account"

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        if "\x00" in value:
            return queryset.none()  # no stored value holds NUL, and PostgreSQL refuses one
        # The accounts first, in a query of their own: with their keys in hand, the unique
        # (account, subscriber) index serves both the filter and the order; through a join,
        # PostgreSQL cannot tell how many rows the account has.
        accounts = OfficialAccount.objects.filter(official_account=value).values_list("pk")
        return queryset.filter(account__in=[pk for (pk,) in accounts])


class CurrentFilter(admin.SimpleListFilter):
    title = _("subscription")
    parameter_name = "current"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        return [("yes", _("Current subscribers")), ("no", _("Former subscribers"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(unsubscribed_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(unsubscribed_at__isnull=False)
        return queryset if self.value() is None else queryset.none()


def search_refusal(words: list[str]) -> str | None:
    """Why a subscriber search will not run, or None when it will."""
    if len(words) > search.MAX_TERMS:
        return ngettext(
            "Search for at most %(max)d ID at a time (%(count)d were given).",
            "Search for at most %(max)d IDs at a time (%(count)d were given).",
            search.MAX_TERMS,
        ) % {"max": search.MAX_TERMS, "count": len(words)}
    return None


@admin.register(OfficialAccountSubscriber)
class OfficialAccountSubscriberAdmin(ReadOnlyAdmin):
    list_display = (
        "subscriber_account",
        "account_link",
        "current",
        "subscribed_at",
        "unsubscribed_at",
        "msg_flag",
    )
    list_filter = (SubscriberAppFilter, SubscriberAccountFilter, CurrentFilter)
    search_fields = ("subscriber_account", "account__official_account")
    search_help_text = _(
        "Exact IDs: a subscriber account, an official account, or both (“@TOA#_… user42”)."
    )
    # The unique (account, subscriber) index serves this order, filtered by account or not.
    ordering = ("account_id", "subscriber_account")
    sortable_by = ()
    # The page's accounts in a query of their own (get_queryset): joined into the page's
    # query, they led PostgreSQL to a plan that compared every account with every match.
    list_select_related = False
    fields = (
        "account_link",
        "subscriber_account",
        "current",
        "subscribed_at",
        "unsubscribed_at",
        "msg_flag",
        "custom_string",
        "event_time",
        "synced_at",
    )
    readonly_fields = ("account_link", "current")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the mirror changes through Tencent only

    def get_queryset(self, request: HttpRequest) -> QuerySet[OfficialAccountSubscriber]:
        # Not AppScopedAdmin's filter: a subscriber's app is its account's.
        queryset = super(AppScopedAdmin, self).get_queryset(request).prefetch_related("account")
        visible = visible_app_ids(request.user)
        if visible is None:
            return queryset
        return queryset.filter(account__sdk_app_id__in=visible) if visible else queryset.none()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        """Each word an exact ID, of the subscriber or of the account: each an index lookup
        (a "contains" match would read the million rows); every word must match."""
        words = search.terms(search_term)
        refused = search_refusal(words)
        if refused:
            self.message_user(request, refused, messages.ERROR)
            return queryset.none(), False
        for word in words:
            if len(word) > MAX_ACCOUNT_LENGTH or "\x00" in word:
                return queryset.none(), False  # no ID is that long, and PostgreSQL refuses NUL
            # The accounts first, in a query of their own: an OR with a join would read every
            # subscriber, an OR of two indexed lists reads only the matches.
            accounts = list(
                OfficialAccount.objects.filter(official_account=word).values_list("pk", flat=True)
            )
            queryset = queryset.filter(Q(subscriber_account=word) | Q(account__in=accounts))
        return queryset, False

    @admin.display(description=_("official account"), ordering="account")
    def account_link(self, subscriber: OfficialAccountSubscriber) -> str:
        account = subscriber.account
        url = reverse("admin:officialaccount_webhook_officialaccount_change", args=[account.pk])
        return format_html('<a href="{}">{}</a>', url, str(account))

    @admin.display(description=_("current"), boolean=True)
    def current(self, subscriber: OfficialAccountSubscriber) -> bool:
        return subscriber.is_current
