"""The spool: valid callbacks kept on local disk while the database cannot be reached.

Tencent does not retry an after-send callback, so a callback that cannot be stored is lost
unless it is kept somewhere else before the answer goes out. Each record is one small JSON file
in ``SPOOL_DIR``:

* written whole to a temporary name, flushed and fsync'd, then renamed into place (and the
  directory fsync'd), so that a record is either complete or absent: several worker processes
  can spool at once without touching each other's files;
* checksummed, so that a record damaged afterwards is detected and set aside, never half
  imported;
* claimed by ``drain`` with an atomic rename and held with a lock, so that drains may run
  concurrently; a record is removed only after the transaction that stored it has committed.
  Storing it again (after a crash between commit and removal) is recognised by its name, kept
  on its delivery record, and stores and signals nothing twice;
* never rewritten: a failure to store it goes, with the claim still held, to the caller's
  policy (``spooling``: attempts counted beside it, then ``quarantine/``).

A temporary file that stays behind (a crash mid-write) is reported and set aside as broken.

Draining locks with ``fcntl.flock``, so the spool needs a POSIX system. ``fcntl`` is imported
where it is used, not here: the app stays importable elsewhere, and check E002 says that the
spool cannot work there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

VERSION = 1
RECORD_SUFFIX = ".json"
TEMP_SUFFIX = ".tmp"
CLAIM_SUFFIX = ".draining"
BROKEN_DIR = "broken"
# A temporary file older than this was left by a writer that died.
STALE_AFTER = 300.0
# A claim younger than this is never taken back, even if no lock holds it yet.
CLAIM_GRACE = 60.0
# Records hold whole callbacks: only the web server's user reads them (files are 0600).
DIRECTORY_MODE = 0o700


class SpoolError(Exception):
    """The spool could not keep a record: the callback is lost unless the caller fails."""


@dataclass(frozen=True)
class SpooledCallback:
    """What ingest needs to store a callback later, as it would have been stored now."""

    sdk_app_id: int
    command: str
    payload: dict[str, Any]
    query_string: str  # with Sign redacted
    remote_addr: str | None
    spooled_at: float
    record_id: str = ""
    """The record's name in the spool; kept on the delivery so that a second drain knows it."""


def write(directory: Path, callback: SpooledCallback) -> Path:
    """Keep ``callback`` durably in ``directory``; raise :class:`SpoolError` if it cannot."""
    fields = asdict(callback)
    del fields["record_id"]  # the record's name is its file's
    body = json.dumps(fields, ensure_ascii=False, sort_keys=True)
    record = json.dumps(
        {"version": VERSION, "sha256": hashlib.sha256(body.encode()).hexdigest(), "record": body},
        ensure_ascii=False,
    ).encode()
    # Names sort by time, so that a drain stores callbacks in the order they arrived.
    name = f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex}"
    try:
        return write_durably(directory, f"{name}{RECORD_SUFFIX}", record)
    except OSError as exc:
        raise SpoolError(f"could not write to the spool {directory}: {exc}") from exc


def write_durably(directory: Path, name: str, data: bytes) -> Path:
    """Write ``directory / name`` so that it is complete or absent, whoever else writes."""
    temporary = directory / f"{name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
    directory.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        written = 0
        while written < len(data):  # os.write may write less than asked (a full disk)
            written += os.write(descriptor, data[written:])
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.rename(temporary, directory / name)
    fsync_directory(directory)
    return directory / name


def fsync_directory(directory: Path) -> None:
    """Make the renames in ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def read(path: Path) -> SpooledCallback:
    """Parse and verify one record; raise ``ValueError`` if it is damaged."""
    envelope = json.loads(path.read_bytes())
    if not isinstance(envelope, dict) or envelope.get("version") != VERSION:
        raise ValueError("not a spool record of a known version")
    body = envelope.get("record")
    if not isinstance(body, str):
        raise ValueError("no record inside")
    if hashlib.sha256(body.encode()).hexdigest() != envelope.get("sha256"):
        raise ValueError("checksum mismatch")
    data = json.loads(body)
    return SpooledCallback(
        sdk_app_id=int(data["sdk_app_id"]),
        command=str(data["command"]),
        payload=dict(data["payload"]),
        query_string=str(data["query_string"]),
        remote_addr=data["remote_addr"],
        spooled_at=float(data["spooled_at"]),
        record_id=record_name(path).removesuffix(RECORD_SUFFIX),
    )


def record_name(path: Path) -> str:
    """The record's file name in the spool, whether ``path`` is the record or its claim."""
    return path.name.split(RECORD_SUFFIX)[0] + RECORD_SUFFIX


@dataclass
class DrainReport:
    stored: int = 0
    broken: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    stopped: str = ""  # why the drain ended early, leaving the rest for the next one


