"""Report the sequence numbers missing among an official account's stored messages."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...messages.reconcile import find_gaps
from ..arguments import add_sdk_app_id
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Report the sequence numbers (MsgKey is Seq_1_ServerTime) missing between the first and "
        "the last stored message of an official account. Exits 0 either way."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_sdk_app_id(parser, required=True)
        parser.add_argument("--account", required=True, help=_("The official account, @TOA#_..."))

    def handle(self, *args: Any, **options: Any) -> None:
        report = find_gaps(options["sdkappid"], options["account"])
        if report.first is None:
            self.stdout.write(_("No messages with a sequence number are stored for this account."))
            return
        self.stdout.write(
            _("Stored %(count)d message(s), sequence %(first)d to %(last)d.")
            % {"count": report.stored, "first": report.first, "last": report.last}
        )
        if not report.missing:
            self.stdout.write(self.style.SUCCESS(_("No gaps.")))
            return
        # The ranges stay as written, for scripts: "3, 7-9".
        ranges = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in report.missing)
        missing = _("Missing %(count)d: %(ranges)s")
        self.stdout.write(
            self.style.WARNING(missing % {"count": report.missing_count, "ranges": ranges})
        )
