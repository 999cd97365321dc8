"""Who may use the REST API: authenticated users with the model's permissions."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

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
