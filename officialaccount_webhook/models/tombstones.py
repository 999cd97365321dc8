"""What pruning leaves behind: a key per deleted message, so that nothing brings it back."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .base import MessageKeyed


class PrunedMessage(MessageKeyed):
    """A message deleted by ``officialaccount_prune --messages``. Backfill, spool drains and
    ``officialaccount_reprocess`` do not store its key again (unless told to), and
    ``TOMBSTONE_RETENTION_DAYS`` later the tombstone goes too."""

    pruned_at = models.DateTimeField(_("pruned at"), default=timezone.now)

    class Meta:
        verbose_name = _("pruned message")
        verbose_name_plural = _("pruned messages")
        constraints = (
            models.UniqueConstraint(
                fields=("sdk_app_id", "official_account", "msg_key"),
                name="officialaccount_tombstone_key",
            ),
        )
        indexes = (models.Index(fields=("pruned_at",), name="officialaccount_tombstone_at"),)

    def __str__(self) -> str:
        return gettext("%(account)s %(msg_key)s (pruned)") % {
            "account": self.official_account,
            "msg_key": self.msg_key,
        }
