"""Build or refresh the rollup of messages per account and day that the admin's chart reads."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.db import DEFAULT_DB_ALIAS
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...volume import refresh
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Count the stored messages per account and local day (TIME_ZONE) for the admin's "
        "chart: every closed day the first time, then the days that have closed since and the "
        "days that messages were stored for late (backfills, spool drains). A month of days "
        "per transaction, in bounded memory: safe to interrupt and to run again, from cron "
        "every few minutes."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help=_("Count every day again from scratch (after deleting messages outside Django)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        using = options["database"]
        verbose = options["verbosity"] > 1
        progress = self.stdout.write if verbose else None
        report = refresh(using, progress=progress, rebuild=options["rebuild"])
        if report.started_over:
            self.stdout.write(
                _("Started the rollup in %(zone)s (TIME_ZONE).")
                % {"zone": timezone.get_default_timezone_name()}
            )
        self.stdout.write(
            _(
                "Counted %(new)d new day(s) and %(again)d day(s) again; the rollup holds every "
                "day before %(until)s."
            )
            % {"new": report.counted, "again": report.recounted, "until": report.counted_until}
        )
