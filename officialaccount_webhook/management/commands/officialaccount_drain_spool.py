"""Store the callbacks kept in the spool while the database was unreachable."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...conf import get_settings
from ...webhook import spool, spooling


class Command(BaseCommand):
    help = (
        "Store the callbacks kept in SPOOL_DIR while the database was unreachable, send their "
        "signals, and remove each record once it is committed. Safe to run at any time, also "
        "several at once."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = get_settings().spool_dir
        if directory is None:
            raise CommandError(
                "OFFICIALACCOUNT_WEBHOOK['SPOOL_DIR'] is not set: there is no spool."
            )
        report = spooling.drain(directory)
        self.stdout.write(f"Stored {report.stored} spooled callback(s) from {directory}.")
        for line in report.broken:
            self.stderr.write(self.style.ERROR(f"Set aside in {spool.BROKEN_DIR}/: {line}"))
        waiting = spool.pending(directory)
        if report.failed or report.broken:
            raise CommandError(
                f"{len(report.failed)} record(s) could not be stored and wait in the spool "
                f"({waiting} in all); {len(report.broken)} damaged record(s) were set aside."
            )
