"""Recall official-account messages by MsgKey through Tencent's REST API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...messages.recall import RecallError, recall_messages
from ...models import MessageRecall


class Command(BaseCommand):
    help = (
        "Recall official-account messages by MsgKey. Prints each key's result; exits non-zero "
        "if any key failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("msg_keys", nargs="+", metavar="MSGKEY")
        parser.add_argument("--sdkappid", type=int, required=True, help="The app's SDKAppID.")
        parser.add_argument("--account", required=True, help="The official account, @TOA#_...")
        parser.add_argument("--reason", default="", help="Optional; at most 100 bytes.")

    def handle(self, *args: Any, **options: Any) -> None:
        targets = [(options["sdkappid"], options["account"], key) for key in options["msg_keys"]]
        try:
            outcomes = recall_messages(
                targets,
                reason=options["reason"],
                requested_by="command",
                source=MessageRecall.Source.COMMAND,
            )
        except RecallError as exc:
            raise CommandError(str(exc)) from None
        for outcome in outcomes:
            detail = outcome.detail or f"RetCode {outcome.ret_code}"
            line = f"{outcome.msg_key}: {outcome.status} ({detail})"
            self.stdout.write(self.style.SUCCESS(line) if outcome.ok else self.style.ERROR(line))
        failed = sum(not outcome.ok for outcome in outcomes)
        if failed:
            raise CommandError(f"{failed} of {len(outcomes)} keys were not recalled.")
