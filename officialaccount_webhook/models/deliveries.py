"""The record of every request that reached the webhook view."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..webhook.wire import MAX_COMMAND_LENGTH
from .base import link, moment, note
from .messages import OfficialAccountMessage


class CallbackDelivery(models.Model):
    """One request that reached the webhook view, and what became of it.

    Unauthenticated requests keep no body, so junk traffic cannot fill the database; an
    authenticated one of this app's commands that could not become a message keeps it as
    received (``raw_body``), since Tencent will not send it again. Another product's callbacks
    keep none unless ``KEEP_OTHER_COMMAND_BODIES`` says so. The query string is kept with
    ``Sign`` redacted.
    """

    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    sdk_app_id = models.BigIntegerField(_("SDKAppID"), null=True, blank=True)
    command = note(_("command"), max_length=MAX_COMMAND_LENGTH)

    class Outcome(models.TextChoices):
        """What became of the request. ``applied`` and ``unchanged`` are for the account and
        subscriber callbacks, ``moderated`` for the before-callbacks (the decision is on its
        ``ModerationDecision``); of the refusals, only ``refused`` keeps the bytes, for
        officialaccount_reprocess."""

        ACCEPTED = "accepted", _("accepted")
        DUPLICATE = "duplicate", _("duplicate")
        WITHDRAWAL = "withdrawal", _("withdrawal")
        APPLIED = "applied", _("applied to the accounts mirror")
        UNCHANGED = "unchanged", _("changed nothing (repeated or older)")
        MODERATED = "moderated", _("answered by moderation")
        OTHER_COMMAND = "other_command", _("other command")
        REFUSED = "refused", _("refused, body kept")
        REJECTED = "rejected", _("rejected")

    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(_("HTTP status"))
    reason = note(_("rejection reason"))
    query_string = note(_("query string"))
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    body = models.JSONField(_("body"), null=True, blank=True)
    raw_body = models.BinaryField(
        _("raw body"),
        null=True,
        blank=True,
        help_text=_(
            "The bytes of an authenticated callback that could not be stored as a message, for "
            "officialaccount_reprocess."
        ),
    )
    reprocessed_at = moment(
        _("reprocessed at"),
        _("When officialaccount_reprocess stored what this refused callback held."),
    )
    spool_record = note(
        _("spool record"),
        max_length=80,
        help_text=_("The spool record this delivery was drained from, if any."),
    )
    message = link(OfficialAccountMessage, _("message"), "deliveries")

    class Meta:
        verbose_name = _("callback delivery")
        verbose_name_plural = _("callback deliveries")
        ordering = ("-received_at", "-id")
        constraints = (
            # A spool record drained twice is recognised, not stored again.
            models.UniqueConstraint(
                fields=("spool_record",),
                condition=~models.Q(spool_record=""),
                name="officialaccount_delivery_spool_record",
            ),
        )
        indexes = (
            models.Index(fields=("-received_at", "-id"), name="officialaccount_delivery_at"),
            models.Index(fields=("outcome", "-received_at"), name="officialaccount_delivery_out"),
            models.Index(fields=("command", "-received_at"), name="officialaccount_delivery_cmd"),
            # A staff user limited to some apps (AppGrant) lists only their deliveries.
            models.Index(
                fields=("sdk_app_id", "-received_at"), name="officialaccount_delivery_app"
            ),
            # The health probe's last accepted callback per app, past any flood of refusals.
            models.Index(
                fields=("sdk_app_id", "-received_at"),
                condition=models.Q(status_code=200),
                name="officialaccount_delivery_ok",
            ),
            # The delivery list's search for an IP address (admin/triage.py). Its search for a
            # reason word has a trigram index on PostgreSQL, which is not declared here:
            # migration 0013 says why.
            models.Index(
                fields=("remote_addr", "-received_at"), name="officialaccount_delivery_addr"
            ),
        )

    def __str__(self) -> str:
        # The admin's format (admin/times.FORMAT, which a test holds equal): the title and the
        # fields of a delivery's page agree. Not imported: the admin package registers admins.
        at = date_format(timezone.localtime(self.received_at), "Y-m-d H:i:s T")
        return gettext("%(command)s %(outcome)s at %(at)s") % {
            "command": self.command or "?",
            "outcome": self.get_outcome_display(),
            "at": at,
        }
