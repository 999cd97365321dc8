"""Report the sequence numbers missing among an official account's stored messages."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...messages.reconcile import find_gaps


class Command(BaseCommand):
    help = (
        "Report the sequence numbers (MsgKey is Seq_1_ServerTime) missing between the first and "
        "the last stored message of an official account. Exits 0 either way."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sdkappid", type=int, required=True)
        parser.add_argument("--account", required=True, help="The official account, @TOA#_...")

    def handle(self, *args: Any, **options: Any) -> None:
        report = find_gaps(options["sdkappid"], options["account"])
        if report.first is None:
            self.stdout.write("No messages with a sequence number are stored for this account.")
            return
        self.stdout.write(
            f"Stored {report.stored} message(s), sequence {report.first} to {report.last}."
        )
        if not report.missing:
            self.stdout.write(self.style.SUCCESS("No gaps."))
            return
        ranges = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in report.missing)
        self.stdout.write(self.style.WARNING(f"Missing {report.missing_count}: {ranges}"))
