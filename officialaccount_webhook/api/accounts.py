"""The accounts API: the mirror's official accounts and each account's subscribers, read-only.

Reading accounts needs ``view_officialaccount``; an account's subscribers need that and
``view_officialaccountsubscriber`` (the list's 404 or 200 tells whether the account exists).
Both within the caller's apps (``officialaccount_webhook.scope``): another app's account is a
404, as if missing. Parameters out of range are a 400 naming them, as in the messages API
(``params``); paging is by cursor, with no COUNT, so a page costs the same at any size.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import get_object_or_404
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..models import OfficialAccount, OfficialAccountSubscriber
from ..scope import scoped
from ..values import parse_sdk_app_id
from ..webhook.wire import MAX_ACCOUNT_LENGTH
from .account_serializers import STATE_LOOKUPS, STATES, AccountSerializer, SubscriberSerializer
from .budget import WithinQueryBudget
from .params import (
    APP_PARAMETERS,
    INVALID_CURSOR,
    MAX_CURSOR_LENGTH,
    MAX_TEXT_LENGTH,
    WHOLE_NUMBER,
    NewestFirst,
    check_params,
    text_search_parameter,
)
from .titles import Titled

VIEW_ACCOUNT = "officialaccount_webhook.view_officialaccount"
VIEW_SUBSCRIBER = "officialaccount_webhook.view_officialaccountsubscriber"

# No stored account ID is longer; a name search is bounded as the messages' text search is.
MAX_LENGTHS = {
    "official_account": MAX_ACCOUNT_LENGTH,
    "subscriber_account": MAX_ACCOUNT_LENGTH,
    "name": MAX_TEXT_LENGTH,
    "cursor": MAX_CURSOR_LENGTH,
}
_CURRENT = {"true": True, "false": False}


class HasViewPermissions(BasePermission):
    """An authenticated caller with every permission in the view's ``view_permissions``."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        needed: tuple[str, ...] = view.view_permissions
        return bool(user and user.is_authenticated and user.has_perms(needed))


def filter_accounts(
    queryset: QuerySet[OfficialAccount], params: Mapping[str, str]
) -> QuerySet[OfficialAccount]:
    """The accounts matching ``sdk_app_id``, ``official_account`` (exact), ``name`` (contains,
    any case) and ``state``; a value that cannot be one is a 400 naming its parameter."""
    if "sdk_app_id" in params:
        sdk_app_id = parse_sdk_app_id(params["sdk_app_id"])
        if sdk_app_id is None:
            raise ValidationError({"sdk_app_id": WHOLE_NUMBER})
        queryset = queryset.filter(sdk_app_id=sdk_app_id)
    if "official_account" in params:
        queryset = queryset.filter(official_account=params["official_account"])
    # No index serves "contains" on a name, and none is needed: an app has thousands of
    # accounts at most, not the millions of messages the trigram index is for.
    if params.get("name"):
        queryset = queryset.filter(name__icontains=params["name"])
    if "state" in params:
        state = params["state"]
        if state not in STATES:
            choices = _("Choose one of: %(choices)s.") % {"choices": ", ".join(STATES)}
            raise ValidationError({"state": choices})
        queryset = queryset.filter(STATE_LOOKUPS[state])
    return queryset


def filter_subscribers(
    queryset: QuerySet[OfficialAccountSubscriber], params: Mapping[str, str]
) -> QuerySet[OfficialAccountSubscriber]:
    """The subscribers matching ``current`` (``true``: subscribed now; ``false``: gone) and
    ``subscriber_account`` (exact); a value that cannot be one is a 400 naming its parameter."""
    if "current" in params:
        current = _CURRENT.get(params["current"])
        if current is None:
            raise ValidationError({"current": _("Enter true or false.")})
        queryset = queryset.filter(unsubscribed_at__isnull=current)
    if "subscriber_account" in params:
        queryset = queryset.filter(subscriber_account=params["subscriber_account"])
    return queryset


