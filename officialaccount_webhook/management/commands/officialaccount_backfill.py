"""Store the messages Tencent's history has and this database has not."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...messages.reconcile import ReconcileError, backfill
from ...tencent import TencentChatError
from ..arguments import moment


class Command(BaseCommand):
    help = (
        "Page through the official account's history (newest first) and store the messages "
        "that are missing, marked as backfilled. Placeholders (IsPlaceMsg) are counted, not "
        "stored. Safe to run again: nothing is stored twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sdkappid", type=int, required=True)
        parser.add_argument("--account", required=True, help="The official account, @TOA#_...")
        parser.add_argument(
            "--since",
            type=moment,
            help="Stop at messages older than this date or ISO time (default: the whole history).",
        )
        parser.add_argument(
            "--include-pruned",
            action="store_true",
            help="Store messages that officialaccount_prune deleted, too (default: skip them).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            report = backfill(
                options["sdkappid"],
                options["account"],
                since=options["since"],
                include_pruned=options["include_pruned"],
            )
        except ReconcileError as exc:
            raise CommandError(str(exc)) from None
        except TencentChatError as exc:
            raise CommandError(f"Tencent's history API failed: {exc}") from None
        self.stdout.write(
            f"Read {report.seen} message(s) in {report.pages} page(s): stored {report.stored}, "
            f"already stored {report.already_stored}, placeholders {report.placeholders}, "
            f"pruned before (not stored again) {report.pruned}."
        )
        for problem in report.invalid:
            self.stderr.write(self.style.WARNING(f"Skipped a history item: {problem}"))
        if not report.complete:
            raise CommandError(
                "Stopped before the end of the history: Tencent's paging went nowhere or in a "
                "circle. What was read is stored; run again later."
            )
