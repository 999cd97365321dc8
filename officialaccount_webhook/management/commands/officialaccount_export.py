"""Export stored messages as CSV or JSON Lines, with the admin list's filters, streamed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...elements import KNOWN_TYPES
from ...export.formats import FORMATS, export
from ...models import OfficialAccountMessage
from ..arguments import add_sdk_app_id, moment
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Write the stored messages that match the filters (those of the admin's message list) "
        "as CSV or JSON Lines, newest first, to a file or standard output. Streamed: memory "
        "stays the same however many messages match."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=sorted(FORMATS), default="csv")
        parser.add_argument("--output", "-o", help=_("A file to write; standard output if absent."))
        add_sdk_app_id(parser, _("One app."))
        parser.add_argument("--account", help=_("One official account (exact ID)."))
        parser.add_argument("--since", type=moment, help=_("Message time from (inclusive)."))
        parser.add_argument("--until", type=moment, help=_("Message time before (exclusive)."))
        parser.add_argument("--text", help=_("Words from the text, as the admin's search."))
        parser.add_argument("--element-type", choices=KNOWN_TYPES, help=_("Holding this MsgType."))
        parser.add_argument(
            "--online-only",
            choices=("yes", "no"),
            help=_("Only online-only messages (yes), or only the others (no)."),
        )
        parser.add_argument(
            "--recalled",
            choices=("yes", "no"),
            help=_("Only recalled messages, or only the others."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        messages = OfficialAccountMessage.objects.matching(
            sdk_app_id=options["sdkappid"],
            official_account=options["account"],
            since=options["since"],
            until=options["until"],
            text=options["text"],
        )
        if options["element_type"]:
            messages = messages.with_element_type(options["element_type"])
        if options["online_only"]:
            messages = messages.filter(online_only=options["online_only"] == "yes")
        if options["recalled"]:
            messages = messages.filter(recalled_at__isnull=options["recalled"] == "no")
        chunks = export(messages.order_by("-msg_time", "-id"), options["format"])
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                out.writelines(chunks)
            return
        for chunk in chunks:
            self.stdout.write(chunk, ending="")
