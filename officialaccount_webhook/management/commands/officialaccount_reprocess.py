"""Run refused callbacks through the current parser again, and store what now parses."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...webhook.reprocess import refused, reprocess
from ..arguments import moment


class Command(BaseCommand):
    help = (
        "Run the authenticated callbacks that were refused (and kept their body) through the "
        "current parser again: after an upgrade, or a fix of the settings. Stores what now "
        "parses, sends message_received once per new message, and marks each record "
        "reprocessed, so running it again stores nothing twice. Also applies withdrawals that "
        "came before their message and missed it. Exits non-zero while any record is still "
        "refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sdkappid", type=int, help="One app.")
        parser.add_argument("--since", type=moment, help="Received from (inclusive).")
        parser.add_argument(
            "--include-pruned",
            action="store_true",
            help="Store messages that officialaccount_prune deleted, too (default: skip them).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        deliveries = refused()
        if options["sdkappid"] is not None:
            deliveries = deliveries.filter(sdk_app_id=options["sdkappid"])
        if options["since"] is not None:
            deliveries = deliveries.filter(received_at__gte=options["since"])
        report = reprocess(deliveries, include_pruned=options["include_pruned"])
        self.stdout.write(
            f"Stored {report.stored} new message(s); {report.already_stored} were stored already; "
            f"{report.withdrawals} withdrawal(s) and {report.handed_on} other callback(s) "
            f"applied; {report.pruned} pruned message(s) not stored again; "
            f"{report.stranded_recalls} message(s) recalled by a withdrawal that came first."
        )
        for line in report.still_refused:
            self.stderr.write(self.style.WARNING(f"Still refused: {line}"))
        if report.still_refused:
            raise CommandError(
                f"{len(report.still_refused)} record(s) are still refused by the current parser."
            )
