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
from ..elements import KNOWN_TYPES
from ..models import OfficialAccountMessageQuerySet
from ..scope import visible_app_ids
from ..values import parse_sdk_app_id


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
    """A filter the user types into: an exact value, matched by an index."""

    template = "admin/officialaccount_webhook/input_filter.html"
    field_name = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        # Django shows a filter only when it has choices; this one has a text box instead.
        return [("", "")]

    def choices(  # type: ignore[override]  # its own template reads its own keys
        self, changelist: Any
    ) -> Iterator[dict[str, Any]]:
        # One entry that carries what the template needs: the current value, and the other
        # query parameters to keep when the form is submitted.
        others = changelist.get_query_string(remove=[self.parameter_name, "p"])
        yield {
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            "others": parse_qsl(others.removeprefix("?"), keep_blank_values=True),
            "clear_url": others,
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if not value:
            return queryset
        # No stored value holds NUL, and PostgreSQL refuses to compare with one.
        return queryset.none() if "\x00" in value else queryset.filter(**{self.field_name: value})


class OfficialAccountFilter(InputFilter):
    title = _("official account")
    parameter_name = "official_account"
    field_name = "official_account"


class CommandFilter(InputFilter):
    title = _("command")
    parameter_name = "command"
    field_name = "command"


class ElementTypeFilter(admin.SimpleListFilter):
    title = _("element type")
    parameter_name = "element_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> Iterable[tuple[str, str]]:
        return [
            (msg_type, msg_type.removeprefix("TIM").removesuffix("Elem"))
            for msg_type in KNOWN_TYPES
        ]

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