FailureHook = Callable[[Path, Exception, DrainReport], None]


def drain(
    directory: Path,
    store: Callable[[SpooledCallback], object],
    on_failure: FailureHook = lambda claimed, exc, report: None,
) -> DrainReport:
    """Store every record with ``store`` (which commits), then remove it.

    Each record is claimed by renaming it and locked (``flock``) while it is stored, so that
    concurrent drains never take the same record; a claim whose drain died (its lock is gone)
    is given back. Damaged records and temporary files left by a crash are moved to
    ``broken/`` and reported. A record whose ``store`` raises is reported as failed and handed,
    still claimed, to ``on_failure``, which may move it away, or end the drain there by setting
    ``report.stopped``; a record still there stays for the next drain.
    """
    report = DrainReport()
    if not directory.is_dir():
        return report
    _give_back_abandoned_claims(directory)
    for path in _half_written(directory):
        _set_aside(directory, path, report, "left half-written by a crash")
    for claimed, lock in _claim_each(directory):
        try:
            _drain_one(directory, claimed, store, on_failure, report)
        finally:
            os.close(lock)
        if report.stopped:
            break  # the records after it stay unclaimed
    return report


def _drain_one(
    directory: Path,
    claimed: Path,
    store: Callable[[SpooledCallback], object],
    on_failure: FailureHook,
    report: DrainReport,
) -> None:
    try:
        callback = read(claimed)
    except PermissionError as exc:  # not damage: this process may not read it
        logger.error("Cannot read spooled record %s: %s", claimed.name, exc)
        report.failed.append(record_name(claimed))
        _unclaim(claimed)
        return
    except (OSError, ValueError, KeyError, TypeError) as exc:
        _set_aside(directory, claimed, report, f"damaged ({exc})")
        return
    try:
        store(callback)
    except Exception as exc:
        logger.error("Could not store spooled record %s", record_name(claimed), exc_info=exc)
        try:
            on_failure(claimed, exc, report)
        finally:
            if _unclaim(claimed):  # not moved away by the hook: it stays
                report.failed.append(record_name(claimed))
        return
    claimed.unlink(missing_ok=True)
    report.stored += 1


def pending(directory: Path) -> int:
    """How many records wait in the spool, claimed by a drain or not."""
    if not directory.is_dir():
        return 0
    return sum(path.name.endswith((RECORD_SUFFIX, CLAIM_SUFFIX)) for path in directory.iterdir())


def available() -> bool:
    """Whether this platform has what the spool needs (``fcntl``'s locks: POSIX)."""
    try:
        import fcntl  # noqa: F401
    except ImportError:
        return False
    return True


def _claim_each(directory: Path) -> Iterator[tuple[Path, int]]:
    import fcntl

    for path in sorted(directory.glob(f"*{RECORD_SUFFIX}")):
        claimed = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex}{CLAIM_SUFFIX}")
        try:
            os.rename(path, claimed)  # atomic: of concurrent drains, one wins each record
            lock = os.open(claimed, os.O_RDONLY)
        except FileNotFoundError:
            continue
        fcntl.flock(lock, fcntl.LOCK_EX)
        # A claim is fresh by its time, too: between the rename and the lock it is unlocked.
        os.utime(claimed)
        yield claimed, lock


def _unclaim(claimed: Path) -> bool:
    try:
        os.rename(claimed, claimed.with_name(record_name(claimed)))
    except FileNotFoundError:
        return False
    return True


def _give_back_abandoned_claims(directory: Path) -> None:
    """Claims whose drain died: no lock holds them (locks end with their process)."""
    import fcntl

    cutoff = time.time() - CLAIM_GRACE
    for claimed in directory.glob(f"*{CLAIM_SUFFIX}"):
        if _modified(claimed) > cutoff:
            continue
        try:
            descriptor = os.open(claimed, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live drain holds it
        finally:
            os.close(descriptor)
        _unclaim(claimed)


def _half_written(directory: Path) -> list[Path]:
    """Temporary files old enough that their writer must have died."""
    cutoff = time.time() - STALE_AFTER
    return [path for path in directory.glob(f"*{TEMP_SUFFIX}") if _modified(path) < cutoff]


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return math.inf  # gone meanwhile: as if too young to touch


def _set_aside(directory: Path, path: Path, report: DrainReport, why: str) -> None:
    broken = directory / BROKEN_DIR
    broken.mkdir(mode=DIRECTORY_MODE, exist_ok=True)
    try:
        os.rename(path, broken / path.name)
    except FileNotFoundError:
        return
    logger.error("Spool record %s is %s; moved to %s", path.name, why, broken)
    report.broken.append(f"{path.name}: {why}")
