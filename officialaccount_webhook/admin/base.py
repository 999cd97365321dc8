"""What the app's admin pages share: read-only lists that stay fast on millions of rows.

Both tables only ever grow from Tencent's callbacks, so nobody adds or edits rows here;
deleting still follows the delete permission.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from . import pagination, search
from .budget import within_budget
from .drilldown import drill_down, range_bound
from .rendering import pretty_json
from .scope import AppScopedAdmin


class ReadOnlyAdmin(AppScopedAdmin):
    # Scoped to the user's apps (scope.py): every page and action below builds on get_queryset.

    # Counting millions of rows on every page load is what makes big admins slow: no full
    # count, and no per-filter counts (facets).
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = pagination.CappedCountPaginator
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
            return range_bound(value) is not None
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
        if selects_all and pagination.capped_count(queryset) > pagination.COUNT_CAP:
            self.message_user(
                request,
                _("More than %(cap)d rows match: narrow the list before acting on all of them.")
                % {"cap": pagination.COUNT_CAP},
                messages.ERROR,
            )
            return None
        return super().response_action(request, queryset, *args, **kwargs)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        # Only a search that an index serves (search.py); another lists nothing and says why.
        refused = search.refusal(search_term) if self.get_search_fields(request) else None
        if refused:
            self.message_user(request, refused, messages.ERROR)
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        page = super().change_view
        # Its queries, rendering included, within QUERY_TIMEOUT (budget.py).
        return within_budget(
            self, request, lambda: page(request, object_id, form_url, extra_context)
        )

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Its queries, rendering included, within QUERY_TIMEOUT (budget.py).
        return within_budget(self, request, lambda: self.changelist_page(request, extra_context))

    def changelist_page(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:  # not for a redirect or an action's own page
            self.add_changelist_context(context, context["cl"])
        return response

    def add_changelist_context(self, context: dict[str, Any], changelist: ChangeList) -> None:
        context["count_capped"] = getattr(changelist.paginator, "capped", False)
        context["count_cap"] = pagination.COUNT_CAP
        if self.drill_down_field:
            context["drill_down"] = drill_down(changelist, self.drill_down_field)


def json_block(value: Any) -> str:
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', pretty_json(value))
