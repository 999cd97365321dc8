"""Moderation's tables: the decision on each before-callback, beside its delivery record (a table
of its own, so that the large delivery table needs no new column), and the rules the shipped
hooks read: keywords and the deny list."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..moderation.patterns import has_nested_quantifier
from ..webhook.wire import MAX_ACCOUNT_LENGTH, MAX_COMMAND_LENGTH
from .base import flag, note
from .deliveries import CallbackDelivery

_ALL_APPS = _("Empty: every app.")
_NESTED_QUANTIFIER = _(
    "A quantifier inside a repeated group, as in (a+)+ or (.*)*, can make matching a message "
    "take without end. Write the pattern without the nesting (a+ instead of (a+)+)."
)


class ModerationDecision(models.Model):
    """What the hooks decided for one before-callback, who decided, and how."""

    class Decision(models.TextChoices):
        ALLOW = "allow", _("allowed")
        REWRITE = "rewrite", _("allowed, rewritten")
        REFUSE_SOME = "refuse_some", _("some subscribers refused")
        REFUSE = "refuse", _("refused")
        DISCARD = "discard", _("discarded")

    delivery = models.OneToOneField(
        CallbackDelivery,
        verbose_name=_("delivery"),
        on_delete=models.CASCADE,
        related_name="moderation",
    )
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    sdk_app_id = models.BigIntegerField(_("SDKAppID"))
    command = note(_("command"), max_length=MAX_COMMAND_LENGTH)
    official_account = note(_("official account"), max_length=MAX_ACCOUNT_LENGTH)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    hook = note(_("hook"), max_length=255, help_text=_("The hook that decided, or failed."))
    reason = note(_("reason"))
    error_code = models.IntegerField(_("error code"), default=0)
    duration_ms = models.FloatField(_("duration (ms)"), default=0.0)
    fallback_applied = flag(
        _("fallback applied"), _("A hook raised, overran the budget, or found no free worker.")
    )
    failure = note(_("failure"))
    dry_run = flag(_("dry run"), _("Recorded, but Tencent was told to allow it."))
    answer = models.JSONField(_("answer"), default=dict, help_text=_("What Tencent was told."))

    class Meta:
        verbose_name = _("moderation decision")
        verbose_name_plural = _("moderation decisions")
        ordering = ("-decided_at", "-id")
        indexes = (
            models.Index(fields=("-decided_at", "-id"), name="officialaccount_moddec_at"),
            models.Index(fields=("decision", "-decided_at"), name="officialaccount_moddec_dec"),
            models.Index(fields=("sdk_app_id", "-decided_at"), name="officialaccount_moddec_app"),
        )

    def __str__(self) -> str:
        return gettext("%(command)s %(decision)s by %(hook)s") % {
            "command": self.command,
            "decision": self.get_decision_display(),
            "hook": self.hook or "-",
        }


class KeywordRule(models.Model):
    """A word (or a regular expression) that the keyword hook refuses a message for."""

    pattern = models.CharField(_("word or pattern"), max_length=255)
    is_regex = flag(
        _("regular expression"), _("Off: the text is matched as it is, anywhere, ignoring case.")
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    sdk_app_id = models.BigIntegerField(_("SDKAppID"), null=True, blank=True, help_text=_ALL_APPS)
    comment = note(_("note"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("keyword rule")
        verbose_name_plural = _("keyword rules")
        ordering = ("pattern",)
        indexes = (models.Index(fields=("updated_at",), name="officialaccount_keyword_upd"),)

    def __str__(self) -> str:
        return self.pattern

    def clean(self) -> None:
        if not self.pattern.strip():
            raise ValidationError({"pattern": _("A rule needs a word.")})
        if self.is_regex:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValidationError({"pattern": str(exc)}) from None
            if has_nested_quantifier(self.pattern):
                raise ValidationError({"pattern": _NESTED_QUANTIFIER})


class DenyListEntry(models.Model):
    """A user the deny-list hooks refuse: as a subscriber, an operator, an owner, or an
    official account that may not send."""

    class Kind(models.TextChoices):
        SUBSCRIBER = "subscriber", _("subscriber")
        OPERATOR = "operator", _("operator")
        OWNER = "owner", _("owner")
        OFFICIAL_ACCOUNT = "official_account", _("official account (may not send)")

    sdk_app_id = models.BigIntegerField(_("SDKAppID"), null=True, blank=True, help_text=_ALL_APPS)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    account = models.CharField(_("account"), max_length=MAX_ACCOUNT_LENGTH)
    comment = note(_("note"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("deny-list entry")
        verbose_name_plural = _("deny list")
        ordering = ("kind", "account")
        constraints = (
            models.UniqueConstraint(
                fields=("sdk_app_id", "kind", "account"), name="officialaccount_deny_key"
            ),
        )
        indexes = (models.Index(fields=("account", "kind"), name="officialaccount_deny_acc"),)

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.account}"
