"""The per-app scope in the admin: every list, detail page, filter, chart and action of the
app's models sees only the SDKAppIDs the user may see (``officialaccount_webhook.scope``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..scope import scoped, visible_app_ids

if TYPE_CHECKING:
    ModelAdmin = admin.ModelAdmin[Any]
else:  # ModelAdmin takes no type argument at run time
    ModelAdmin = admin.ModelAdmin


class AppScopedAdmin(ModelAdmin):
    """A model admin whose rows (of a model with ``sdk_app_id``) are limited to the user's apps.

    Django builds the list, the detail, history and delete pages, the actions' selection and
    the date drill-down from ``get_queryset``, so limiting it limits them all: a row outside
    the scope is missing, as if it did not exist.
    """

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return scoped(super().get_queryset(request), request.user)


def refuse_out_of_scope(model_admin: Any, request: HttpRequest, queryset: QuerySet[Any]) -> bool:
    """Whether an action must refuse: a row it was given, or a selected row it was not given,
    is outside the user's apps. Says so to the user.

    Django drops selected rows that ``get_queryset`` does not hold; acting on the rest would
    hide that part of the selection was refused. A selected row deleted meanwhile counts too:
    telling the two apart would tell a scoped user which rows of other apps exist.
    """
    visible = visible_app_ids(request.user)
    if visible is None:
        return False
    # The queryset should already be scoped; this guards against one that is not.
    outside = queryset.exclude(sdk_app_id__in=visible).count()
    if request.POST.get("select_across") != "1":
        selected = set(request.POST.getlist(helpers.ACTION_CHECKBOX_NAME))
        outside += max(0, len(selected) - queryset.count())
    if not outside:
        return False
    model_admin.message_user(
        request,
        _(
            "%(count)d of the selected rows belong to apps you may not act on, or no longer "
            "exist: nothing was done."
        )
        % {"count": outside},
        messages.ERROR,
    )
    return True
