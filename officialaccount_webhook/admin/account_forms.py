"""The forms of the admin's actions on Tencent (``account_actions``), with Tencent's limits.

Tencent measures its limits in UTF-8 bytes ("a Chinese character takes 3 bytes"): Name 150,
Introduction 400, FaceUrl and Organization 500, CustomString 3000 (doocs' request models of
create_official_account and modify_official_account_base_info; Tencent's page 60755 for Name
and Introduction).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ..models import OfficialAccount
from ..webhook.wire import MAX_ACCOUNT_LENGTH
from .lazy_text import interpolated

# A custom account ID must start so; without one Tencent makes one up (page 60755).
ACCOUNT_PREFIX = "@TOA#_"
# How many user IDs one action adds or removes: each page waits for Tencent's answer.
# [inferred] Tencent documents no per-call limit for add_subscriber; the client splits the
# list into the calls it needs.
MAX_SUBSCRIBERS_PER_ACTION = 500
# The profile: the model's field, Tencent's limit in bytes, and whether it is a long text.
PROFILE_LIMITS = {
    "name": 150,
    "introduction": 400,
    "face_url": 500,
    "organization": 500,
    "custom_string": 3000,
}
LABELS = {
    "name": _("name"),
    "introduction": _("introduction"),
    "face_url": _("face URL"),
    "organization": _("organization"),
    "custom_string": _("custom string"),
}
_LONG = frozenset({"introduction", "custom_string"})
_SEPARATORS = re.compile(r"[\s,;]+")


def within_bytes(limit: int) -> Any:
    def check(value: str) -> None:
        size = len(value.encode("utf-8"))
        if size > limit:
            raise ValidationError(
                _("At most %(limit)d bytes in UTF-8 (this is %(size)d)."),
                params={"limit": limit, "size": size},
            )

    return check


def profile_field(name: str, *, required: bool = False) -> forms.CharField:
    limit = PROFILE_LIMITS[name]
    return forms.CharField(
        label=LABELS[name],
        required=required,
        strip=name not in _LONG,
        widget=forms.Textarea(attrs={"rows": 3}) if name in _LONG else forms.TextInput(),
        validators=[within_bytes(limit)],
        help_text=interpolated(_("At most %(limit)d bytes."), {"limit": limit}),
    )


class ProfileForm(forms.Form):
    """The account's profile as Tencent takes it."""

    name = profile_field("name", required=True)
    introduction = profile_field("introduction")
    face_url = profile_field("face_url")
    organization = profile_field("organization")
    custom_string = profile_field("custom_string")

    def profile(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in PROFILE_LIMITS}


class CreateAccountForm(ProfileForm):
    sdk_app_id = forms.TypedChoiceField(label=_("SDKAppID"), coerce=int)
    owner_account = forms.CharField(
        label=_("owner account"),
        max_length=MAX_ACCOUNT_LENGTH,
        help_text=_("An account of the app (imported into Tencent Chat) that will own it."),
    )
    official_account = forms.CharField(
        label=_("official account ID"),
        required=False,
        max_length=MAX_ACCOUNT_LENGTH,
        help_text=interpolated(
            _("Optional; must start with %(prefix)s. Without one Tencent chooses it."),
            {"prefix": ACCOUNT_PREFIX},
        ),
    )
    field_order = ("sdk_app_id", "owner_account", "name", "official_account")

    def __init__(self, *args: Any, apps: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: forms.TypedChoiceField = self.fields["sdk_app_id"]  # type: ignore[assignment]
        field.choices = [(app, str(app)) for app in apps]
        if len(apps) == 1:
            field.initial = apps[0]

    def clean_official_account(self) -> str:
        value: str = self.cleaned_data["official_account"]
        if value and not value.startswith(ACCOUNT_PREFIX):
            raise ValidationError(
                _("An official account ID starts with %(prefix)s."),
                params={"prefix": ACCOUNT_PREFIX},
            )
        return value


class ModifyAccountForm(ProfileForm):
    """The profile, filled with the mirror's; only what was changed is sent."""

    def __init__(self, *args: Any, account: OfficialAccount, **kwargs: Any) -> None:
        kwargs["initial"] = {name: getattr(account, name) for name in PROFILE_LIMITS}
        super().__init__(*args, **kwargs)
        self.account = account

    def changes(self) -> dict[str, str]:
        """The profile fields whose value differs from the mirror's."""
        return {
            name: value
            for name, value in self.profile().items()
            if value != getattr(self.account, name)
        }

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not self.errors and not self.changes():
            raise ValidationError(_("Nothing was changed."))
        return cleaned


class DestroyAccountForm(forms.Form):
    """Nothing to fill in: the confirmation page is the whole question."""


class SubscribersForm(forms.Form):
    subscriber_accounts = forms.CharField(
        label=_("Subscriber accounts"),
        widget=forms.Textarea(attrs={"rows": 8, "cols": 60}),
        help_text=interpolated(
            _("User IDs, one a line (or separated by spaces or commas); at most %(max)d."),
            {"max": MAX_SUBSCRIBERS_PER_ACTION},
        ),
    )

    def clean_subscriber_accounts(self) -> list[str]:
        text: str = self.cleaned_data["subscriber_accounts"]
        accounts = list(dict.fromkeys(part for part in _SEPARATORS.split(text) if part))
        if not accounts:
            raise ValidationError(_("Give at least one user ID."))
        if len(accounts) > MAX_SUBSCRIBERS_PER_ACTION:
            raise ValidationError(
                _("%(count)d user IDs were given; at most %(max)d at a time."),
                params={"count": len(accounts), "max": MAX_SUBSCRIBERS_PER_ACTION},
            )
        long = [account for account in accounts if len(account) > MAX_ACCOUNT_LENGTH]
        if long:
            raise ValidationError(
                _("A user ID has at most %(max)d characters: %(id)s… is longer."),
                params={"max": MAX_ACCOUNT_LENGTH, "id": long[0][:20]},
            )
        return accounts
