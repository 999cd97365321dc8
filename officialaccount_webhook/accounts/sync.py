"""Bringing the accounts mirror to Tencent's state: ``officialaccount_sync`` and the admin.

One account at a time: its profile from ``get_official_account_info``, then (unless asked not
to) its subscribers, page by page from ``get_subscriber_info``, each page in a transaction of
its own under the account's row lock (``mirror.locked_account``), so that callbacks and the
sync never interleave and nothing holds more than a page. Every row seen is stamped with the
run's start (``synced_at``); once the listing has reached its end, the current subscribers
not stamped are the ones Tencent no longer has: they are marked unsubscribed (the rows stay).
An interrupted run marks nothing: the next run lists from the start and finishes the job.

Time: what the sync reads is Tencent's state as of the moment it asked, so it is applied with
that moment as its event time, by the mirror's rule: a callback newer than the read is kept,
and an older callback arriving later changes nothing.

Tencent has no call that lists an app's accounts (protocol notes 5.5; doocs' twelve commands):
the accounts synced are the ones the mirror knows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import router, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..models import OfficialAccount, OfficialAccountSubscriber
from ..notify import schedule
from ..tencent import TencentChatClient, client_for
from ..tencent.accounts import AccountInfo, get_official_account_info
from ..tencent.errors import OfficialAccountNotFoundError, api_error
from ..tencent.subscribers import SubscriberInfo, SubscriberPage, iter_subscribers
from . import mirror

# Their public path is this module (the command and the admin import them from here).
from .sync_report import SyncInterrupted as SyncInterrupted
from .sync_report import SyncReport as SyncReport

# subscribers_changed lists at most this many accounts (signals.py).
SIGNAL_BATCH = 1000
NOT_FOUND = 10010
_PROFILE = ("name", "owner_account", "introduction", "face_url", "organization", "custom_string")
# Tencent's CreateTime is in seconds, a callback's EventTime in milliseconds: closer than this,
# the two are the same moment.
_SAME_MOMENT = timedelta(seconds=1)

Progress = Callable[[SyncReport], None]


def sync_account(
    sdk_app_id: int,
    official_account: str,
    *,
    client: TencentChatClient | None = None,
    subscribers: bool = True,
    progress: Progress | None = None,
) -> SyncReport:
    """Bring one account's mirror to Tencent's state: profile, count, and (with
    ``subscribers``) the full subscriber list. Sends ``account_changed`` and
    ``subscribers_changed`` for what changed, after each commit. ``progress`` is called with
    the report after the profile and after each page.

    Raises ``TencentChatError`` (what was committed stays) or :class:`SyncInterrupted`.
    """
    client = client or client_for(sdk_app_id)
    report = SyncReport(sdk_app_id, official_account)
    using = router.db_for_write(OfficialAccount)
    run_started = timezone.now()
    try:
        if _sync_profile(client, using, report, run_started) and subscribers:
            _notify(progress, report)
            _sync_subscribers(client, using, report, run_started, progress)
        report.complete = True
    except KeyboardInterrupt as interrupt:
        raise SyncInterrupted(report) from interrupt
    _notify(progress, report)
    return report


def _notify(progress: Progress | None, report: SyncReport) -> None:
    if progress is not None:
        progress(report)


def _sync_profile(
    client: TencentChatClient, using: str, report: SyncReport, read_at: datetime
) -> bool:
    """Apply Tencent's profile of the account; False if Tencent does not have it."""
    try:
        [info] = get_official_account_info(client, [report.official_account])
    except OfficialAccountNotFoundError:
        info = AccountInfo(report.official_account, error_code=NOT_FOUND)
    if info.error_code == NOT_FOUND:
        _mark_gone(using, report, read_at)
        return False
    if not info.found:
        raise api_error(info.error_info, info.error_code)
    report.subscriber_count = info.subscriber_count
    with transaction.atomic(using=using):
        report.new = not _key(using, report).exists()
        account = mirror.locked_account(using, report.sdk_app_id, report.official_account)
        updates = _profile_updates(account, info, read_at)
        change = None
        if account.destroyed_at is not None:
            updates["destroyed_at"] = None  # the ID exists again: Tencent let it be reused
            change = "created"
        report.changed_fields = sorted(set(updates) - {"profile_event_time", "synced_at"})
        if change is None and report.changed_fields and not report.new:
            change = "changed"
        mirror.save_changes(
            using, account, updates | {"synced_at": read_at}, "created" if report.new else change
        )
    return True


def _profile_updates(
    account: OfficialAccount, info: AccountInfo, read_at: datetime
) -> dict[str, object]:
    updates: dict[str, object] = {}
    if account.profile_event_time is None or read_at > account.profile_event_time:
        updates["profile_event_time"] = read_at
        for name in _PROFILE:
            if getattr(account, name) != getattr(info, name):
                updates[name] = getattr(info, name)
    created = info.created_at
    if created is not None and (
        account.created_at is None or abs(account.created_at - created) >= _SAME_MOMENT
    ):
        updates["created_at"] = created
    for name in ("max_subscriber_count", "subscriber_count"):
        if getattr(info, name) is not None and getattr(account, name) != getattr(info, name):
            updates[name] = getattr(info, name)
    return updates


