"""Delete old delivery records, and with --messages, old messages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ...conf import get_settings
from ...messages.retention import prune
from ...models.sending import IDEMPOTENCY_KEY_RETENTION


class Command(BaseCommand):
    help = (
        "Delete delivery records received more than DAYS days ago (default: the "
        "DELIVERY_RETENTION_DAYS setting), in small batches so that the webhook is never held "
        "up. With --messages, also delete messages received that long ago, leaving a tombstone "
        "for each. Also clears kept bodies of other products' callbacks and deletes tombstones "
        "past their own retention settings, and the send API's idempotency keys older than "
        f"{IDEMPOTENCY_KEY_RETENTION.days} days."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", dest="days", type=int, metavar="DAYS")
        parser.add_argument("--messages", action="store_true", help="Delete old messages too.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is None:
            days = get_settings().delivery_retention_days
        if days < 0:
            raise CommandError("Say how old with --older-than DAYS (0 or more).")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            cutoff = timezone.now() - timedelta(days=days)
        except OverflowError:
            raise CommandError(f"{days} days ago is before the calendar begins.") from None
        report = prune(cutoff, messages=options["messages"], batch_size=options["batch_size"])
        self.stdout.write(
            f"Deleted {report.deliveries} delivery record(s) received before "
            f"{cutoff:%Y-%m-%d %H:%M}."
        )
        if options["messages"]:
            self.stdout.write(
                f"Deleted {report.messages} message(s) received before {cutoff:%Y-%m-%d %H:%M}, "
                "each leaving a tombstone so that backfill does not store it again."
            )
        self.stdout.write(
            f"Cleared the body of {report.other_bodies} other product's callback(s) past "
            "OTHER_COMMAND_BODY_RETENTION_DAYS; deleted "
            f"{report.tombstones} tombstone(s) past TOMBSTONE_RETENTION_DAYS; deleted "
            f"{report.idempotency_keys} send idempotency key(s) older than "
            f"{IDEMPOTENCY_KEY_RETENTION.days} days."
        )
