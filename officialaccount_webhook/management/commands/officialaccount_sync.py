"""Bring the accounts mirror to Tencent's state: profiles, counts, full subscriber lists."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...accounts.sync import SyncInterrupted, SyncReport, sync_account
from ...models import OfficialAccount
from ...tencent import TencentChatClient, TencentChatError, client_for

# The exit status of a process that Ctrl-C stopped (128 + SIGINT).
INTERRUPTED = 130


class Command(BaseCommand):
    _drawn = False
    help = (
        "Read official accounts from Tencent and bring the mirror to their state: profile, "
        "subscriber count and the full subscriber list (subscribers Tencent no longer lists "
        "are marked unsubscribed; accounts it no longer has, destroyed). Without --account, "
        "every account the mirror knows for the app and has not seen destroyed: Tencent has no "
        "call that lists an app's accounts. Safe to interrupt and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sdkappid", type=int, required=True)
        parser.add_argument("--account", help="Only this official account, @TOA#_...")
        parser.add_argument(
            "--no-subscribers",
            action="store_true",
            help="Read the profiles and counts only, not the subscriber lists.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sdk_app_id: int = options["sdkappid"]
        try:
            client = client_for(sdk_app_id)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        accounts = [options["account"]] if options["account"] else self._known(sdk_app_id)
        if not accounts:
            self.stdout.write(
                f"The mirror knows no account of app {sdk_app_id} to sync (Tencent cannot list "
                "them): name one with --account."
            )
            return
        done: list[SyncReport] = []
        try:
            for official_account in accounts:
                done.append(self._sync(client, sdk_app_id, official_account, options))
        except KeyboardInterrupt as interrupt:
            self._end_progress()
            where = ""
            if isinstance(interrupt, SyncInterrupted):
                report = interrupt.report
                where = f" during {report.official_account} ({_how_far(report)})"
            raise CommandError(
                f"Interrupted{where}, after {len(done)} of {len(accounts)} account(s) synced. "
                "What was stored stays; run the command again to finish.",
                returncode=INTERRUPTED,
            ) from None
        except TencentChatError as exc:
            self._end_progress()
            raise CommandError(
                f"Tencent's API failed for {accounts[len(done)]}: {exc}. {len(done)} of "
                f"{len(accounts)} account(s) were synced before it; run again to finish."
            ) from None
        changed = sum(report.changed for report in done)
        self.stdout.write(f"Synced {len(done)} account(s); {changed} changed.")

    def _sync(
        self, client: TencentChatClient, sdk_app_id: int, official_account: str, options: Any
    ) -> SyncReport:
        report = sync_account(
            sdk_app_id,
            official_account,
            client=client,
            subscribers=not options["no_subscribers"],
            progress=self._progress if self.stdout.isatty() else None,
        )
        self._end_progress()
        self.stdout.write(summary(report))
        return report

    def _known(self, sdk_app_id: int) -> list[str]:
        return list(
            OfficialAccount.objects.filter(sdk_app_id=sdk_app_id)
            .active()
            .order_by("official_account")
            .values_list("official_account", flat=True)
        )

    def _progress(self, report: SyncReport) -> None:
        # On a terminal only: one line, rewritten in place.
        self.stdout.write(f"\r{report.official_account}: {_how_far(report)}", ending="")
        self.stdout.flush()
        self._drawn = True

    def _end_progress(self) -> None:
        if self._drawn:
            self.stdout.write("")
            self._drawn = False


def _how_far(report: SyncReport) -> str:
    total = "?" if report.subscriber_count is None else report.subscriber_count
    return f"{report.seen} of {total} subscriber(s) read in {report.pages} page(s)"


def summary(report: SyncReport) -> str:
    """One line: what the sync of one account found and changed."""
    if report.gone:
        marked = " (marked now)" if report.destroyed else ""
        return f"{report.official_account}: Tencent does not have it{marked}."
    parts = [f"{report.official_account}:"]
    if report.new:
        parts.append("new to the mirror;")
    if report.changed_fields:
        parts.append(f"changed {', '.join(report.changed_fields)};")
    if report.pages:
        parts.append(
            f"{report.seen} subscriber(s) read in {report.pages} page(s): {report.added} "
            f"added, {report.removed} removed, {report.updated} updated;"
        )
    parts.append(f"Tencent counts {report.subscriber_count} subscriber(s).")
    return " ".join(parts)
