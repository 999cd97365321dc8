"""Per-app scope: which SDKAppIDs a user may see and act on, in the admin and the REST API.

The rules (``models.AppGrant``): an inactive or anonymous user sees nothing; a superuser sees
every app; a user with grants, their own or their groups', sees those apps only; a user with
none sees every app, unless ``REQUIRE_APP_GRANTS`` is on, which then shows them none.

The answer is kept on the user object, which Django and DRF make once per request, so a page
costs at most one query for grants however often it asks. Management commands are operator
tools and are not scoped.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from django.db.models import Q, QuerySet

from .conf import get_settings
from .models import AppGrant

_QuerySet = TypeVar("_QuerySet", bound=QuerySet[Any])
# The attribute of the user object that holds the answer for the rest of the request.
_CACHE = "_officialaccount_visible_app_ids"
_UNSET = object()


def visible_app_ids(user: Any) -> frozenset[int] | None:
    """The SDKAppIDs ``user`` may see and act on; None means every app."""
    if not (getattr(user, "is_authenticated", False) and getattr(user, "is_active", False)):
        return frozenset()
    if getattr(user, "is_superuser", False):
        return None
    cached = getattr(user, _CACHE, _UNSET)
    if cached is not _UNSET:
        return cast("frozenset[int] | None", cached)  # only ever set below, to an answer
    grants = Q(user_id=user.pk)
    # A custom user model need not have groups (no PermissionsMixin); the groups are a
    # subquery, so this is still one query.
    if hasattr(user, "groups"):
        grants |= Q(group__in=user.groups.all())
    granted = frozenset(AppGrant.objects.filter(grants).values_list("sdk_app_id", flat=True))
    visible: frozenset[int] | None = granted
    if not granted and not get_settings().require_app_grants:
        visible = None
    setattr(user, _CACHE, visible)
    return visible


def scoped(queryset: _QuerySet, user: Any) -> _QuerySet:
    """``queryset`` (of a model with ``sdk_app_id``) limited to the apps ``user`` may see.

    Rows without an SDKAppID (a delivery refused before its app was known) belong to no app:
    only a user who sees every app sees them.
    """
    visible = visible_app_ids(user)
    if visible is None:
        return queryset
    if not visible:
        return queryset.none()
    return queryset.filter(sdk_app_id__in=visible)


def can_act_on(user: Any, sdk_app_id: int) -> bool:
    """Whether ``user`` may see, and act on, the data of app ``sdk_app_id``."""
    visible = visible_app_ids(user)
    return visible is None or sdk_app_id in visible


def sees_every_app(user: Any) -> bool:
    """Whether ``user``'s scope is unlimited: only such a user may manage grants, since a scoped
    user who could delete their own grant would widen their scope to every app."""
    return visible_app_ids(user) is None
