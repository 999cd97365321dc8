"""Send a broadcast from an official account, now or at a time (``--send-at``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...compose.send import SendError, SendFailed, SentNotStored, send_message
from ...models import OfficialAccountMessage
from ..arguments import add_sdk_app_id, moment
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Send a broadcast from an official account: --text, or --elements FILE (a JSON list "
        "of {MsgType, MsgContent} elements). Prints the MsgKey and MsgTime; exits non-zero if "
        "the message was refused or not sent. With --send-at, schedules it for a task worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_sdk_app_id(parser, _("The app's SDKAppID."), required=True)
        parser.add_argument("--account", required=True, help=_("The official account, @TOA#_..."))
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--text", help=_("The message's text."))
        what.add_argument(
            "--elements",
            type=Path,
            metavar="FILE",
            help=_("A JSON file: a list of elements."),
        )
        parser.add_argument("--custom-data", default="", help=_("CloudCustomData."))
        parser.add_argument(
            "--online-only",
            action="store_true",
            help=_("Only to subscribers online now."),
        )
        parser.add_argument(
            "--send-at",
            type=moment,
            help=_("Schedule it: an ISO 8601 date and time (the project's time zone without one)."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        elements = [options["text"]] if options["text"] is not None else _read(options["elements"])
        try:
            sent = send_message(
                options["sdkappid"],
                options["account"],
                elements,
                cloud_custom_data=options["custom_data"],
                online_only=options["online_only"],
                sent_by="command",
                send_at=options["send_at"],
            )
        except (SendError, SendFailed, SentNotStored) as exc:
            # SentNotStored: sent, not stored here; its message names the MsgKey.
            raise CommandError(str(exc)) from None
        if isinstance(sent, OfficialAccountMessage):
            # Tencent's names and values, as scripts read them: not translated.
            self.stdout.write(
                self.style.SUCCESS(f"MsgKey {sent.msg_key} MsgTime {sent.msg_time.isoformat()}")
            )
        else:
            scheduled = _("Scheduled send %(id)d for %(when)s; a task worker sends it then.")
            self.stdout.write(
                self.style.SUCCESS(scheduled % {"id": sent.pk, "when": sent.send_at.isoformat()})
            )


def _read(path: Path) -> list[Any]:
    try:
        elements = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(
            _("Cannot read %(path)s: %(error)s") % {"path": path, "error": exc}
        ) from None
    if not isinstance(elements, list):
        raise CommandError(_("%(path)s must hold a JSON list of elements.") % {"path": path})
    return elements
