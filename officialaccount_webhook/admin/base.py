"""What the app's admin pages share: read-only lists that stay fast on millions of rows.

Both tables only ever grow from Tencent's callbacks, so nobody adds or edits rows here;
deleting still follows the delete permission.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html, strip_tags
from django.utils.translation import gettext_lazy as _

from . import pagination, search, times
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

    class Media:
        # The lists fit the window: one-line cells cut with an ellipsis, booleans as icons.
        css: ClassVar[dict[str, tuple[str, ...]]] = {"all": ("officialaccount_webhook/admin.css",)}

    def __init__(self, model: type[Any], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        times.show_moments(self)  # every moment to the second, with its time zone

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
        extra = {**(extra_context or {}), **self.page_context(request, object_id)}
        # Its queries, rendering included, within QUERY_TIMEOUT (budget.py).
        return within_budget(self, request, lambda: page(request, object_id, form_url, extra))

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Its queries, rendering included, within QUERY_TIMEOUT (budget.py).
        return within_budget(self, request, lambda: self.changelist_page(request, extra_context))

    def changelist_page(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), **self.page_context(request, None)}
        response = super().changelist_view(request, extra)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:  # not for a redirect or an action's own page
            self.add_changelist_context(context, context["cl"])
        return response

    def page_context(self, request: HttpRequest, object_id: str | None) -> dict[str, Any]:
        """What a page adds to its template's context: the list's (``object_id`` None), or the
        detail page's of that row."""
        return {}

    def add_changelist_context(self, context: dict[str, Any], changelist: ChangeList) -> None:
        context["count_capped"] = getattr(changelist.paginator, "capped", False)
        context["count_cap"] = pagination.COUNT_CAP
        if self.drill_down_field:
            context["drill_down"] = drill_down(changelist, self.drill_down_field)


def json_block(value: Any) -> str:
    return format_html('<pre style="white-space: pre-wrap">{}</pre>', pretty_json(value))


def one_line(text: str, whole: str = "") -> str:
    """A list cell on one line, cut with an ellipsis where the column ends (admin.css), the
    whole text on hover; the detail page shows it in full."""
    if not text:
        return "-"
    return format_html(
        '<span class="officialaccount-cut" title="{}">{}</span>', whole or text, text
    )


def two_lines(first: str, second: str, title: str | None = None) -> str:
    """A list cell of two one-line parts (``one_line``), the second smaller: two columns' worth
    of facts in the width of one. ``title`` is the first part's hover text (itself if None)."""
    return format_html(
        '<span class="officialaccount-cut" title="{}">{}</span>'
        '<span class="officialaccount-cut officialaccount-second" title="{}">{}</span>',
        strip_tags(first) if title is None else title,
        first,
        second,
        second,
    )


def outcome_badge(outcome: str, label: str, status_code: int | None = None) -> str:
    """A delivery's outcome as a coloured badge (admin.css: refusals red, withdrawals amber),
    with the HTTP status the webhook answered."""
    status = f" {status_code}" if status_code is not None else ""
    return format_html(
        '<span class="officialaccount-outcome officialaccount-outcome-{}" title="{}">{}{}</span>',
        outcome,
        label,
        label,
        status,
    )
