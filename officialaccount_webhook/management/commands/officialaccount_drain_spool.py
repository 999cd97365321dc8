"""Store the callbacks kept in the spool while the database was unreachable."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...conf import SETTINGS_NAME, get_settings
from ...webhook import spool, spooling
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Store the callbacks kept in SPOOL_DIR while the database was unreachable, send their "
        "signals, and remove each record once it is committed. A record that fails "
        "SPOOL_MAX_ATTEMPTS drains is moved to quarantine/. Safe to run at any time, also "
        "several at once."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--include-pruned",
            action="store_true",
            help=_(
                "Store messages that officialaccount_prune deleted meanwhile, too (default: "
                "skip them)."
            ),
        )
        parser.add_argument(
            "--retry-quarantined",
            action="store_true",
            help=_(
                "First move the records in quarantine back into the spool, their attempts "
                "reset (once the cause of their failures is fixed), then drain as usual."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = get_settings().spool_dir
        if directory is None:
            raise CommandError(
                _("%(setting)s['SPOOL_DIR'] is not set: there is no spool.")
                % {"setting": SETTINGS_NAME}
            )
        if options["retry_quarantined"]:
            released = spooling.release_quarantined(directory)
            self.stdout.write(
                _("Moved %(count)d record(s) from quarantine to the spool.")
                % {"count": len(released)}
            )
        report = spooling.drain(directory, include_pruned=options["include_pruned"])
        self.stdout.write(
            _("Stored %(count)d spooled callback(s) from %(path)s.")
            % {"count": report.stored, "path": directory}
        )
        for line in report.broken:
            aside = _("Set aside in %(folder)s/: %(record)s")
            self.stderr.write(
                self.style.ERROR(aside % {"folder": spool.BROKEN_DIR, "record": line})
            )
        if report.stopped:
            stopped = _(
                "Stopped early: the database cannot store anything now (%(error)s). The records "
                "wait for the next drain; no attempt was counted."
            )
            self.stderr.write(self.style.ERROR(stopped % {"error": report.stopped}))
        folder = directory / spooling.QUARANTINE_DIR
        quarantine = spooling.quarantined(directory)
        self.stdout.write(
            _("%(count)d record(s) in quarantine in %(path)s.")
            % {"count": len(quarantine), "path": folder}
        )
        for name in quarantine:
            attempts = spooling.attempts(folder, name)
            line = _(
                "In quarantine: %(name)s: %(count)d failed attempt(s); last error: %(error)s"
            ) % {
                "name": name,
                "count": attempts.count,
                "error": attempts.last_error or _("unknown"),
            }
            self.stderr.write(self.style.ERROR(line))
        waiting = spool.pending(directory)
        if report.failed or report.broken or quarantine:
            counts = {
                "failed": len(report.failed),
                "waiting": waiting,
                "broken": len(report.broken),
                "quarantined": len(quarantine),
            }
            if quarantine:
                message = _(
                    "%(failed)d record(s) could not be stored and wait in the spool (%(waiting)d "
                    "in all); %(broken)d damaged record(s) were set aside; %(quarantined)d "
                    "record(s) are in quarantine (fix the cause, then run with "
                    "--retry-quarantined)."
                )
            else:
                message = _(
                    "%(failed)d record(s) could not be stored and wait in the spool (%(waiting)d "
                    "in all); %(broken)d damaged record(s) were set aside; %(quarantined)d "
                    "record(s) are in quarantine."
                )
            raise CommandError(message % counts)
