"""Every recall of a message, whoever asked: a withdrawal callback, the admin, the API, a
command, or Python code. A message's recall history, and a withdrawal's result per MsgKey."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..webhook.wire import MAX_RECALL_REASON_BYTES
from .base import MESSAGE_KEY, REQUESTED_BY_LENGTH, MessageKeyed, link, moment, note
from .deliveries import CallbackDelivery
from .messages import OfficialAccountMessage


class MessageRecall(MessageKeyed):
    """One MsgKey in one recall, and what it did.

    A withdrawal callback for a message not stored yet is kept as ``not_stored``, unapplied:
    when the message arrives (callback, spool drain or backfill) it is stored recalled, and the
    row is marked applied and linked to it.
    """

    class Source(models.TextChoices):
        """Who asked. Only a withdrawal callback comes from Tencent; the others are this app
        calling Tencent's recall API, and ``requested_by`` names who asked, where known."""

        CALLBACK = "callback", _("withdrawal callback")
        ADMIN = "admin", _("admin")
        API = "api", _("REST API")
        COMMAND = "command", _("command")
        PYTHON = "python", _("Python")

    class Result(models.TextChoices):
        """What the recall did to this MsgKey. ``unknown``: Tencent did not answer in time, so
        the message may or may not be recalled; ``not_stored``: a withdrawal that came first."""

        RECALLED = "recalled", _("recalled")
        ALREADY_RECALLED = "already_recalled", _("already recalled")
        NOT_STORED = "not_stored", _("not stored (yet)")
        FAILED = "failed", _("failed")
        UNKNOWN = "unknown", _("unknown")

    at = models.DateTimeField(_("at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    requested_by = note(_("requested by"), max_length=REQUESTED_BY_LENGTH)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    ret_code = models.IntegerField(
        _("RetCode"), null=True, blank=True, help_text=_("Tencent's answer, for this app's own.")
    )
    reason = note(_("reason"), max_length=MAX_RECALL_REASON_BYTES)
    message = link(OfficialAccountMessage, _("message"), "recalls")
    delivery = link(CallbackDelivery, _("withdrawal callback"), "recalls")
    applied_at = moment(
        _("applied at"), _("For a withdrawal that came first: when its message arrived, recalled.")
    )

    class Meta:
        verbose_name = _("message recall")
        verbose_name_plural = _("message recalls")
        ordering = ("-at", "-id")
        indexes = (
            # A new message looks for a withdrawal that came before it: a rare row, found fast.
            models.Index(
                fields=MESSAGE_KEY,
                condition=models.Q(result="not_stored", applied_at__isnull=True),
                name="officialaccount_recall_pending",
            ),
            models.Index(fields=("message", "-at"), name="officialaccount_recall_message"),
        )

    def __str__(self) -> str:
        return f"{self.official_account} {self.msg_key}: {self.get_result_display()}"
