"""Per-app scope: which SDKAppIDs a staff user or API client may see and act on.

A grant names one SDKAppID and either a user or a group. A user with grants (their own or
their groups') sees only those apps, in the admin and in the API; a user with none sees every
app, unless ``REQUIRE_APP_GRANTS`` is on, which then shows them none. Superusers see all.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppGrant(models.Model):
    """Lets one user, or every member of one group, see and act on one SDKAppID's data."""

    sdk_app_id = models.BigIntegerField(_("SDKAppID"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="officialaccount_app_grants",
    )
    group = models.ForeignKey(
        Group,
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="officialaccount_app_grants",
    )

    class Meta:
        verbose_name = _("app grant")
        verbose_name_plural = _("app grants")
        constraints = (
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, group__isnull=True)
                | models.Q(user__isnull=True, group__isnull=False),
                name="oa_app_grant_user_xor_group",
                violation_error_message=_("A grant names a user or a group, not both."),
            ),
            models.UniqueConstraint(fields=("sdk_app_id", "user"), name="oa_app_grant_unique_user"),
            models.UniqueConstraint(
                fields=("sdk_app_id", "group"), name="oa_app_grant_unique_group"
            ),
        )

    def __str__(self) -> str:
        who = self.user if self.user_id is not None else self.group
        return f"{self.sdk_app_id} → {who}"
