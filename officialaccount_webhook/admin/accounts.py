"""The admin of official accounts: the mirror of Tencent's accounts, each with its messages and
subscribers one click away, and the actions that change them on Tencent (``account_actions``).

The mirror is changed only through Tencent (its callbacks, ``officialaccount_sync`` and these
actions), so every field is read-only here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.urls import URLPattern, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from ..models import OfficialAccount, OfficialAccountMessage
from . import account_actions, detail, times
from .base import ReadOnlyAdmin
from .filters import SdkAppIdFilter

MESSAGES_URL = "admin:officialaccount_webhook_officialaccountmessage_changelist"
SUBSCRIBERS_URL = "admin:officialaccount_webhook_officialaccountsubscriber_changelist"
# The page query's annotations.
_LAST_MESSAGE = "_last_message_time"
_ACCOUNT_NAME = "_account_name"


class AccountStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        return [("active", _("Active")), ("full", _("Full")), ("destroyed", _("Destroyed"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "active":
            return queryset.filter(destroyed_at__isnull=True, is_full=False)
        if value == "full":
            return queryset.filter(destroyed_at__isnull=True, is_full=True)
        if value == "destroyed":
            return queryset.filter(destroyed_at__isnull=False)
        return queryset if value is None else queryset.none()


def state(account: OfficialAccount) -> str:
    """Active, full or destroyed, in words (destroyed wins: a destroyed account was full too)."""
    # A context of their own: Django's auth catalogue, read first, says "active" otherwise.
    if account.destroyed_at is not None:
        return pgettext("account state", "destroyed")
    if account.is_full:
        return pgettext("account state", "full")
    return pgettext("account state", "active")


def newest_message_time() -> Subquery:
    """The time of an account row's newest stored message, as a subquery of the row.

    In the page's own query, so it is computed for the page's rows only; each is one probe of
    the messages' index on (official_account, -msg_time), the newest first, with the app
    checked on it. A GROUP BY over the messages would read every message of the accounts.
    """
    newest = OfficialAccountMessage.objects.filter(
        official_account=OuterRef("official_account"), sdk_app_id=OuterRef("sdk_app_id")
    ).order_by("-msg_time")
    return Subquery(newest.values("msg_time")[:1])


def account_name() -> Subquery:
    """The name of a message row's account, as a subquery of the row: one probe of the
    accounts' unique index on (SDKAppID, account)."""
    named = OfficialAccount.objects.filter(
        sdk_app_id=OuterRef("sdk_app_id"), official_account=OuterRef("official_account")
    )
    return Subquery(named.values("name")[:1])


class PageAnnotated(ChangeList):
    """A list whose page rows get ``page_annotations``, read in the page's own query (no
    query per row, none for the count, the filters or the chart)."""

    def page_annotations(self) -> dict[str, Any]:
        return {}

    def get_results(self, request: HttpRequest) -> None:
        whole = self.queryset
        self.queryset = whole.annotate(**self.page_annotations())
        try:
            super().get_results(request)
        finally:
            self.queryset = whole


class AccountsChangeList(PageAnnotated):
    """The account list, with each row's last message time."""

    def page_annotations(self) -> dict[str, Any]:
        return {_LAST_MESSAGE: newest_message_time()}


class MessagesChangeList(PageAnnotated, detail.HeadsChangeList):
    """The message list (its rows' first elements, ``detail``), with each row's account name."""

    def page_annotations(self) -> dict[str, Any]:
        return {_ACCOUNT_NAME: account_name()}


def named_account(row: Any) -> str:
    """A row's account ID with its account's name beside it (when the mirror has one)."""
    if hasattr(row, _ACCOUNT_NAME):
        name = getattr(row, _ACCOUNT_NAME)
    else:  # a detail page: one row, one query
        named = OfficialAccount.objects.filter(
            sdk_app_id=row.sdk_app_id, official_account=row.official_account
        )
        name = named.values_list("name", flat=True).first()
    if not name:
        return str(row.official_account)
    return format_html(
        '{} <span class="officialaccount-name">({})</span>', row.official_account, name
    )


@admin.register(OfficialAccount)
class OfficialAccountAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "official_account",
        "sdk_app_id",
        "state",
        "subscriber_count",
        "last_message",
        "messages_link",
        "subscribers_link",
    )
    list_display_links = ("name", "official_account")
    list_filter = (SdkAppIdFilter, AccountStateFilter)
    # A name contains the words; an ID is matched whole.
    search_fields = ("name", "=official_account")
    search_help_text = _("Words from the name, or an exact official account ID.")
    # The unique index on (SDKAppID, account) serves the order.
    ordering = ("sdk_app_id", "official_account")
    sortable_by = ("official_account",)
    change_list_template = "admin/officialaccount_webhook/officialaccount/change_list.html"
    change_form_template = "admin/officialaccount_webhook/officialaccount/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "official_account",
                    "sdk_app_id",
                    "name",
                    "owner_account",
                    "introduction",
                    "face_url",
                    "organization",
                    "custom_string",
                    "links",
                )
            },
        ),
        (
            _("State"),
            {
                "fields": (
                    "state",
                    "subscriber_count",
                    "max_subscriber_count",
                    "created_at",
                    "is_full",
                    "full_at",
                    "destroyed_at",
                    "synced_at",
                    "first_seen_at",
                )
            },
        ),
        (
            _("Event times"),
            {"classes": ("collapse",), "fields": ("profile_event_time", "removal_event_time")},
        ),
    )
    readonly_fields = ("state", "links")

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AccountsChangeList

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the mirror changes through Tencent only: destroy the account there

    @admin.display(description=_("state"))
    def state(self, account: OfficialAccount) -> str:
        return state(account)

    @admin.display(description=_("last message"))
    def last_message(self, account: OfficialAccount) -> str:
        return times.moment(getattr(account, _LAST_MESSAGE, None))  # admin/times.py's format

    @admin.display(description=_("messages"))
    def messages_link(self, account: OfficialAccount) -> str:
        query = {"sdk_app_id": account.sdk_app_id, "official_account": account.official_account}
        url = f"{reverse(MESSAGES_URL)}?{urlencode(query)}"
        return format_html('<a href="{}">{}</a>', url, _("Messages"))

    @admin.display(description=_("subscribers"))
    def subscribers_link(self, account: OfficialAccount) -> str:
        query = {"sdk_app_id": account.sdk_app_id, "official_account": account.official_account}
        url = f"{reverse(SUBSCRIBERS_URL)}?{urlencode(query)}"
        return format_html('<a href="{}">{}</a>', url, _("Subscribers"))

    @admin.display(description=_("see"))
    def links(self, account: OfficialAccount) -> str:
        return format_html(
            "{} &middot; {}", self.messages_link(account), self.subscribers_link(account)
        )

    def get_urls(self) -> list[URLPattern]:
        # Before Django's own: its "<object_id>/" catch-all would take the URLs otherwise.
        return [*account_actions.urls(self), *super().get_urls()]

    def page_context(self, request: HttpRequest, object_id: str | None) -> dict[str, Any]:
        # The actions on Tencent the user may take: on the list, those without an account.
        if object_id is None:
            return {"tencent_actions": account_actions.list_tools(self, request)}
        return {"tencent_actions": account_actions.detail_tools(self, request, object_id)}
