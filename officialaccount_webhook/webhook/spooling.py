"""Spooling, decided in one place: when a valid callback goes to the spool instead of the
database, and how a drain stores it later exactly once.

The spool's file format and its concurrency live in ``spool``; this module is the policy.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from django.db import DatabaseError, DataError, IntegrityError, router

from ..conf import get_settings
from ..models import CallbackDelivery
from . import spool
from .events import CallbackEvent, parse_event
from .inbound import InboundRequest
from .ingest import ingest
from .query import CallbackQuery

logger = logging.getLogger(__name__)


def store_or_spool(sdk_app_id: int, event: CallbackEvent, inbound: InboundRequest) -> None:
    """Store an authenticated callback; if the database is away, keep it in the spool.

    Raises what cannot be kept either way: an ``IntegrityError`` or ``DataError`` (about this
    callback's data, which would fail the same way when drained), a ``DatabaseError`` when no
    ``SPOOL_DIR`` is set, and :class:`spool.SpoolError` when the spool cannot be written. The
    webhook answers those with a 500, so that Tencent's log shows a failure.
    """
    try:
        ingest(sdk_app_id, event, inbound)
    except (IntegrityError, DataError):
        raise
    except DatabaseError:
        # The database is away, read-only, or mid-migration. Tencent will not send this
        # again: keep it on disk first.
        spool_dir = get_settings().spool_dir
        if spool_dir is None:
            logger.error("The database is unreachable and SPOOL_DIR is not set: callback lost")
            raise
        _spool(spool_dir, sdk_app_id, event, inbound)


def _spool(spool_dir: Path, sdk_app_id: int, event: CallbackEvent, inbound: InboundRequest) -> None:
    callback = spool.SpooledCallback(
        sdk_app_id=sdk_app_id,
        command=event.command,
        payload=event.payload,
        query_string=inbound.query.redacted_query,
        remote_addr=inbound.remote_addr,
        spooled_at=inbound.received_at.timestamp(),
    )
    path = spool.write(spool_dir, callback)
    logger.error(
        "The database is unreachable; callback %r kept in the spool as %s. Run "
        "officialaccount_drain_spool once the database is back.",
        event.command,
        path.name,
        exc_info=True,
    )


def drain(directory: Path) -> spool.DrainReport:
    """Store every record of the spool in ``directory`` (see ``spool.drain``)."""
    return spool.drain(directory, store_spooled)


def store_spooled(callback: spool.SpooledCallback) -> CallbackDelivery | None:
    """Store a callback kept in the spool while the database was away, as it would have been.

    It was authenticated and validated before it was spooled. A record drained before (a crash
    between commit and removal) is recognised by its name on the delivery record: nothing is
    stored or signalled again, and None is returned.
    """
    deliveries = CallbackDelivery.objects.using(router.db_for_write(CallbackDelivery))
    if callback.record_id and deliveries.filter(spool_record=callback.record_id).exists():
        return None
    request = InboundRequest(
        query=CallbackQuery.from_query_string(callback.query_string),
        remote_addr=callback.remote_addr,
        received_at=datetime.fromtimestamp(callback.spooled_at, tz=UTC),
        spool_record=callback.record_id,
    )
    try:
        return ingest(callback.sdk_app_id, parse_event(callback.command, callback.payload), request)
    except IntegrityError:
        if deliveries.filter(spool_record=callback.record_id).exists():
            return None  # another drain stored it meanwhile
        raise
