"""Every recall of a message, whoever asked: a withdrawal callback, the admin, the API, a
command, or Python code. A message's recall history, and a withdrawal's result per MsgKey."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..webhook.wire import MAX_ACCOUNT_LENGTH, MAX_MSG_KEY_LENGTH, MAX_RECALL_REASON_BYTES
from .deliveries import CallbackDelivery
from .messages import OfficialAccountMessage


class MessageRecall(models.Model):
    """One MsgKey in one recall, and what it did.

    A withdrawal callback for a message not stored yet is kept as ``not_stored``, unapplied:
    when the message arrives (callback, spool drain or backfill) it is stored recalled, and the
    row is marked applied and linked to it.
    """

    class Source(models.TextChoices):
        CALLBACK = "callback", _("withdrawal callback")
        ADMIN = "admin", _("admin")
        API = "api", _("REST API")
        COMMAND = "command", _("command")
        PYTHON = "python", _("Python")

    class Result(models.TextChoices):
        RECALLED = "recalled", _("recalled")
        ALREADY_RECALLED = "already_recalled", _("already recalled")
        NOT_STORED = "not_stored", _("not stored (yet)")
        FAILED = "failed", _("failed")
        UNKNOWN = "unknown", _("unknown")

    sdk_app_id = models.BigIntegerField(_("SDKAppID"))
    official_account = models.CharField(_("official account"), max_length=MAX_ACCOUNT_LENGTH)
    msg_key = models.CharField(_("MsgKey"), max_length=MAX_MSG_KEY_LENGTH)
    at = models.DateTimeField(_("at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    requested_by = models.CharField(_("requested by"), max_length=150, blank=True, default="")
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    ret_code = models.IntegerField(
        _("RetCode"), null=True, blank=True, help_text=_("Tencent's answer, for this app's own.")
    )
    reason = models.CharField(
        _("reason"), max_length=MAX_RECALL_REASON_BYTES, blank=True, default=""
    )
    message = models.ForeignKey(
        OfficialAccountMessage,
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recalls",
    )
    delivery = models.ForeignKey(
        CallbackDelivery,
        verbose_name=_("withdrawal callback"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recalls",
    )
    applied_at = models.DateTimeField(
        _("applied at"),
        null=True,
        blank=True,
        help_text=_("For a withdrawal that came first: when its message arrived, recalled."),
    )

    class Meta:
        verbose_name = _("message recall")
        verbose_name_plural = _("message recalls")
        ordering = ("-at", "-id")
        indexes = (
            # A new message looks for a withdrawal that came before it: a rare row, found fast.
            models.Index(
                fields=("sdk_app_id", "official_account", "msg_key"),
                condition=models.Q(result="not_stored", applied_at__isnull=True),
                name="officialaccount_recall_pending",
            ),
            models.Index(fields=("message", "-at"), name="officialaccount_recall_message"),
        )

    def __str__(self) -> str:
        return f"{self.official_account} {self.msg_key}: {self.result}"
