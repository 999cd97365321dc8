"""Sending from this app: broadcasts waiting for their time, and the REST API's idempotency keys."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..webhook.wire import MAX_ACCOUNT_LENGTH, MAX_MSG_KEY_LENGTH
from .base import flag, link, moment, note, requester
from .messages import OfficialAccountMessage

# A task backend's id for a task (django-tasks-db's are UUIDs; others may be longer).
TASK_ID_LENGTH = 255
# The Idempotency-Key header's value: a UUID is 36 characters; room for the client's own.
IDEMPOTENCY_KEY_LENGTH = 255
# A key with no answer this long after its claim is taken to be a send whose request died (its
# worker killed): a retry is answered "maybe sent" rather than "still sending" for ever. Far
# beyond any request's time budget.
IDEMPOTENCY_CLAIM_TIMEOUT = timedelta(minutes=10)
# How long a key is kept (then deleted by officialaccount_prune): a retry later than this sends
# again. Far beyond any client's retries, and beyond Tencent's five minutes of duplicate checks.
IDEMPOTENCY_KEY_RETENTION = timedelta(days=7)


class ScheduledSend(models.Model):
    """A broadcast to send at ``send_at``, by a task of Django's Tasks framework.

    Its status moves once, forward: scheduled, then sending (the task has claimed it, under a
    row lock, so a cancel can no longer stop it), then sent or failed; or scheduled, then
    cancelled, after which no task sends it. ``random`` is chosen when it is scheduled, so that
    a task run twice sends the same ``Random`` and Tencent drops the second as a duplicate.
    """

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    sdk_app_id = models.BigIntegerField(_("SDKAppID"))
    official_account = models.CharField(_("official account"), max_length=MAX_ACCOUNT_LENGTH)
    msg_body = models.JSONField(_("message body"), help_text=_("MsgBody as it will be sent."))
    cloud_custom_data = note(_("cloud custom data"))
    online_only = flag(_("online only"))
    offline_push_info = models.JSONField(_("offline push info"), null=True, blank=True)
    random = models.BigIntegerField(_("Random"), help_text=_("Sent with every attempt."))
    send_at = models.DateTimeField(_("send at"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED
    )
    requested_by = requester(
        _("requested by"), _("Who scheduled it, e.g. admin:alice, api:deploy or command.")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    task_id = note(_("task ID"), max_length=TASK_ID_LENGTH)
    cancelled_at = moment(_("cancelled at"))
    cancelled_by = requester(_("cancelled by"))
    finished_at = moment(_("finished at"), _("When it was sent, or failed."))
    msg_key = note(_("MsgKey"), max_length=MAX_MSG_KEY_LENGTH)
    message = link(OfficialAccountMessage, _("message"), "scheduled_sends")
    error = note(_("error"), help_text=_("Why it was not sent, in Tencent's words if it said."))

    class Meta:
        verbose_name = _("scheduled send")
        verbose_name_plural = _("scheduled sends")
        ordering = ("-send_at", "-id")
        indexes = (
            models.Index(fields=("status", "send_at"), name="oa_scheduled_status"),
            models.Index(fields=("sdk_app_id", "-send_at"), name="oa_scheduled_app"),
        )

    def __str__(self) -> str:
        status = self.get_status_display()
        return f"{self.official_account} {self.send_at:%Y-%m-%d %H:%M} ({status})"


class SendIdempotencyKey(models.Model):
    """The REST API's record of one ``Idempotency-Key``: the request it came with (as a hash)
    and the answer given, which a retried request gets again instead of a second send.

    Unique per user: two callers may use the same key. A row without an ``answer`` is a send
    in progress (or one whose request died: after ``IDEMPOTENCY_CLAIM_TIMEOUT`` it is answered
    as maybe sent); a send that certainly did not happen leaves no row, so it may be retried.
    Kept ``IDEMPOTENCY_KEY_RETENTION``, then pruned.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, verbose_name=_("user")
    )
    key = models.CharField(_("key"), max_length=IDEMPOTENCY_KEY_LENGTH)
    request_hash = models.CharField(_("request hash"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    answer = models.JSONField(_("answer"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("send idempotency key")
        verbose_name_plural = _("send idempotency keys")
        constraints = (
            models.UniqueConstraint(fields=("user", "key"), name="oa_send_idempotency_key"),
        )
        indexes = (models.Index(fields=("created_at",), name="oa_send_key_created"),)

    def __str__(self) -> str:
        return self.key
