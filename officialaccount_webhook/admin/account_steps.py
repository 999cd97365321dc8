"""What each admin action on Tencent does once confirmed (``account_actions``): Tencent first,
then the mirror from Tencent's answer; and the words for the confirmation page and for
Tencent's errors.

Create and modify read the account back from Tencent (``sync_account``, without the
subscriber list); destroy marks the account destroyed once Tencent said it did; adding and
removing subscribers records the subscribers Tencent accepted (``accounts.mirror``), which
also sends the signals. The callbacks Tencent sends about the same change then change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.db import router, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..accounts import mirror
from ..accounts.sync import sync_account
from ..conf import get_settings
from ..models import OfficialAccount
from ..tencent import TencentChatClient, TencentChatError, errors, subscribers
from ..tencent.budget import TimeBudget
from ..tencent.subscribers import SubscriberResults

APP = "officialaccount_webhook"
# How many IDs a message names.
_NAMED = 10


@dataclass
class Done:
    url: str
    """Where the page goes next."""
    notes: list[tuple[int, str]] = field(default_factory=list)
    """Messages for the user, with their levels."""


Step = Callable[[dict[int, TencentChatClient], Any, forms.Form], Done]


def perform(
    name: str,
    clients: dict[int, TencentChatClient],
    account: OfficialAccount | None,
    form: forms.Form,
) -> Done:
    """Carry out the action ``name`` with a valid ``form``. Raises ``TencentChatError`` when
    Tencent refused or did not answer: then the mirror is as it was."""
    return _STEPS[name](clients, account, form)


def budget() -> TimeBudget:
    # The page waits for Tencent, retries included: the recall's bound keeps it answering
    # before its worker is killed.
    return TimeBudget(get_settings().recall_time_budget)


def _using() -> str:
    return router.db_for_write(OfficialAccount)


def _change_url(account: OfficialAccount) -> str:
    return reverse(f"admin:{APP}_officialaccount_change", args=[account.pk])


def _read_back(
    done: Done, sdk_app_id: int, official_account: str, client: TencentChatClient
) -> OfficialAccount | None:
    """The mirror brought to Tencent's state of the account, and its row; a failure to read
    it is said, not raised: Tencent did what was asked."""
    try:
        sync_account(sdk_app_id, official_account, client=client, subscribers=False)
    except TencentChatError as error:
        done.notes.append(
            (
                messages.WARNING,
                _(
                    "Tencent did it, but reading the account back failed (%(error)s): the "
                    "mirror will catch up with Tencent's callback or officialaccount_sync."
                )
                % {"error": in_words(error)},
            )
        )
    return OfficialAccount.objects.filter(
        sdk_app_id=sdk_app_id, official_account=official_account
    ).first()


def _create(clients: dict[int, TencentChatClient], _account: Any, form: forms.Form) -> Done:
    data = form.cleaned_data
    sdk_app_id = data["sdk_app_id"]
    client = clients[sdk_app_id]
    created = client.create_official_account(
        data["owner_account"],
        data["name"],
        official_account=data["official_account"],
        introduction=data["introduction"],
        face_url=data["face_url"],
        organization=data["organization"],
        custom_string=data["custom_string"],
        budget=budget(),
    )
    done = Done(reverse(f"admin:{APP}_officialaccount_changelist"))
    account = _read_back(done, sdk_app_id, created, client)
    if account is not None:
        done.url = _change_url(account)
    done.notes.insert(
        0, (messages.SUCCESS, _("Tencent created the official account %(id)s.") % {"id": created})
    )
    return done


def _modify(clients: dict[int, TencentChatClient], account: Any, form: forms.Form) -> Done:
    client = clients[account.sdk_app_id]
    changes = form.changes()  # type: ignore[attr-defined]  # a ModifyAccountForm
    client.modify_official_account(account.official_account, **changes, budget=budget())
    done = Done(_change_url(account))
    _read_back(done, account.sdk_app_id, account.official_account, client)
    done.notes.insert(0, (messages.SUCCESS, _("Tencent modified the official account.")))
    return done


def _destroy(clients: dict[int, TencentChatClient], account: Any, form: forms.Form) -> Done:
    client = clients[account.sdk_app_id]
    client.destroy_official_account(account.official_account, budget=budget())
    using = _using()
    with transaction.atomic(using=using):
        locked = mirror.locked_account(using, account.sdk_app_id, account.official_account)
        # Now, later than the creation the mirror knows of; Tencent's callback, stamped a
        # moment earlier, then changes nothing.
        mirror.apply_account_change(using, locked, "destroyed", {}, timezone.now())
    return Done(
        _change_url(account), [(messages.SUCCESS, _("Tencent destroyed the official account."))]
    )


def _add(clients: dict[int, TencentChatClient], account: Any, form: forms.Form) -> Done:
    return _subscribers(clients[account.sdk_app_id], account, form, subscribed=True)


def _remove(clients: dict[int, TencentChatClient], account: Any, form: forms.Form) -> Done:
    return _subscribers(clients[account.sdk_app_id], account, form, subscribed=False)


def _subscribers(
    client: TencentChatClient, account: OfficialAccount, form: forms.Form, *, subscribed: bool
) -> Done:
    asked: list[str] = form.cleaned_data["subscriber_accounts"]
    call = client.add_subscribers if subscribed else client.delete_subscribers
    answer = call(account.official_account, asked, budget=budget())
    changes, notes = _answered(account, asked, answer, subscribed=subscribed)
    record = mirror.add_subscribers if subscribed else mirror.remove_subscribers
    changed = record(_using(), account, changes) if changes else []
    if subscribed:
        text = _("Tencent subscribed %(done)d of %(asked)d; the mirror changed for %(changed)d.")
    else:
        text = _("Tencent unsubscribed %(done)d of %(asked)d; the mirror changed for %(changed)d.")
    return _subscribers_done(account, asked, answer, changed, text, notes)


def _answered(
    account: OfficialAccount, asked: list[str], answer: SubscriberResults, *, subscribed: bool
) -> tuple[list[str], list[str]]:
    """The subscribers whose change the mirror records, and what to say of the others.

    Recorded: those Tencent changed (``Result`` 1), and those it found already as asked (2)
    where the mirror says otherwise. A 2 the mirror agrees with changes nothing, and recording
    it would count someone twice, or take away someone Tencent never counted.
    """
    done = answer.having(subscribers.RESULT_DONE)
    already = answer.having(subscribers.RESULT_ALREADY)
    current = set(
        account.subscribers.filter(
            subscriber_account__in=already, unsubscribed_at__isnull=True
        ).values_list("subscriber_account", flat=True)
    )
    wrong = [name for name in already if (name in current) != subscribed]
    refused = [name for name in asked if answer.results.get(name) == subscribers.RESULT_FAILED]
    unlisted = [name for name in asked if name not in answer.results]
    notes = []
    if refused:
        notes.append(_("Tencent refused: %(ids)s.") % {"ids": _some(refused)})
    if unlisted:
        notes.append(
            _("Tencent's answer did not mention: %(ids)s; run officialaccount_sync to see.")
            % {"ids": _some(unlisted)}
        )
    return [*done, *wrong], notes


def _subscribers_done(
    account: OfficialAccount,
    asked: list[str],
    answer: SubscriberResults,
    changed: list[str],
    text: str,
    notes: list[str],
) -> Done:
    done = len(answer.having(subscribers.RESULT_DONE)) + len(
        answer.having(subscribers.RESULT_ALREADY)
    )
    values = {"done": done, "asked": len(asked), "changed": len(changed)}
    level = messages.WARNING if notes else messages.SUCCESS
    return Done(
        _change_url(account),
        [(level, text % values), *((messages.WARNING, note) for note in notes)],
    )


def _some(names: list[str]) -> str:
    """The first few of ``names``: a message names a handful, not five hundred."""
    shown = ", ".join(names[:_NAMED])
    return f"{shown}, … ({len(names)})" if len(names) > _NAMED else shown


_STEPS: dict[str, Step] = {
    "create": _create,
    "modify": _modify,
    "destroy": _destroy,
    "add_subscribers": _add,
    "remove_subscribers": _remove,
}


def summary(
    name: str, account: OfficialAccount | None, form: forms.Form
) -> list[tuple[str | Promise, str]]:
    """What the confirmation page says will be asked of Tencent: (label, value) pairs."""
    if name == "destroy" or not form.is_bound:
        return []
    data = form.cleaned_data
    if name == "modify":
        assert account is not None  # an action on an account
        changes: dict[str, str] = form.changes()  # type: ignore[attr-defined]
        return [
            (form.fields[key].label or key, f"{getattr(account, key) or '-'} → {value or '-'}")
            for key, value in changes.items()
        ]
    if name in ("add_subscribers", "remove_subscribers"):
        return [(_("Subscriber accounts"), "\n".join(data["subscriber_accounts"]))]
    return [(form.fields[key].label or key, str(value)) for key, value in data.items() if value]


# Tencent's errors, by class, in words an operator can act on (errors.py has each code).
# gettext_lazy by that name: makemessages finds no string marked by an alias of it.
_WORDS: list[tuple[type[TencentChatError], str | Promise]] = [
    (
        errors.OfficialAccountNotFoundError,
        gettext_lazy("Tencent has no such official account (any more)."),
    ),
    (
        errors.PermissionDeniedError,
        gettext_lazy("Tencent refused: the app's admin may not do this."),
    ),
    (
        errors.AuthenticationError,
        gettext_lazy(
            "Tencent refused the app's credentials: check SECRET_KEY, ADMIN_IDENTIFIER and this "
            "server's clock."
        ),
    ),
    (
        errors.AppUnavailableError,
        gettext_lazy(
            "Tencent cannot serve this app as configured: check REGION, the app's package and "
            "the server's IP allowlist."
        ),
    ),
    (
        errors.RateLimitedError,
        gettext_lazy("Tencent says it is called too often: try again in a minute."),
    ),
    (errors.InvalidRequestError, gettext_lazy("Tencent refused the request as invalid.")),
    (errors.TencentInternalError, gettext_lazy("Tencent had an internal error: try again later.")),
    (errors.TencentTransportError, gettext_lazy("Tencent did not answer usably.")),
    (errors.TencentApiError, gettext_lazy("Tencent refused.")),
]


def in_words(error: TencentChatError) -> str:
    """Tencent's error as the admin shows it: what it means, then Tencent's own words."""
    meaning = next((words for cls, words in _WORDS if isinstance(error, cls)), "")
    text = f"{meaning} {error}".strip()
    if error.maybe_carried_out:
        text += " " + _(
            "Tencent may have carried it out all the same: the account's page will show it "
            "once Tencent's callback arrives, or run officialaccount_sync."
        )
    return text
