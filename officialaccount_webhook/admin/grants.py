"""The admin of app grants: which users and groups may see which SDKAppIDs.

Only a user who sees every app may manage grants (besides Django's model permissions): a
scoped user who could delete their own grant would widen their scope to every app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..conf import get_settings
from ..models import AppGrant
from ..scope import sees_every_app
from .scope import ModelAdmin

if TYPE_CHECKING:
    ModelForm = forms.ModelForm[AppGrant]
else:  # ModelForm takes no type argument at run time
    ModelForm = forms.ModelForm


class AppGrantForm(ModelForm):
    # A choice of the configured apps, not a free number: a typo would grant nothing.
    sdk_app_id = forms.TypedChoiceField(label=_("SDKAppID"), coerce=int)

    class Meta:
        model = AppGrant
        fields = ("sdk_app_id", "user", "group")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        apps = set(get_settings().apps)
        if self.instance.pk is not None:
            # A grant of an app since removed from the settings can still be shown and changed.
            apps.add(self.instance.sdk_app_id)
        field: forms.TypedChoiceField = self.fields["sdk_app_id"]  # type: ignore[assignment]
        field.choices = [("", "---------"), *((app, str(app)) for app in sorted(apps))]

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        # One message for each case, clearer than the constraint's one message for both. On a
        # field, so that the constraint, whose field then failed, does not repeat it.
        user, group = cleaned.get("user"), cleaned.get("group")
        if user is None and group is None:
            self.add_error("user", _("Choose a user or a group."))
        elif user is not None and group is not None:
            self.add_error("group", _("Choose a user or a group, not both: make two grants."))
        return cleaned


@admin.register(AppGrant)
class AppGrantAdmin(ModelAdmin):
    form = AppGrantForm
    list_display = ("sdk_app_id", "user", "group")
    list_select_related = ("user", "group")
    list_filter = ("sdk_app_id",)  # a distinct scan, of a table of a few rows
    ordering = ("sdk_app_id", "id")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_every_app(request.user) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return sees_every_app(request.user) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_every_app(request.user) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return sees_every_app(request.user) and super().has_delete_permission(request, obj)
