"""Bring the accounts mirror to Tencent's state: profiles, counts, full subscriber lists."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...accounts.sync import SyncInterrupted, SyncReport, sync_account
from ...models import OfficialAccount
from ...tencent import TencentChatClient, TencentChatError, client_for
from ..arguments import add_sdk_app_id
from ..translated_help import TranslatedCommand

# The exit status of a process that Ctrl-C stopped (128 + SIGINT).
INTERRUPTED = 130


class Command(TranslatedCommand):
    _drawn = False
    help = gettext_noop(
        "Read official accounts from Tencent and bring the mirror to their state: profile, "
        "subscriber count and the full subscriber list (subscribers Tencent no longer lists "
        "are marked unsubscribed; accounts it no longer has, destroyed). Without --account, "
        "every account the mirror knows for the app and has not seen destroyed: Tencent has no "
        "call that lists an app's accounts. Safe to interrupt and run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_sdk_app_id(parser, required=True)
        parser.add_argument("--account", help=_("Only this official account, @TOA#_..."))
        parser.add_argument(
            "--no-subscribers",
            action="store_true",
            help=_("Read the profiles and counts only, not the subscriber lists."),
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
                _(
                    "The mirror knows no account of app %(app)s to sync (Tencent cannot list "
                    "them): name one with --account."
                )
                % {"app": sdk_app_id}
            )
            return
        done: list[SyncReport] = []
        try:
            for official_account in accounts:
                done.append(self._sync(client, sdk_app_id, official_account, options))
        except KeyboardInterrupt as interrupt:
            self._end_progress()
            counts = {"done": len(done), "total": len(accounts)}
            if isinstance(interrupt, SyncInterrupted):
                report = interrupt.report
                message = _(
                    "Interrupted during %(account)s (%(progress)s), after %(done)d of %(total)d "
                    "account(s) synced. What was stored stays; run the command again to finish."
                ) % (counts | {"account": report.official_account, "progress": _how_far(report)})
            else:
                message = (
                    _(
                        "Interrupted, after %(done)d of %(total)d account(s) synced. What was "
                        "stored stays; run the command again to finish."
                    )
                    % counts
                )
            raise CommandError(message, returncode=INTERRUPTED) from None
        except TencentChatError as exc:
            self._end_progress()
            raise CommandError(
                _(
                    "Tencent's API failed for %(account)s: %(error)s. %(done)d of %(total)d "
                    "account(s) were synced before it; run again to finish."
                )
                % {
                    "account": accounts[len(done)],
                    "error": exc,
                    "done": len(done),
                    "total": len(accounts),
                }
            ) from None
        changed = sum(report.changed for report in done)
        self.stdout.write(
            _("Synced %(count)d account(s); %(changed)d changed.")
            % {"count": len(done), "changed": changed}
        )

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
    return _("%(seen)d of %(total)s subscriber(s) read in %(pages)d page(s)") % {
        "seen": report.seen,
        "total": total,
        "pages": report.pages,
    }


def summary(report: SyncReport) -> str:
    """One line: what the sync of one account found and changed."""
    account = {"account": report.official_account}
    if report.gone and report.destroyed:
        return _("%(account)s: Tencent does not have it (marked now).") % account
    if report.gone:
        return _("%(account)s: Tencent does not have it.") % account
    parts = [f"{report.official_account}:"]
    if report.new:
        parts.append(_("new to the mirror;"))
    if report.changed_fields:
        # Field names, as the models and the API name them.
        parts.append(_("changed %(fields)s;") % {"fields": ", ".join(report.changed_fields)})
    if report.pages:
        parts.append(
            _(
                "%(seen)d subscriber(s) read in %(pages)d page(s): %(added)d added, %(removed)d "
                "removed, %(updated)d updated;"
            )
            % {
                "seen": report.seen,
                "pages": report.pages,
                "added": report.added,
                "removed": report.removed,
                "updated": report.updated,
            }
        )
    parts.append(_("Tencent counts %(count)s subscriber(s).") % {"count": report.subscriber_count})
    return " ".join(parts)
