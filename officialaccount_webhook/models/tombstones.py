"""What pruning leaves behind: a key per deleted message, so that nothing brings it back."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..webhook.wire import MAX_ACCOUNT_LENGTH, MAX_MSG_KEY_LENGTH


class PrunedMessage(models.Model):
    """A message deleted by ``officialaccount_prune --messages``. Backfill, spool drains and
    ``officialaccount_reprocess`` do not store its key again (unless told to), and
    ``TOMBSTONE_RETENTION_DAYS`` later the tombstone goes too."""

    sdk_app_id = models.BigIntegerField(_("SDKAppID"))
    official_account = models.CharField(_("official account"), max_length=MAX_ACCOUNT_LENGTH)
    msg_key = models.CharField(_("MsgKey"), max_length=MAX_MSG_KEY_LENGTH)
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
        return f"{self.official_account} {self.msg_key} (pruned)"
