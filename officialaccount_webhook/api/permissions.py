"""Who may use the REST API: authenticated users with the model's permissions, each limited to
their apps (``officialaccount_webhook.scope``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..scope import can_act_on

VIEW = "officialaccount_webhook.view_officialaccountmessage"
RECALL = "officialaccount_webhook.recall_officialaccountmessage"


class CanViewMessages(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(VIEW))


class CanRecallMessages(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(
            request.user and request.user.is_authenticated and request.user.has_perm(RECALL)
        )


def check_app_scope(request: Request, sdk_app_id: int) -> None:
    """A 403 unless the caller may act on this app.

    The same answer whether or not the app is configured or holds the keys asked about, so
    that it tells a caller nothing about other apps' messages.
    """
    if not can_act_on(request.user, sdk_app_id):
        raise PermissionDenied(_("You may not act on this SDKAppID."))
