"""Run refused callbacks through the current parser again, and store what now parses."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...webhook.reprocess import refused, reprocess
from ..arguments import add_sdk_app_id, moment
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Run the authenticated callbacks that were refused (and kept their body) through the "
        "current parser again: after an upgrade, or a fix of the settings. Stores what now "
        "parses, sends message_received once per new message, and marks each record "
        "reprocessed, so running it again stores nothing twice. Also applies withdrawals that "
        "came before their message and missed it. Exits non-zero while any record is still "
        "refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_sdk_app_id(parser, _("One app."))
        parser.add_argument("--since", type=moment, help=_("Received from (inclusive)."))
        parser.add_argument(
            "--include-pruned",
            action="store_true",
            help=_("Store messages that officialaccount_prune deleted, too (default: skip them)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        deliveries = refused()
        if options["sdkappid"] is not None:
            deliveries = deliveries.filter(sdk_app_id=options["sdkappid"])
        if options["since"] is not None:
            deliveries = deliveries.filter(received_at__gte=options["since"])
        report = reprocess(deliveries, include_pruned=options["include_pruned"])
        self.stdout.write(
            _(
                "Stored %(stored)d new message(s); %(already_stored)d were stored already; "
                "%(withdrawals)d withdrawal(s) and %(handed_on)d other callback(s) applied; "
                "%(pruned)d pruned message(s) not stored again; %(stranded_recalls)d message(s) "
                "recalled by a withdrawal that came first."
            )
            % asdict(report)  # the placeholders are the report's fields
        )
        for line in report.still_refused:
            still = _("Still refused: %(record)s") % {"record": line}
            self.stderr.write(self.style.WARNING(still))
        if report.still_refused:
            raise CommandError(
                _("%(count)d record(s) are still refused by the current parser.")
                % {"count": len(report.still_refused)}
            )
