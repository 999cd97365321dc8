"""Store the callbacks kept in the spool while the database was unreachable."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...conf import get_settings
from ...webhook import spool, spooling


class Command(BaseCommand):
    help = (
        "Store the callbacks kept in SPOOL_DIR while the database was unreachable, send their "
        "signals, and remove each record once it is committed. A record that fails "
        "SPOOL_MAX_ATTEMPTS drains is moved to quarantine/. Safe to run at any time, also "
        "several at once."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--include-pruned",
            action="store_true",
            help="Store messages that officialaccount_prune deleted meanwhile, too (default: "
            "skip them).",
        )
        parser.add_argument(
            "--retry-quarantined",
            action="store_true",
            help="First move the records in quarantine back into the spool, their attempts "
            "reset (once the cause of their failures is fixed), then drain as usual.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = get_settings().spool_dir
        if directory is None:
            raise CommandError(
                "OFFICIALACCOUNT_WEBHOOK['SPOOL_DIR'] is not set: there is no spool."
            )
        if options["retry_quarantined"]:
            released = spooling.release_quarantined(directory)
            self.stdout.write(f"Moved {len(released)} record(s) from quarantine to the spool.")
        report = spooling.drain(directory, include_pruned=options["include_pruned"])
        self.stdout.write(f"Stored {report.stored} spooled callback(s) from {directory}.")
        for line in report.broken:
            self.stderr.write(self.style.ERROR(f"Set aside in {spool.BROKEN_DIR}/: {line}"))
        if report.stopped:
            self.stderr.write(
                self.style.ERROR(
                    f"Stopped early: the database cannot store anything now ({report.stopped}). "
                    "The records wait for the next drain; no attempt was counted."
                )
            )
        folder = directory / spooling.QUARANTINE_DIR
        quarantine = spooling.quarantined(directory)
        self.stdout.write(f"{len(quarantine)} record(s) in quarantine in {folder}.")
        for name in quarantine:
            attempts = spooling.attempts(folder, name)
            self.stderr.write(
                self.style.ERROR(
                    f"In quarantine: {name}: {attempts.count} failed attempt(s); last error: "
                    f"{attempts.last_error or 'unknown'}"
                )
            )
        waiting = spool.pending(directory)
        if report.failed or report.broken or quarantine:
            retry = " (fix the cause, then run with --retry-quarantined)" if quarantine else ""
            raise CommandError(
                f"{len(report.failed)} record(s) could not be stored and wait in the spool "
                f"({waiting} in all); {len(report.broken)} damaged record(s) were set aside; "
                f"{len(quarantine)} record(s) are in quarantine{retry}."
            )
