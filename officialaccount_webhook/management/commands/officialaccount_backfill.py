"""Store the messages Tencent's history has and this database has not."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...messages.reconcile import ReconcileError, backfill
from ...tencent import TencentChatError
from ..arguments import add_sdk_app_id, moment
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Page through the official account's history (newest first) and store the messages "
        "that are missing, marked as backfilled. Placeholders (IsPlaceMsg) are counted, not "
        "stored. Safe to run again: nothing is stored twice."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_sdk_app_id(parser, required=True)
        parser.add_argument("--account", required=True, help=_("The official account, @TOA#_..."))
        parser.add_argument(
            "--since",
            type=moment,
            help=_(
                "Stop at messages older than this date or ISO time (default: the whole history)."
            ),
        )
        parser.add_argument(
            "--include-pruned",
            action="store_true",
            help=_("Store messages that officialaccount_prune deleted, too (default: skip them)."),
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
            raise CommandError(
                _("Tencent's history API failed: %(error)s") % {"error": exc}
            ) from None
        self.stdout.write(
            _(
                "Read %(seen)d message(s) in %(pages)d page(s): stored %(stored)d, already "
                "stored %(already_stored)d, placeholders %(placeholders)d, pruned before (not "
                "stored again) %(pruned)d."
            )
            % asdict(report)  # the placeholders are the report's fields
        )
        for problem in report.invalid:
            line = _("Skipped a history item: %(problem)s") % {"problem": problem}
            self.stderr.write(self.style.WARNING(line))
        if not report.complete:
            raise CommandError(
                _(
                    "Stopped before the end of the history: Tencent's paging went nowhere or in "
                    "a circle. What was read is stored; run again later."
                )
            )
