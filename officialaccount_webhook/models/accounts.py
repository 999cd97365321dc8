"""The mirror of Tencent's official accounts and their subscribers.

Kept up to date by the account and subscriber callbacks (``accounts.callbacks``) and brought to
Tencent's state by ``officialaccount_sync`` (``accounts.sync``). Each piece of state remembers
the ``EventTime`` of the event that set it, so that an event arriving late, or twice, never
overwrites a newer state.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..webhook.wire import MAX_ACCOUNT_LENGTH
from .base import flag, moment, note


class OfficialAccountQuerySet(models.QuerySet["OfficialAccount"]):
    def for_message(self, message: models.Model) -> OfficialAccountQuerySet:
        """The account that sent ``message`` (an ``OfficialAccountMessage``): messages are
        found with their account by (SDKAppID, account ID), which the unique index serves."""
        return self.filter(
            sdk_app_id=getattr(message, "sdk_app_id"),  # noqa: B009  # any keyed row
            official_account=getattr(message, "official_account"),  # noqa: B009
        )

    def active(self) -> OfficialAccountQuerySet:
        """Accounts not destroyed (as far as the mirror knows)."""
        return self.filter(destroyed_at__isnull=True)


class OfficialAccount(models.Model):
    """One official account (channel) of one app, as Tencent last told us about it."""

    sdk_app_id = models.BigIntegerField(_("SDKAppID"))
    official_account = models.CharField(
        _("official account"),
        max_length=MAX_ACCOUNT_LENGTH,
        help_text=_("The account's ID, as Tencent names it (@TOA#_…)."),
    )
    name = note(_("name"))
    owner_account = note(_("owner account"), max_length=MAX_ACCOUNT_LENGTH)
    face_url = note(_("face URL"))
    introduction = note(_("introduction"))
    organization = note(_("organization"))
    custom_string = note(_("custom string"))
    created_at = moment(_("created at"), _("When Tencent created the account."))
    destroyed_at = moment(_("destroyed at"), _("When Tencent destroyed the account."))
    subscriber_count = models.PositiveIntegerField(
        _("subscriber count"),
        default=0,
        help_text=_(
            "Tencent's count at the last sync, kept up to date by subscriber callbacks since."
        ),
    )
    max_subscriber_count = models.PositiveIntegerField(
        _("maximum subscriber count"), null=True, blank=True
    )
    is_full = flag(_("full"), _("The account has reached its maximum subscribers."))
    full_at = moment(_("full at"), _("When Tencent said the account was full."))
    synced_at = moment(_("synced at"), _("When officialaccount_sync last read it from Tencent."))
    first_seen_at = models.DateTimeField(_("first seen at"), default=timezone.now)
    profile_event_time = moment(
        _("profile event time"),
        _("EventTime of the event that last set the profile: an older one changes nothing."),
    )
    removal_event_time = moment(
        _("removal event time"),
        _("EventTime of the latest removal of subscribers: a Full event older than it is stale."),
    )

    objects = OfficialAccountQuerySet.as_manager()

    class Meta:
        verbose_name = _("official account")
        verbose_name_plural = _("official accounts")
        ordering = ("sdk_app_id", "official_account")
        constraints = (
            models.UniqueConstraint(
                fields=("sdk_app_id", "official_account"), name="officialaccount_account_key"
            ),
        )
        permissions = (
            ("create_officialaccount", _("Can create official accounts on Tencent")),
            ("change_officialaccount_on_tencent", _("Can modify official accounts on Tencent")),
            ("destroy_officialaccount", _("Can destroy official accounts on Tencent")),
            ("manage_officialaccountsubscribers", _("Can add and remove subscribers on Tencent")),
            ("sync_officialaccount", _("Can sync official accounts from Tencent")),
        )

    def __str__(self) -> str:
        return f"{self.name} ({self.official_account})" if self.name else self.official_account

    @property
    def is_destroyed(self) -> bool:
        return self.destroyed_at is not None


class OfficialAccountSubscriber(models.Model):
    """One user's subscription to one account. Kept when they unsubscribe, so history survives:
    a current subscriber has no ``unsubscribed_at``."""

    account = models.ForeignKey(
        OfficialAccount,
        verbose_name=_("official account"),
        on_delete=models.CASCADE,
        related_name="subscribers",
    )
    subscriber_account = models.CharField(_("subscriber account"), max_length=MAX_ACCOUNT_LENGTH)
    subscribed_at = moment(_("subscribed at"))
    unsubscribed_at = moment(_("unsubscribed at"))
    custom_string = note(_("custom string"))
    msg_flag = note(
        _("message flag"),
        max_length=32,
        help_text=_("AcceptAndNotify, AcceptNotNotify or Discard, as Tencent last said."),
    )
    event_time = moment(
        _("event time"),
        _("EventTime of the event that last changed the subscription: an older one is stale."),
    )
    synced_at = moment(_("synced at"), _("When officialaccount_sync last saw it on Tencent."))

    class Meta:
        verbose_name = _("official account subscriber")
        verbose_name_plural = _("official account subscribers")
        ordering = ("account", "subscriber_account")
        constraints = (
            models.UniqueConstraint(
                fields=("account", "subscriber_account"), name="officialaccount_subscriber_key"
            ),
        )
        indexes = (
            # "Which accounts does this user follow?", and the admin's search by subscriber.
            models.Index(fields=("subscriber_account",), name="officialaccount_subscriber_acc"),
            # An account's current subscribers, newest first.
            models.Index(
                fields=("account", "unsubscribed_at", "-subscribed_at"),
                name="officialaccount_subscriber_cur",
            ),
        )

    def __str__(self) -> str:
        return f"{self.subscriber_account} → {self.account_id}"

    @property
    def is_current(self) -> bool:
        return self.unsubscribed_at is None
