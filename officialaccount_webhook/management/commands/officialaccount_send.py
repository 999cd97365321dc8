"""Send a broadcast from an official account, now or at a time (``--send-at``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...compose.send import SendError, SendFailed, SentNotStored, send_message
from ...models import OfficialAccountMessage
from ..arguments import moment


class Command(BaseCommand):
    help = (
        "Send a broadcast from an official account: --text, or --elements FILE (a JSON list "
        "of {MsgType, MsgContent} elements). Prints the MsgKey and MsgTime; exits non-zero if "
        "the message was refused or not sent. With --send-at, schedules it for a task worker."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sdkappid", type=int, required=True, help="The app's SDKAppID.")
        parser.add_argument("--account", required=True, help="The official account, @TOA#_...")
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--text", help="The message's text.")
        what.add_argument(
            "--elements", type=Path, metavar="FILE", help="A JSON file: a list of elements."
        )
        parser.add_argument("--custom-data", default="", help="CloudCustomData.")
        parser.add_argument(
            "--online-only", action="store_true", help="Only to subscribers online now."
        )
        parser.add_argument(
            "--send-at",
            type=moment,
            help="Schedule it: an ISO 8601 date and time (the project's time zone without one).",
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
            self.stdout.write(
                self.style.SUCCESS(f"MsgKey {sent.msg_key} MsgTime {sent.msg_time.isoformat()}")
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Scheduled send {sent.pk} for {sent.send_at.isoformat()}; a task worker "
                    "sends it then."
                )
            )


def _read(path: Path) -> list[Any]:
    try:
        elements = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"Cannot read {path}: {exc}") from None
    if not isinstance(elements, list):
        raise CommandError(f"{path} must hold a JSON list of elements.")
    return elements
