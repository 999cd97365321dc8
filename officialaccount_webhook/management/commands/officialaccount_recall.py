"""Recall official-account messages by MsgKey through Tencent's REST API, or check the recalls
whose outcome is unknown (``--check``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...messages.recall import RecallError, RecallOutcome, recall_messages
from ...messages.recall_check import check_recalls, unknown_recalls
from ...models import MessageRecall
from ..arguments import add_sdk_app_id
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Recall official-account messages by MsgKey. Prints each key's result; exits non-zero "
        "if any key failed. With --check, asks Tencent's history whether the messages whose "
        "recall timed out (outcome unknown) were recalled: all of them, or those of --sdkappid, "
        "--account and the MsgKeys given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("msg_keys", nargs="*", metavar="MSGKEY")
        add_sdk_app_id(parser, _("The app's SDKAppID."))
        parser.add_argument("--account", help=_("The official account, @TOA#_..."))
        parser.add_argument("--reason", default="", help=_("Optional; at most 100 bytes."))
        parser.add_argument(
            "--check",
            action="store_true",
            help=_("Check the recalls whose outcome is unknown, instead of recalling."),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcomes = self._check(options) if options["check"] else self._recall(options)
        except RecallError as exc:
            raise CommandError(str(exc)) from None
        for outcome in outcomes:
            # One line per key, "MSGKEY: status (detail)": the status is the API's word.
            detail = outcome.detail or f"RetCode {outcome.ret_code}"
            line = f"{outcome.msg_key}: {outcome.status} ({detail})"
            self.stdout.write(self.style.SUCCESS(line) if outcome.ok else self.style.ERROR(line))
        failed = sum(not outcome.ok for outcome in outcomes)
        if failed:
            raise CommandError(
                _("%(failed)d of %(total)d keys were not recalled.")
                % {"failed": failed, "total": len(outcomes)}
            )

    def _recall(self, options: dict[str, Any]) -> Sequence[RecallOutcome]:
        if options["sdkappid"] is None or not options["account"] or not options["msg_keys"]:
            raise CommandError(_("Give --sdkappid, --account and at least one MSGKEY."))
        targets = [(options["sdkappid"], options["account"], key) for key in options["msg_keys"]]
        # No web server times a command out: no time budget, each call within its timeouts.
        return recall_messages(
            targets,
            reason=options["reason"],
            requested_by="command",
            source=MessageRecall.Source.COMMAND,
            unbounded=True,
        )

    def _check(self, options: dict[str, Any]) -> Sequence[RecallOutcome]:
        messages = unknown_recalls()
        if options["sdkappid"] is not None:
            messages = messages.filter(sdk_app_id=options["sdkappid"])
        if options["account"]:
            messages = messages.filter(official_account=options["account"])
        if options["msg_keys"]:
            messages = messages.filter(msg_key__in=options["msg_keys"])
        outcomes = check_recalls(
            messages.order_by("recall_unknown_at", "id"),
            requested_by="command (check)",
            source=MessageRecall.Source.COMMAND,
            unbounded=True,
        )
        if not outcomes:
            self.stdout.write(_("No recall with an unknown outcome to check."))
        return outcomes
