"""Changing the accounts mirror: the rules every writer follows (the callbacks, the admin's
actions, ``officialaccount_sync``).

Order: every change of one account's mirror runs in a transaction holding that account's row
lock (:func:`locked_account`), so that two callbacks, or a callback and a sync, for the same
account never interleave. (SQLite has no row locks; its writes are serialised whole.)

Time: each piece of state keeps the ``EventTime`` of the event that set it, and an event no
newer than that changes nothing. So the same callback twice changes nothing the second time,
and an event that arrives after a newer one cannot undo it. Two different events stamped with
the same millisecond cannot be ordered; the first to arrive wins [inferred: Tencent documents
no finer order].

Signals are scheduled here, for after the commit, only for what changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .._itertools import batched
from ..models import OfficialAccount, OfficialAccountSubscriber
from ..notify import schedule
from ..webhook.account_events import AccountEvent, SubscriberEvent

# Stays under every backend's limit on query parameters.
_BATCH = 500


def ensure_account(using: str, sdk_app_id: int, official_account: str) -> None:
    """Create the account's row if the mirror does not have it yet: any callback naming an
    unknown account (a message included) makes it known. One statement, safe when run
    concurrently (a conflict on the unique key is ignored)."""
    OfficialAccount.objects.using(using).bulk_create(
        [OfficialAccount(sdk_app_id=sdk_app_id, official_account=official_account)],
        ignore_conflicts=True,
    )


def locked_account(using: str, sdk_app_id: int, official_account: str) -> OfficialAccount:
    """The account's row, created if need be, locked until the caller's transaction ends."""
    accounts = OfficialAccount.objects.using(using).select_for_update()
    key = {"sdk_app_id": sdk_app_id, "official_account": official_account}
    account = accounts.filter(**key).first()
    if account is None:
        ensure_account(using, sdk_app_id, official_account)
        account = accounts.get(**key)
    return account


def apply_event(using: str, sdk_app_id: int, event: AccountEvent | SubscriberEvent) -> bool:
    """Apply an account or subscriber callback; True if the mirror changed.

    Runs in the caller's transaction, which must be open (the row lock lasts until it ends).
    """
    account = locked_account(using, sdk_app_id, event.official_account)
    if isinstance(event, AccountEvent):
        return apply_account_change(using, account, event.change, event.profile, event.event_time)
    changed = change_subscribers(
        using, account, event.subscriber_accounts, subscribed=event.subscribed, at=event.event_time
    )
    return bool(changed)


def apply_account_change(
    using: str,
    account: OfficialAccount,
    change: str,
    profile: Mapping[str, str],
    event_time: datetime,
) -> bool:
    """Apply one account event (``created``, ``changed``, ``destroyed``, ``full``) at
    ``event_time`` to the locked ``account``; True if any of its fields changed."""
    updates: dict[str, object] = {}
    signalled = None
    if profile and (account.profile_event_time is None or event_time > account.profile_event_time):
        # The profile an event carries is the profile at its time: only a newer one replaces it.
        updates["profile_event_time"] = event_time
        differs = {
            name: value for name, value in profile.items() if getattr(account, name) != value
        }
        updates.update(differs)
        if differs and change == "changed":
            signalled = "changed"
    if change == "created":
        updates.update(_created(account, event_time))
        if ("created_at" in updates and account.destroyed_at is None) or "destroyed_at" in updates:
            signalled = "created"
    elif change == "destroyed" and account.destroyed_at is None:
        # A destruction older than the account's creation destroyed an earlier account with
        # the same ID: the account as created since stands.
        if account.created_at is None or event_time >= account.created_at:
            updates["destroyed_at"] = event_time
            signalled = "destroyed"
    elif change == "full" and _is_newer(event_time, account.full_at, account.removal_event_time):
        # Older than the latest removal of subscribers, "full" no longer holds.
        updates.update(is_full=True, full_at=event_time)
        if not account.is_full:
            signalled = "full"
    return save_changes(using, account, updates, signalled, event_time)


def _created(account: OfficialAccount, event_time: datetime) -> dict[str, object]:
    updates: dict[str, object] = {}
    if account.created_at is None or (
        account.destroyed_at is not None and event_time > account.destroyed_at
    ):
        updates["created_at"] = event_time
    if account.destroyed_at is not None and event_time > account.destroyed_at:
        # Created again after it was destroyed: Tencent let the ID be used anew.
        updates["destroyed_at"] = None
    return updates


def _is_newer(event_time: datetime, *moments: datetime | None) -> bool:
    return all(moment is None or event_time > moment for moment in moments)


def save_changes(
    using: str,
    account: OfficialAccount,
    updates: Mapping[str, object],
    signalled: str | None,
    event_time: datetime | None = None,
) -> bool:
    """Write ``updates`` to ``account`` (only those columns) and schedule ``account_changed``
    for ``signalled``, if given; True if anything was written."""
    for name, value in updates.items():
        setattr(account, name, value)
    if updates:
        account.save(using=using, update_fields=list(updates))
    if signalled is not None:
        schedule.account_changed(using, account, signalled, event_time)
    return bool(updates)


def add_subscribers(
    using: str,
    account: OfficialAccount,
    subscriber_accounts: Iterable[str],
    event_time: datetime | None = None,
) -> list[str]:
    """Record ``subscriber_accounts`` as subscribers of ``account``; returns those who were
    not subscribers before. Without ``event_time`` (a change this app made through Tencent's
    API), now; the callback Tencent then sends, stamped a moment earlier, changes nothing."""
    return _locked_change(using, account, subscriber_accounts, True, event_time)


def remove_subscribers(
    using: str,
    account: OfficialAccount,
    subscriber_accounts: Iterable[str],
    event_time: datetime | None = None,
) -> list[str]:
    """Record that ``subscriber_accounts`` no longer subscribe to ``account`` (their rows are
    kept, with ``unsubscribed_at``); returns those whose state changed."""
    return _locked_change(using, account, subscriber_accounts, False, event_time)


def _locked_change(
    using: str,
    account: OfficialAccount,
    subscriber_accounts: Iterable[str],
    subscribed: bool,
    event_time: datetime | None,
) -> list[str]:
    with transaction.atomic(using=using):
        locked = OfficialAccount.objects.using(using).select_for_update().get(pk=account.pk)
        changed = change_subscribers(
            using,
            locked,
            list(dict.fromkeys(subscriber_accounts)),
            subscribed=subscribed,
            at=event_time or timezone.now(),
        )
    account.refresh_from_db(using=using)
    return changed


def change_subscribers(
    using: str,
    account: OfficialAccount,
    subscriber_accounts: Iterable[str],
    *,
    subscribed: bool,
    at: datetime,
) -> list[str]:
    """Subscribe (or unsubscribe) each of ``subscriber_accounts`` at ``at`` on the locked
    ``account``: the rows, the account's count, its "full" flag, and the signal. Returns the
    subscribers whose state changed. Runs in the caller's transaction."""
    changed: list[str] = []
    rows = OfficialAccountSubscriber.objects.using(using)
    for batch in batched(subscriber_accounts, _BATCH):
        existing = {
            row.subscriber_account: row
            for row in rows.filter(account=account, subscriber_account__in=batch)
        }
        new, updated = [], []
        for name in batch:
            row = existing.get(name)
            if row is None:
                row = OfficialAccountSubscriber(account=account, subscriber_account=name)
                new.append(row)
            elif row.event_time is not None and at <= row.event_time:
                if subscribed and row.subscribed_at is None:
                    # A late subscription of someone already gone: history, not state.
                    row.subscribed_at = at
                    updated.append(row)
                continue
            else:
                updated.append(row)
            if _subscribe(row, at) if subscribed else _unsubscribe(row, at):
                changed.append(name)
            row.event_time = at
        rows.bulk_create(new)
        rows.bulk_update(updated, ["subscribed_at", "unsubscribed_at", "event_time"])
    _recount(using, account, len(changed), subscribed, at)
    schedule.subscribers_changed(
        using, account, changed if subscribed else [], [] if subscribed else changed
    )
    return changed


def _subscribe(row: OfficialAccountSubscriber, at: datetime) -> bool:
    if row.pk is not None and row.unsubscribed_at is None:
        if row.subscribed_at is None:
            row.subscribed_at = at
        return False
    row.subscribed_at, row.unsubscribed_at = at, None
    return True


def _unsubscribe(row: OfficialAccountSubscriber, at: datetime) -> bool:
    # Someone the mirror never saw subscribe stopped being a subscriber too: Tencent counted
    # them, so the count goes down by them as well.
    if row.unsubscribed_at is not None:
        return False
    row.unsubscribed_at = at
    return True


def _recount(
    using: str, account: OfficialAccount, count: int, subscribed: bool, at: datetime
) -> None:
    updates: dict[str, object] = {}
    if count:
        delta = count if subscribed else -count
        updates["subscriber_count"] = max(0, account.subscriber_count + delta)
    if not subscribed and _is_newer(at, account.removal_event_time):
        updates["removal_event_time"] = at
        if account.is_full and _is_newer(at, account.full_at):
            updates["is_full"] = False  # a place became free
    save_changes(using, account, updates, None, None)
