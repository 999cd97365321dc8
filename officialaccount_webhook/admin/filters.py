"""The admin's list filters, each served by an index and none scanning the table for choices.

Django's default filter for a plain field lists its distinct values, which on a table of
millions of rows is a full scan on every page load. These filters take their choices from the
settings, from Tencent's list of element types, or from what the user types.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..conf import get_settings
from ..elements import (
    CUSTOM,
    FACE,
    FILE,
    IMAGE,
    KNOWN_TYPES,
    LOCATION,
    SOUND,
    TEXT,
    VIDEO,
)
from ..models import OfficialAccount, OfficialAccountMessageQuerySet
from ..ops.metrics import KNOWN_COMMANDS
from ..scope import scoped, visible_app_ids
from ..values import parse_sdk_app_id

# At most this many known values are offered under a typed filter: enough to pick from, few
# enough for the page; any other can still be typed.
MAX_SUGGESTIONS = 200


class SdkAppIdFilter(admin.SimpleListFilter):
    title = _("SDKAppID")
    parameter_name = "sdk_app_id"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        # Only the user's apps: the others' IDs are not theirs to learn from the filter.
        visible = visible_app_ids(request.user)
        return [
            (str(sdk_app_id), str(sdk_app_id))
            for sdk_app_id in sorted(get_settings().apps)
            if visible is None or sdk_app_id in visible
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        sdk_app_id = parse_sdk_app_id(value)
        return queryset.none() if sdk_app_id is None else queryset.filter(sdk_app_id=sdk_app_id)


class InputFilter(admin.SimpleListFilter):
    """A filter the user types into: an exact value, matched by an index.

    Its box has a label, a button and a line that says it matches exactly; a subclass may offer
    known values (``suggestions``) in a list the browser shows as the user types.
    """

    template = "admin/officialaccount_webhook/input_filter.html"
    # Also the name of the field the value is matched against.
    parameter_name: str
    # What to type, shown under the box with the exactness note: a sentence, its full stop
    # included (the language's own).
    example: Any = ""
    # Values known without a query, offered as they are (``suggestions`` may look up others).
    known_values: Iterable[str] = ()

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        # Django calls this once, with the request, as it builds the filter: the place to
        # learn what to offer. It shows a filter only when it has choices; this one has a box.
        self.offered, self.more_known = self.suggestions(request)
        return [("", "")]

    def suggestions(self, request: HttpRequest) -> tuple[list[tuple[str, str]], bool]:
        """Values to offer, as (value, label), and whether more are known than offered."""
        return [(value, value) for value in sorted(self.known_values)], False

    def choices(  # type: ignore[override]  # its own template reads its own keys
        self, changelist: Any
    ) -> Iterator[dict[str, Any]]:
        # One entry that carries what the template needs: the current value, the other query
        # parameters to keep when the form is submitted, and the values to offer.
        others = changelist.get_query_string(remove=[self.parameter_name, "p"])
        yield {
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            "others": parse_qsl(others.removeprefix("?"), keep_blank_values=True),
            "clear_url": others,
            "exactness": _("Matches the whole value exactly, letter case included."),
            "example": self.example,
            "offered": getattr(self, "offered", []),
            "more_known": getattr(self, "more_known", False),
            "limit": MAX_SUGGESTIONS,
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        # No stored value holds NUL, and PostgreSQL refuses to compare with one.
        if "\x00" in value:
            return queryset.none()
        return queryset.filter(**{self.parameter_name: value})


class OfficialAccountFilter(InputFilter):
    """An account ID, with the accounts of the mirror (within the user's apps) offered."""

    title = _("official account")
    parameter_name = "official_account"
    example = _("For example @TOA#_shop.")

    def suggestions(self, request: HttpRequest) -> tuple[list[tuple[str, str]], bool]:
        return known_accounts(request)


class CommandFilter(InputFilter):
    title = _("command")
    parameter_name = "command"
    example = _("For example C2C.CallbackAfterSendMsg.")
    known_values = KNOWN_COMMANDS  # the commands this app handles


def known_accounts(request: HttpRequest) -> tuple[list[tuple[str, str]], bool]:
    """The mirror's accounts the user may see (of the app the list is filtered by, if any), the
    first ``MAX_SUGGESTIONS`` by ID, and whether there are more: one query of the mirror, a
    table of one row per account."""
    accounts = scoped(OfficialAccount.objects.all(), request.user)
    sdk_app_id = parse_sdk_app_id(request.GET.get(SdkAppIdFilter.parameter_name, ""))
    if sdk_app_id is not None:
        accounts = accounts.filter(sdk_app_id=sdk_app_id)
    rows = list(
        accounts.order_by("official_account", "sdk_app_id").values_list("official_account", "name")[
            : MAX_SUGGESTIONS + 1
        ]
    )
    # One account ID in two apps is offered once (the filter matches it in every app), with
    # a name it has in one of them.
    offered: dict[str, str] = {}
    for account, name in rows[:MAX_SUGGESTIONS]:
        offered[account] = offered.get(account) or name or account
    return list(offered.items()), len(rows) > MAX_SUGGESTIONS


# Each MsgType by the word the message's page shows it with; the query keeps Tencent's name.
_TYPE_LABELS = {
    TEXT: _("Text"),
    IMAGE: _("Image"),
    SOUND: _("Sound"),
    FILE: _("File"),
    VIDEO: _("Video"),
    LOCATION: _("Location"),
    FACE: _("Face"),
    CUSTOM: _("Custom"),
}


class ElementTypeFilter(admin.SimpleListFilter):
    title = _("element type")
    parameter_name = "element_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        return [(msg_type, _TYPE_LABELS.get(msg_type, msg_type)) for msg_type in KNOWN_TYPES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        messages: OfficialAccountMessageQuerySet = queryset  # type: ignore[assignment]  # its admin's
        return messages.with_element_type(value) if value else queryset


class RecalledFilter(admin.SimpleListFilter):
    title = _("recalled")
    parameter_name = "recalled"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(recalled_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(recalled_at__isnull=True)
        return queryset


class StatusCodeFilter(admin.SimpleListFilter):
    """The statuses the webhook answers with; a fixed list, not a scan of the table."""

    title = _("HTTP status")
    parameter_name = "status_code"
    STATUSES = (200, 400, 403, 405, 411, 413, 500)

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        return [(str(status), str(status)) for status in self.STATUSES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value is None:
            return queryset
        return (
            queryset.filter(status_code=int(value))
            if value in map(str, self.STATUSES)
            else queryset.none()
        )
