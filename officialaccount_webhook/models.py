from __future__ import annotations

import json

from django.db import connections, models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .protocol import (
    MAX_ACCOUNT_LENGTH,
    MAX_COMMAND_LENGTH,
    MAX_MSG_KEY_LENGTH,
    MAX_OPT_PLATFORM_LENGTH,
    MAX_RECALL_REASON_BYTES,
)


class OfficialAccountMessageQuerySet(models.QuerySet["OfficialAccountMessage"]):
    def get_by_msg_key(
        self, sdk_app_id: int, official_account: str, msg_key: str
    ) -> OfficialAccountMessage:
        """The stored message with this MsgKey, as needed to recall it.

        A MsgKey is unique only within its official account (its sequence number is per
        account), so the account and the app are part of the key. Served by the unique index;
        raises ``OfficialAccountMessage.DoesNotExist`` when no such message was stored.
        """
        return self.get(sdk_app_id=sdk_app_id, official_account=official_account, msg_key=msg_key)

    def search_text(self, text: str) -> OfficialAccountMessageQuerySet:
        """Messages whose body contains ``text``, case-insensitively (a scan of the JSON)."""
        if connections[self.db].vendor == "sqlite":
            # SQLite keeps the JSON as Django encoded it, with non-ASCII characters escaped
            # ("\u7ea2"); look for the text in the same form.
            text = json.dumps(text)[1:-1]
        return self.filter(msg_body__icontains=text)


class OfficialAccountMessage(models.Model):
    """One official-account broadcast, stored once from ``OfficialAccount.CallbackAfterSendMsg``."""

    sdk_app_id = models.BigIntegerField(_("SDKAppID"))
    official_account = models.CharField(_("official account"), max_length=MAX_ACCOUNT_LENGTH)
    msg_key = models.CharField(_("MsgKey"), max_length=MAX_MSG_KEY_LENGTH)
    msg_time = models.DateTimeField(
        _("message time"), help_text=_("Tencent's server time (MsgTime).")
    )
    online_only = models.BooleanField(_("online only"), default=False)
    msg_body = models.JSONField(_("message body"), help_text=_("MsgBody exactly as received."))
    cloud_custom_data = models.TextField(_("cloud custom data"), blank=True, default="")
    event_time = models.DateTimeField(_("event time"), help_text=_("EventTime, in milliseconds."))
    client_ip = models.GenericIPAddressField(
        _("client IP"), null=True, blank=True, help_text=_("ClientIP from the callback URL.")
    )
    opt_platform = models.CharField(
        _("platform"),
        max_length=MAX_OPT_PLATFORM_LENGTH,
        blank=True,
        default="",
        help_text=_("OptPlatform from the callback URL, e.g. RESTAPI, Web, iOS."),
    )
    extra = models.JSONField(
        _("other body fields"),
        default=dict,
        blank=True,
        help_text=_("Keys of the callback body beyond the documented ones, kept as received."),
    )
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    recalled_at = models.DateTimeField(_("recalled at"), null=True, blank=True)
    recall_ret_code = models.IntegerField(
        _("last recall RetCode"),
        null=True,
        blank=True,
        help_text=_("Tencent's answer to the last recall this app asked for: 0 means recalled."),
    )
    recall_reason = models.CharField(
        _("recall reason"), max_length=MAX_RECALL_REASON_BYTES, blank=True, default=""
    )
    recall_requested_by = models.CharField(
        _("recall requested by"),
        max_length=150,
        blank=True,
        default="",
        help_text=_("Who or what asked for the last recall, e.g. admin:alice or command."),
    )
    receiver_error = models.TextField(
        _("receiver error"),
        blank=True,
        default="",
        help_text=_("Traceback of the last message_received receiver that raised, if any."),
    )
    receiver_failed_at = models.DateTimeField(_("receiver failed at"), null=True, blank=True)

    objects = OfficialAccountMessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("official-account message")
        verbose_name_plural = _("official-account messages")
        ordering = ("-msg_time", "-id")
        constraints = (
            # Idempotency lives here, in the database, not in a check-then-insert.
            models.UniqueConstraint(
                fields=("sdk_app_id", "official_account", "msg_key"),
                name="officialaccount_message_unique_key",
            ),
        )
        indexes = (models.Index(fields=("-msg_time", "-id"), name="officialaccount_msg_time"),)
        permissions = (
            ("recall_officialaccountmessage", _("Can recall official-account messages")),
        )

    def __str__(self) -> str:
        return f"{self.official_account} {self.msg_key}"


class CallbackDelivery(models.Model):
    """One request that reached the webhook view, and what became of it.

    Rejected requests keep no body, so junk traffic cannot fill the database; the query string
    is kept with ``Sign`` redacted.
    """

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        DUPLICATE = "duplicate", _("duplicate")
        OTHER_COMMAND = "other_command", _("other command")
        REJECTED = "rejected", _("rejected")

    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    sdk_app_id = models.BigIntegerField(_("SDKAppID"), null=True, blank=True)
    command = models.CharField(_("command"), max_length=MAX_COMMAND_LENGTH, blank=True, default="")
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"))
    reason = models.TextField(_("rejection reason"), blank=True, default="")
    query_string = models.TextField(_("query string"), blank=True, default="")
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    body = models.JSONField(_("body"), null=True, blank=True)
    message = models.ForeignKey(
        OfficialAccountMessage,
        verbose_name=_("message"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )

    class Meta:
        verbose_name = _("callback delivery")
        verbose_name_plural = _("callback deliveries")
        ordering = ("-received_at", "-id")
        indexes = (
            models.Index(fields=("-received_at", "-id"), name="officialaccount_delivery_at"),
        )

    def __str__(self) -> str:
        return f"{self.command or '?'} {self.outcome} at {self.received_at:%Y-%m-%d %H:%M:%S}"
