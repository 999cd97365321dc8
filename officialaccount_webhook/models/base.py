"""What the app's models share: the key that names a message, and the few kinds of field they
all use, each declared once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..webhook.wire import MAX_ACCOUNT_LENGTH, MAX_MSG_KEY_LENGTH

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as Label
else:  # what gettext_lazy returns, or a plain str
    Label = str

_Model = TypeVar("_Model", bound=models.Model)
# Who or what asked for a recall: "admin:<username>" (150 characters at most, Django's own limit
# on usernames), "api:<username>", "command".
REQUESTED_BY_LENGTH = 150
# The columns of a message's key, for the constraints and indexes that look a message up by it.
MESSAGE_KEY = ("sdk_app_id", "official_account", "msg_key")


class MessageKeyed(models.Model):
    """A row that names an official-account message by its key, stored or not: a MsgKey is
    unique only within its account (its sequence number is per account), and the account
    only within its app."""

    sdk_app_id = models.BigIntegerField(_("SDKAppID"))
    official_account = models.CharField(_("official account"), max_length=MAX_ACCOUNT_LENGTH)
    msg_key = models.CharField(_("MsgKey"), max_length=MAX_MSG_KEY_LENGTH)

    class Meta:
        abstract = True


def moment(
    verbose_name: Label, help_text: Label = ""
) -> models.DateTimeField[Any, datetime | None]:
    """When something happened, empty until it has."""
    return models.DateTimeField(verbose_name, null=True, blank=True, help_text=help_text)


def note(
    verbose_name: Label, *, max_length: int | None = None, help_text: Label = "", **options: Any
) -> models.Field[Any, str]:
    """Optional text, empty rather than null: a ``CharField`` with a ``max_length``, else a
    ``TextField``."""
    if max_length is None:
        return models.TextField(
            verbose_name, blank=True, default="", help_text=help_text, **options
        )
    return models.CharField(
        verbose_name, max_length=max_length, blank=True, default="", help_text=help_text, **options
    )


def flag(verbose_name: Label, help_text: Label = "") -> models.BooleanField[Any, bool]:
    """A yes or no, no until something sets it."""
    return models.BooleanField(verbose_name, default=False, help_text=help_text)


def requester(verbose_name: Label, help_text: Label = "", **options: Any) -> models.Field[Any, str]:
    """Who or what asked (``REQUESTED_BY_LENGTH``), empty when nobody here did."""
    return note(verbose_name, max_length=REQUESTED_BY_LENGTH, help_text=help_text, **options)


def link(
    to: type[_Model], verbose_name: Label, related_name: str
) -> models.ForeignKey[_Model | None, _Model | None]:
    """A link to a row that may be deleted before this one (pruned, say): then it is emptied."""
    return models.ForeignKey(
        to,
        verbose_name=verbose_name,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name=related_name,
    )