def _mark_gone(using: str, report: SyncReport, read_at: datetime) -> None:
    report.gone = True
    with transaction.atomic(using=using):
        account = _key(using, report).select_for_update().first()
        if account is None:
            return  # never known: nothing to mark, and no row is made for it
        updates: dict[str, object] = {"synced_at": read_at}
        if account.destroyed_at is None:
            updates["destroyed_at"] = read_at
            report.destroyed = True
        mirror.save_changes(using, account, updates, "destroyed" if report.destroyed else None)


def _sync_subscribers(
    client: TencentChatClient,
    using: str,
    report: SyncReport,
    run_started: datetime,
    progress: Progress | None,
) -> None:
    pages = iter_subscribers(client, report.official_account)
    while True:
        read_at = timezone.now()
        try:
            page = next(pages, None)
        except OfficialAccountNotFoundError:
            _mark_gone(using, report, read_at)  # destroyed while the sync ran
            return
        if page is None:
            break
        _apply_page(using, report, page, run_started, read_at)
        _notify(progress, report)
    _remove_unseen(using, report, run_started)
    with transaction.atomic(using=using):
        account = mirror.locked_account(using, report.sdk_app_id, report.official_account)
        if report.subscriber_count is not None:
            # Tencent's count as of the listing, whatever the removals counted down.
            mirror.save_changes(using, account, {"subscriber_count": report.subscriber_count}, None)


def _apply_page(
    using: str, report: SyncReport, page: SubscriberPage, run_started: datetime, read_at: datetime
) -> None:
    """One page, in one transaction under the account's lock: new rows, changed rows, and the
    stamp of every row seen."""
    rows = OfficialAccountSubscriber.objects.using(using)
    infos = {info.subscriber_account: info for info in page.subscribers}
    with transaction.atomic(using=using):
        account = mirror.locked_account(using, report.sdk_app_id, report.official_account)
        existing = {
            row.subscriber_account: row
            # Unordered: the model's default ordering would join the account table to sort.
            for row in rows.filter(account=account, subscriber_account__in=list(infos)).order_by()
        }
        new: list[OfficialAccountSubscriber] = []
        changed: list[OfficialAccountSubscriber] = []
        seen: list[int] = []
        added: list[str] = []
        for name, info in infos.items():
            row = existing.get(name)
            if row is None:
                row = OfficialAccountSubscriber(account=account, subscriber_account=name)
                new.append(row)
                _subscribe(row, info, read_at)
                added.append(name)
            elif row.event_time is not None and row.event_time > read_at:
                seen.append(row.pk)  # a callback told a newer state than this page: it stands
            elif row.unsubscribed_at is not None:
                _subscribe(row, info, read_at)  # gone in the mirror, back on Tencent
                changed.append(row)
                added.append(name)
            elif _refresh(row, info):
                changed.append(row)
                report.updated += 1
            else:
                seen.append(row.pk)
            row.synced_at = run_started
        rows.bulk_create(new)
        fields = ["subscribed_at", "unsubscribed_at", "custom_string", "msg_flag", "event_time"]
        rows.bulk_update(changed, [*fields, "synced_at"])
        rows.filter(pk__in=seen).update(synced_at=run_started)
        schedule.subscribers_changed(using, account, added, [])
    report.pages += 1
    report.seen += len(infos)
    report.added += len(added)
    if page.subscriber_count is not None:
        report.subscriber_count = page.subscriber_count


def _subscribe(row: OfficialAccountSubscriber, info: SubscriberInfo, read_at: datetime) -> None:
    row.subscribed_at = info.subscribed_at or read_at
    row.unsubscribed_at = None
    row.custom_string, row.msg_flag = info.custom_string, info.msg_flag
    row.event_time = read_at


def _refresh(row: OfficialAccountSubscriber, info: SubscriberInfo) -> bool:
    """Bring a current subscriber's row to Tencent's listing; True if it changed."""
    changed = False
    if row.subscribed_at is None and info.subscribed_at is not None:
        row.subscribed_at, changed = info.subscribed_at, True
    if (row.custom_string, row.msg_flag) != (info.custom_string, info.msg_flag):
        row.custom_string, row.msg_flag, changed = info.custom_string, info.msg_flag, True
    return changed


def _remove_unseen(using: str, report: SyncReport, run_started: datetime) -> None:
    """Mark unsubscribed the current subscribers this run did not see, 1,000 at a time; those
    a callback changed since the run started are left as the callback said."""
    rows = OfficialAccountSubscriber.objects.using(using)
    unseen = (
        Q(unsubscribed_at__isnull=True)
        & (Q(synced_at__isnull=True) | Q(synced_at__lt=run_started))
        & (Q(event_time__isnull=True) | Q(event_time__lt=run_started))
    )
    while True:
        with transaction.atomic(using=using):
            account = mirror.locked_account(using, report.sdk_app_id, report.official_account)
            names = list(
                rows.filter(unseen, account=account)
                .order_by("pk")
                .values_list("subscriber_account", flat=True)[:SIGNAL_BATCH]
            )
            if not names:
                return
            removed = mirror.change_subscribers(
                using, account, names, subscribed=False, at=run_started
            )
        report.removed += len(removed)


def _key(using: str, report: SyncReport) -> QuerySet[OfficialAccount]:
    return OfficialAccount.objects.using(using).filter(
        sdk_app_id=report.sdk_app_id, official_account=report.official_account
    )
