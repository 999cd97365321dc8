"""Spooling, decided in one place: when a valid callback goes to the spool instead of the
database, how a drain stores it later exactly once, and what becomes of a record that cannot
be stored.

The spool's file format and its concurrency live in ``spool``; this module is the policy.

A drain's failure to store a record is the database's or the record's
(``database_unavailable``). The database's counts nothing and ends the drain: during an outage
every record would fail alike, and no good record may be quarantined for it. The record's
counts one attempt, kept beside it in ``<name>.attempts`` (JSON: the count and the last error,
written durably like the records, which are never rewritten: bookkeeping cannot damage a
callback). Only the drain that holds the record's claim reads or writes that file, so
concurrent drains count each failure once. At ``SPOOL_MAX_ATTEMPTS`` the record and that file
move to ``quarantine/``, which no drain looks into, until ``release_quarantined``
(``officialaccount_drain_spool --retry-quarantined``) moves the records back, their count
reset. A lost or unreadable attempts file resets the count: it can delay a quarantine, never
lose a record.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, router

from .. import log
from ..conf import get_settings
from ..log import redact_sign
from ..messages import tombstones
from ..models import CallbackDelivery
from . import spool
from .events import CallbackEvent, SentMessage, parse_event
from .inbound import InboundRequest
from .ingest import ingest
from .query import CallbackQuery

logger = logging.getLogger(__name__)

QUARANTINE_DIR = "quarantine"
ATTEMPTS_SUFFIX = ".attempts"
# Enough of an error to recognise it; a database's message can quote a whole row.
MAX_ERROR_LENGTH = 500


def store_or_spool(sdk_app_id: int, event: CallbackEvent, inbound: InboundRequest) -> None:
    """Store an authenticated callback; if the database is away, keep it in the spool.

    Raises what cannot be kept either way: an ``IntegrityError`` or ``DataError`` (about this
    callback's data, which would fail the same way when drained), a ``DatabaseError`` when no
    ``SPOOL_DIR`` is set, and :class:`spool.SpoolError` when the spool cannot be written. The
    webhook answers those with a 500, so that Tencent's log shows a failure.
    """
    try:
        log.note(outcome=ingest(sdk_app_id, event, inbound).outcome)
    except (IntegrityError, DataError):
        raise
    except (DatabaseError, InterfaceError):
        # The database is away, read-only, or mid-migration. Tencent will not send this
        # again: keep it on disk first. InterfaceError (a connection closed under us) is not a
        # DatabaseError in Django's hierarchy, and the drain counts it as transient too.
        spool_dir = get_settings().spool_dir
        if spool_dir is None:
            log.note(outcome="lost")
            logger.error("The database is unreachable and SPOOL_DIR is not set: callback lost")
            raise
        log.note(outcome="spooled")
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


def drain(
    directory: Path,
    store: Callable[[spool.SpooledCallback], object] | None = None,
    *,
    include_pruned: bool = False,
) -> spool.DrainReport:
    """Store every record of the spool in ``directory`` with ``store`` (``store_spooled``
    unless a test says otherwise; see ``spool.drain``), counting the failed attempts of each
    and quarantining it at ``SPOOL_MAX_ATTEMPTS``."""
    store_one = store or partial(store_spooled, include_pruned=include_pruned)

    def stored(callback: spool.SpooledCallback) -> object:
        msg_key = callback.payload.get("MsgKey")
        with log.callback_fields(
            sdk_app_id=callback.sdk_app_id, command=callback.command, msg_key=msg_key
        ):
            result = store_one(callback)
        # Stored (or found stored): its failures are over. Failing to forget them must not fail
        # a stored record; a count left behind is never read again (its name is not reused).
        with contextlib.suppress(OSError):
            _attempts_path(directory, callback.record_id).unlink(missing_ok=True)
        return result

    failed = partial(_failed, get_settings().spool_max_attempts)
    return spool.drain(directory, stored, failed)


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says that the database cannot store anything now, rather than that this
    record cannot be stored."""
    # The line store_or_spool draws, for the same reason: the record was spooled because of
    # such an error, and counting it in a drain would quarantine every good record of an outage
    # that outlasts SPOOL_MAX_ATTEMPTS drains. OperationalError (refused, dropped, locked; on
    # SQLite also "no such table") and InterfaceError (a connection closed; not a DatabaseError
    # in Django's tree) are the connection's. InternalError (a standby's read-only transaction
    # on PostgreSQL), ProgrammingError (an undefined table mid-migration, a revoked privilege)
    # and NotSupportedError come from the statement, the schema or the server, the same for
    # every record: a database reports a bad value as a DataError (SQLSTATE class 22) and a
    # conflicting one as an IntegrityError (class 23). Those, and any other exception (a parse
    # error), are the record's. The price of this side: a record that did cause one of the
    # former would hold every drain at itself, loudly (logged; the command fails), instead of
    # going to quarantine; the other side's price is good records quarantined by a migration.
    return isinstance(exc, (DatabaseError, InterfaceError)) and not isinstance(
        exc, (IntegrityError, DataError)
    )


@dataclass(frozen=True)
class Attempts:
    """The failed attempts to store a record so far, and the last one's error."""

    count: int = 0
    last_error: str = ""


def attempts(folder: Path, name: str) -> Attempts:
    """The attempts kept beside record ``name`` in ``folder``: the spool, or its quarantine."""
    try:
        data = json.loads(_attempts_path(folder, name).read_bytes())
        return Attempts(count=int(data["attempts"]), last_error=str(data["last_error"]))
    except FileNotFoundError:
        return Attempts()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("Unreadable attempts file for spool record %s: %s", name, exc)
        return Attempts()


def describe(exc: BaseException) -> str:
    """An error in one line of bounded length, for the attempts file, the logs and reports.

    Records hold only redacted query strings, but an error may quote anything it was given: a
    ``Sign`` in it is redacted too, so that no report can show one."""
    text = redact_sign(re.sub(r"\s+", " ", f"{type(exc).__name__}: {exc}").strip())
    return text if len(text) <= MAX_ERROR_LENGTH else f"{text[: MAX_ERROR_LENGTH - 1]}…"


def quarantined(directory: Path) -> list[str]:
    """The records in quarantine, oldest first: one listing, cheap enough for a system check."""
    with contextlib.suppress(OSError):  # no quarantine yet, or unreadable: nothing to list
        folder = directory / QUARANTINE_DIR
        return sorted(path.name for path in folder.glob(f"*{spool.RECORD_SUFFIX}"))
    return []


def release_quarantined(directory: Path) -> list[str]:
    """Move every record in quarantine back into the spool, its attempts forgotten."""
    folder = directory / QUARANTINE_DIR
    released = []
    for name in quarantined(directory):
        # Forget first: a count that a crash left in the spool must not come back to it.
        _attempts_path(directory, name).unlink(missing_ok=True)
        try:
            os.rename(folder / name, directory / name)
        except FileNotFoundError:
            continue  # another run released it
        _attempts_path(folder, name).unlink(missing_ok=True)
        released.append(name)
    if released:
        spool.fsync_directory(directory)
        spool.fsync_directory(folder)
    return released


def _failed(max_attempts: int, claimed: Path, exc: Exception, report: spool.DrainReport) -> None:
    """A drained record failed to store; ``spool.drain`` holds its claim while this runs."""
    if database_unavailable(exc):
        report.stopped = describe(exc)
        logger.error(
            "The database cannot store anything now (%s): the drain stops, and its records wait "
            "for the next one, no attempt counted",
            report.stopped,
        )
        return
    directory, name = claimed.parent, spool.record_name(claimed)
    attempt = Attempts(attempts(directory, name).count + 1, describe(exc))
    try:
        if attempt.count < max_attempts:
            _write_attempts(directory, name, attempt)
            logger.warning(
                "Spool record %s failed %d of %d attempts", name, attempt.count, max_attempts
            )
            return
        folder = directory / QUARANTINE_DIR
        # Its last error first: a record is never in quarantine without it. (A crash before the
        # rename leaves an attempts file there alone, which the next quarantine overwrites.)
        _write_attempts(folder, name, attempt)
        os.rename(claimed, folder / name)
        spool.fsync_directory(folder)
        spool.fsync_directory(directory)
        _attempts_path(directory, name).unlink(missing_ok=True)
    except OSError as error:  # uncounted; the record stays in the spool
        logger.error("Could not count a failed attempt of spool record %s: %s", name, error)
        return
    report.quarantined.append(name)
    logger.error(
        "Spool record %s failed %d times (last: %s); moved to %s. Fix the cause, then run "
        "officialaccount_drain_spool --retry-quarantined.",
        name,
        attempt.count,
        attempt.last_error,
        folder,
    )


def _write_attempts(folder: Path, name: str, attempt: Attempts) -> None:
    data = {"attempts": attempt.count, "last_error": attempt.last_error}
    spool.write_durably(folder, _attempts_path(folder, name).name, json.dumps(data).encode())


def _attempts_path(folder: Path, name: str) -> Path:
    """Where the attempts of record ``name`` (its file name, or its ID) are kept in ``folder``."""
    return folder / f"{name.removesuffix(spool.RECORD_SUFFIX)}{ATTEMPTS_SUFFIX}"


def store_spooled(
    callback: spool.SpooledCallback, *, include_pruned: bool = False
) -> CallbackDelivery | None:
    """Store a callback kept in the spool while the database was away, as it would have been.

    It was authenticated and validated before it was spooled. A record drained before (a crash
    between commit and removal) is recognised by its name on the delivery record: nothing is
    stored or signalled again, and None is returned. So is a message pruned meanwhile (its
    tombstone says so), unless ``include_pruned``.
    """
    using = router.db_for_write(CallbackDelivery)
    deliveries = CallbackDelivery.objects.using(using)
    if callback.record_id and deliveries.filter(spool_record=callback.record_id).exists():
        return None
    event = parse_event(callback.command, callback.payload)
    if (
        isinstance(event, SentMessage)
        and not include_pruned
        and tombstones.is_pruned(using, callback.sdk_app_id, event.official_account, event.msg_key)
    ):
        logger.warning(
            "Spool record %s holds message %s, which was pruned: not stored again",
            callback.record_id,
            event.msg_key,
        )
        return None
    request = InboundRequest(
        query=CallbackQuery.from_query_string(callback.query_string),
        remote_addr=callback.remote_addr,
        received_at=datetime.fromtimestamp(callback.spooled_at, tz=UTC),
        spool_record=callback.record_id,
    )
    try:
        return ingest(callback.sdk_app_id, event, request)
    except IntegrityError:
        if deliveries.filter(spool_record=callback.record_id).exists():
            return None  # another drain stored it meanwhile
        raise
