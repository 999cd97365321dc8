"""Delete old delivery records, and with --messages, old messages."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ...conf import get_settings
from ...messages.retention import prune
from ...models.sending import IDEMPOTENCY_KEY_RETENTION
from ..translated_help import TranslatedCommand


class Command(TranslatedCommand):
    help = gettext_noop(
        "Delete delivery records received more than DAYS days ago (default: the "
        "DELIVERY_RETENTION_DAYS setting), in small batches so that the webhook is never held "
        "up. With --messages, also delete messages received that long ago, leaving a tombstone "
        "for each. Also clears kept bodies of other products' callbacks and deletes tombstones "
        "past their own retention settings, and the send API's idempotency keys older than "
        "%(days)d days."
    )
    help_values: ClassVar[Mapping[str, object]] = {"days": IDEMPOTENCY_KEY_RETENTION.days}

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", dest="days", type=int, metavar="DAYS")
        parser.add_argument("--messages", action="store_true", help=_("Delete old messages too."))
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is None:
            days = get_settings().delivery_retention_days
        if days < 0:
            raise CommandError(_("Say how old with --older-than DAYS (0 or more)."))
        if options["batch_size"] < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        try:
            cutoff = timezone.now() - timedelta(days=days)
        except OverflowError:
            raise CommandError(
                _("%(days)d days ago is before the calendar begins.") % {"days": days}
            ) from None
        report = prune(cutoff, messages=options["messages"], batch_size=options["batch_size"])
        before = f"{cutoff:%Y-%m-%d %H:%M}"
        self.stdout.write(
            _("Deleted %(count)d delivery record(s) received before %(cutoff)s.")
            % {"count": report.deliveries, "cutoff": before}
        )
        if options["messages"]:
            self.stdout.write(
                _(
                    "Deleted %(count)d message(s) received before %(cutoff)s, each leaving a "
                    "tombstone so that backfill does not store it again."
                )
                % {"count": report.messages, "cutoff": before}
            )
        self.stdout.write(
            _(
                "Cleared the body of %(bodies)d other product's callback(s) past "
                "OTHER_COMMAND_BODY_RETENTION_DAYS; deleted %(tombstones)d tombstone(s) past "
                "TOMBSTONE_RETENTION_DAYS; deleted %(keys)d send idempotency key(s) older than "
                "%(days)d days."
            )
            % {
                "bodies": report.other_bodies,
                "tombstones": report.tombstones,
                "keys": report.idempotency_keys,
                "days": IDEMPOTENCY_KEY_RETENTION.days,
            }
        )
