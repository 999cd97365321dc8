"""Send message_received again for stored messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...models import OfficialAccountMessage
from ...notify.send import send_message_received
from ..arguments import add_sdk_app_id, moment
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Send message_received again for the selected stored messages, oldest first. A receiver "
        "that raises is recorded on its message and the replay goes on; prints 'N of M' sent "
        "without a receiver failing, and exits non-zero if any failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--failed", action="store_true", help=_("Messages whose receiver failed.")
        )
        parser.add_argument(
            "--unsignalled",
            action="store_true",
            help=_("Messages stored over a minute ago whose signal never went out (a crash)."),
        )
        parser.add_argument("--since", type=moment, help=_("Message time from (inclusive)."))
        parser.add_argument("--until", type=moment, help=_("Message time before (exclusive)."))
        parser.add_argument("--account", help=_("One official account."))
        parser.add_argument("--msg-key", dest="msg_key", help=_("One MsgKey."))
        add_sdk_app_id(parser, _("One app."))

    def handle(self, *args: Any, **options: Any) -> None:
        messages = OfficialAccountMessage.objects.all()
        if options["failed"]:
            messages = messages.filter(receiver_failed_at__isnull=False)
        if options["unsignalled"]:
            # A minute leaves in-flight requests the time to send their own signal.
            settled = timezone.now() - timedelta(minutes=1)
            messages = messages.filter(signalled_at__isnull=True, received_at__lt=settled)
        messages = messages.matching(
            sdk_app_id=options["sdkappid"],
            official_account=options["account"],
            msg_key=options["msg_key"],
            since=options["since"],
            until=options["until"],
        )
        total = sent = 0
        # iterator(): bounded memory, however many messages are selected.
        for message in messages.order_by("msg_time", "id").iterator(chunk_size=500):
            total += 1
            sent += send_message_received(message)
        # "N of M": sent without a receiver failing, of the selected.
        self.stdout.write(_("%(sent)d of %(total)d") % {"sent": sent, "total": total})
        if sent != total:
            raise CommandError(
                _("%(count)d message(s) had a receiver fail; see receiver_error.")
                % {"count": total - sent}
            )