class _ByAccountID(NewestFirst):
    """Cursor paging on an account ID column, with the messages list's ``page_size`` checks.

    The cursor's position is an account ID written back by the client, so it can be anything:
    text longer than any ID, or holding a NUL (a 500 on PostgreSQL), is a 400.
    """

    def decode_cursor(self, request: Request) -> Cursor | None:
        # DRF's own reading, not NewestFirst's, whose position is a moment.
        try:
            cursor = CursorPagination.decode_cursor(self, request)
        except NotFound:
            raise ValidationError({"cursor": INVALID_CURSOR}) from None
        if cursor is None or cursor.position is None:
            return cursor
        position = str(cursor.position)  # text, whatever DRF's type stubs say
        if len(position) > MAX_ACCOUNT_LENGTH or "\x00" in position:
            raise ValidationError({"cursor": INVALID_CURSOR})
        return cursor


class ByOfficialAccount(_ByAccountID):
    # An ID is unique within its app. The cursor's position is the first column's value; DRF
    # counts past the rare equal IDs of two apps.
    ordering = ("official_account", "sdk_app_id")


class BySubscriberAccount(_ByAccountID):
    # Unique within the account: the (account, subscriber_account) index serves each page at
    # any number of subscribers, a read of page_size rows.
    ordering = ("subscriber_account", "id")


class _ReadView(Titled, WithinQueryBudget, viewsets.ReadOnlyModelViewSet[Any]):
    """Permissions, then the parameters; each query within QUERY_TIMEOUT (budget.py)."""

    permission_classes = (HasViewPermissions,)
    view_permissions: tuple[str, ...]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        check_params(request.query_params, MAX_LENGTHS)


_PAGING = [
    OpenApiParameter("page_size", OpenApiTypes.INT, description="1 to 500, default 50"),
]
_ACCOUNT_FILTERS = [
    *APP_PARAMETERS,
    text_search_parameter("name", "the name, any case"),
    OpenApiParameter(
        "state",
        OpenApiTypes.STR,
        enum=STATES,
        description="destroyed; full (not destroyed); active (neither)",
    ),
]
_SUBSCRIBER_FILTERS = [
    OpenApiParameter("account_pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="id"),
    OpenApiParameter(
        "current",
        OpenApiTypes.STR,
        enum=("true", "false"),
        description="true: subscribed now; false: unsubscribed (the row is kept)",
    ),
    OpenApiParameter("subscriber_account", OpenApiTypes.STR, description="Subscriber, exact"),
]


@extend_schema_view(list=extend_schema(parameters=[*_ACCOUNT_FILTERS, *_PAGING]))
class AccountViewSet(_ReadView):
    """The official accounts the mirror knows, by account ID."""

    title = gettext_lazy("Official accounts")
    item_title = gettext_lazy("Official account")
    summary = gettext_lazy("The official accounts the mirror knows, by account ID.")

    serializer_class = AccountSerializer
    pagination_class = ByOfficialAccount
    view_permissions = (VIEW_ACCOUNT,)

    def get_queryset(self) -> QuerySet[OfficialAccount]:
        accounts = scoped(OfficialAccount.objects.all(), self.request.user)
        if self.action != "list":
            return accounts
        return filter_accounts(accounts, self.request.query_params)


@extend_schema_view(list=extend_schema(parameters=[*_SUBSCRIBER_FILTERS, *_PAGING]))
class AccountSubscriberViewSet(_ReadView):
    """One account's subscribers, current and former, by subscriber account. Routed for its
    list only (``accounts/<account_pk>/subscribers/``)."""

    title = gettext_lazy("Subscribers")
    summary = gettext_lazy("One account's subscribers, current and former, by subscriber account.")

    serializer_class = SubscriberSerializer
    pagination_class = BySubscriberAccount
    view_permissions = (VIEW_ACCOUNT, VIEW_SUBSCRIBER)

    @cached_property
    def account(self) -> OfficialAccount:
        """The account in the URL, within the caller's apps; a 404 otherwise, or for an ID
        that is no number."""
        accounts = scoped(OfficialAccount.objects.all(), self.request.user)
        return get_object_or_404(accounts, pk=self.kwargs["account_pk"])

    def get_queryset(self) -> QuerySet[OfficialAccountSubscriber]:
        if getattr(self, "swagger_fake_view", False):  # the schema, built without a request
            return OfficialAccountSubscriber.objects.none()
        subscribers = OfficialAccountSubscriber.objects.filter(account=self.account)
        return filter_subscribers(subscribers, self.request.query_params)
