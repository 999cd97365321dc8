"""The spool: nothing valid is lost while the database is away, and nothing is stored twice."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    NotSupportedError,
    OperationalError,
    ProgrammingError,
    connection,
)
from django.test import Client, override_settings
from django.utils import timezone

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.signals import message_received
from officialaccount_webhook.webhook import spool, spooling
from officialaccount_webhook.webhook.events import CallbackEvent, parse_event
from officialaccount_webhook.webhook.wire import AFTER_SEND_MSG, MalformedCallback
from tests.conftest import (
    TOKEN,
    callback_query,
    callback_url,
    element_samples,
    sample,
    subprocess_database_url,
)
from tests.settings import SIGNED_APP


def record(n: int = 0) -> spool.SpooledCallback:
    return spool.SpooledCallback(
        sdk_app_id=SIGNED_APP,
        command=AFTER_SEND_MSG,
        payload=sample("text") | {"MsgKey": f"{n}_1_1717000000"},
        query_string="SdkAppid=1400000000&ClientIP=203.0.113.7&Sign=%5Bredacted%5D",
        remote_addr="198.51.100.4",
        spooled_at=1_717_000_000.5,
    )


# ------------------------------------------------------------------ the file format


def test_a_record_reads_back_as_written(tmp_path: Path) -> None:
    path = spool.write(tmp_path, record())
    assert path.suffix == ".json"
    read_back = spool.read(path)
    assert read_back.record_id == path.name.removesuffix(".json")
    assert replace(read_back, record_id="") == record()
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert list(tmp_path.glob("*.tmp")) == []


def test_damaged_and_half_written_records_are_set_aside_never_imported(tmp_path: Path) -> None:
    good = spool.write(tmp_path, record(1))
    damaged = spool.write(tmp_path, record(2))
    damaged.write_text(damaged.read_text().replace("1717000000", "1717000001", 1))
    truncated = spool.write(tmp_path, record(3))
    truncated.write_bytes(truncated.read_bytes()[:50])
    half_written = tmp_path / "00000000000000000001-1-dead.tmp"
    half_written.write_text('{"version": 1, "sha')
    old = time.time() - spool.STALE_AFTER - 1
    os.utime(half_written, (old, old))
    stored: list[spool.SpooledCallback] = []
    report = spool.drain(tmp_path, stored.append)
    assert [callback.payload["MsgKey"] for callback in stored] == ["1_1_1717000000"]
    assert report.stored == 1
    reasons = [line.split(": ", 1)[1] for line in report.broken]
    assert "left half-written by a crash" in reasons
    assert "damaged (checksum mismatch)" in reasons
    assert sum(reason.startswith("damaged (") for reason in reasons) == 2
    assert len(list((tmp_path / "broken").iterdir())) == 3
    assert not good.exists()
    assert spool.pending(tmp_path) == 0


def test_a_fresh_temporary_file_is_left_alone(tmp_path: Path) -> None:
    writing = tmp_path / "00000000000000000001-1-busy.tmp"
    writing.write_text("{")  # another process is still writing it
    report = spool.drain(tmp_path, lambda callback: None)
    assert report.broken == []
    assert writing.exists()


def test_a_record_that_cannot_be_stored_stays(tmp_path: Path) -> None:
    spool.write(tmp_path, record())

    def database_down(callback: spool.SpooledCallback) -> None:
        raise ConnectionError("still down")

    report = spool.drain(tmp_path, database_down)
    assert (report.stored, len(report.failed)) == (0, 1)
    assert spool.pending(tmp_path) == 1
    assert spool.drain(tmp_path, lambda callback: None).stored == 1


def test_a_claim_abandoned_by_a_dead_drain_is_taken_back(tmp_path: Path) -> None:
    path = spool.write(tmp_path, record())
    claimed = path.with_name(f"{path.name}.999.abc{spool.CLAIM_SUFFIX}")
    os.rename(path, claimed)
    old = time.time() - spool.STALE_AFTER - 1
    os.utime(claimed, (old, old))
    stored: list[spool.SpooledCallback] = []
    assert spool.drain(tmp_path, stored.append).stored == 1
    assert [replace(callback, record_id="") for callback in stored] == [record()]


def test_many_writers_at_once(tmp_path: Path) -> None:
    def write_many(start: int) -> None:
        for n in range(start, start + 50):
            spool.write(tmp_path, record(n))

    threads = [threading.Thread(target=write_many, args=(n * 50,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert spool.pending(tmp_path) == 400
    keys = {spool.read(p).payload["MsgKey"] for p in tmp_path.glob("*.json")}
    assert len(keys) == 400


def test_concurrent_drains_take_each_record_once(tmp_path: Path) -> None:
    for n in range(200):
        spool.write(tmp_path, record(n))
    taken: list[str] = []
    lock = threading.Lock()

    def store(callback: spool.SpooledCallback) -> None:
        with lock:
            taken.append(callback.payload["MsgKey"])

    threads = [threading.Thread(target=spool.drain, args=(tmp_path, store)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(f"{n}_1_1717000000" for n in range(200))
    assert spool.pending(tmp_path) == 0


def test_an_unwritable_spool_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(spool.SpoolError, match="could not write to the spool"):
        spool.write(blocker / "spool", record())


# ------------------------------------------------------------------ a real outage


def spool_conf(directory: Path, **more: object) -> dict[str, object]:
    return {"APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}}, "SPOOL_DIR": str(directory), **more}


@pytest.fixture
def spool_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "spool"
    with override_settings(OFFICIALACCOUNT_WEBHOOK=spool_conf(directory)):
        yield directory


@contextmanager
def database_unreachable() -> Iterator[None]:
    """Point the connection somewhere no database answers, for real: nothing is mocked."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict.update(HOST="127.0.0.1", PORT="9")  # discard port: refused
    else:
        connection.settings_dict["NAME"] = "/nonexistent/officialaccount/db.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@contextmanager
def read_only_database() -> Iterator[None]:
    """A PostgreSQL that answers but refuses writes, as a standby does after a failover."""
    saved = dict(connection.settings_dict)
    connection.close()
    options = dict(saved.get("OPTIONS", {}))
    options["options"] = "-c default_transaction_read_only=on"
    connection.settings_dict["OPTIONS"] = options
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


def post(body: Any, query: dict[str, str] | None = None) -> Any:
    data = body if isinstance(body, bytes) else json.dumps(body)
    return Client().post(
        callback_url(query or callback_query()), data=data, content_type="application/json"
    )


@pytest.mark.django_db(transaction=True)
def test_callbacks_during_an_outage_are_spooled_then_stored_once(spool_dir: Path) -> None:
    names = element_samples()
    received: list[str] = []

    def receiver(message: OfficialAccountMessage, **kwargs: Any) -> None:
        received.append(message.msg_key)

    with database_unreachable():
        with pytest.raises(OperationalError):  # the database really is gone
            connection.ensure_connection()
        for name in names:
            response = post(sample(name))
            assert (response.status_code, response.json()["ActionStatus"]) == (200, "OK")
        assert post(sample("text")).status_code == 200  # Tencent retrying: a duplicate
        assert post(sample("text"), callback_query(token="wrong")).status_code == 403
        assert post(b"not json").status_code == 400
    assert spool.pending(spool_dir) == len(names) + 1  # the refused ones are not kept
    assert not OfficialAccountMessage.objects.exists()

    # The database is back.
    message_received.connect(receiver)
    try:
        call_command("officialaccount_drain_spool", stdout=StringIO())
    finally:
        message_received.disconnect(receiver)
    assert spool.pending(spool_dir) == 0
    stored = sorted(OfficialAccountMessage.objects.values_list("msg_key", flat=True))
    assert stored == sorted(sample(name)["MsgKey"] for name in names)
    assert sorted(received) == stored
    outcomes = sorted(CallbackDelivery.objects.values_list("outcome", flat=True))
    assert outcomes == ["accepted"] * len(names) + ["duplicate"]
    text = OfficialAccountMessage.objects.get(msg_key=sample("text")["MsgKey"])
    assert (text.client_ip, text.opt_platform) == ("203.0.113.7", "RESTAPI")
    # A second drain finds nothing to do.
    call_command("officialaccount_drain_spool", stdout=StringIO())
    assert OfficialAccountMessage.objects.count() == len(names)


@pytest.mark.django_db(transaction=True)
def test_without_a_spool_an_outage_is_a_500(tmp_path: Path) -> None:
    conf = {"APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}}}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf), database_unreachable():
        response = post(sample("text"))
    assert response.status_code == 500
    assert response.json()["ActionStatus"] == "FAIL"


@pytest.mark.django_db(transaction=True)
def test_a_broken_spool_during_an_outage_is_a_500(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    conf = {"APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}}, "SPOOL_DIR": str(blocker / "spool")}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf), database_unreachable():
        response = post(sample("text"))
    assert response.status_code == 500


def test_drain_without_a_spool_setting() -> None:
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK={}),
        pytest.raises(CommandError, match="SPOOL_DIR"),
    ):
        call_command("officialaccount_drain_spool")


@pytest.mark.django_db
def test_drain_reports_damaged_records(spool_dir: Path) -> None:
    path = spool.write(spool_dir, record())
    path.write_text("{}")
    with pytest.raises(CommandError, match="1 damaged record"):
        call_command(
            "officialaccount_drain_spool",
            stdout=StringIO(),
            stderr=StringIO(),
        )


def test_concurrent_drains_of_old_records_take_each_once(tmp_path: Path) -> None:
    for n in range(30):
        path = spool.write(tmp_path, record(n))
        old = time.time() - 3600  # spooled an hour ago: the outage was long
        os.utime(path, (old, old))
    taken: list[str] = []
    lock = threading.Lock()

    def slow_store(callback: spool.SpooledCallback) -> None:
        time.sleep(0.01)
        with lock:
            taken.append(callback.payload["MsgKey"])

    reports: list[spool.DrainReport] = []
    threads = [
        threading.Thread(target=lambda: reports.append(spool.drain(tmp_path, slow_store)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == sorted(f"{n}_1_1717000000" for n in range(30))
    assert sum(report.stored for report in reports) == 30
    assert spool.pending(tmp_path) == 0


@pytest.mark.django_db(transaction=True)
def test_a_record_drained_twice_stores_and_signals_once(
    spool_dir: Path, signal_log: Any, django_capture_on_commit_callbacks: Any
) -> None:
    path = spool.write(spool_dir, record(1))
    copy = path.read_bytes()
    withdraw = spool.SpooledCallback(
        sdk_app_id=SIGNED_APP,
        command="OfficialAccount.CallbackAfterMsgWithDraw",
        payload=sample("withdraw"),
        query_string="",
        remote_addr=None,
        spooled_at=1_717_000_001.0,
    )
    withdraw_path = spool.write(spool_dir, withdraw)
    withdraw_copy = withdraw_path.read_bytes()
    call_command("officialaccount_drain_spool", stdout=StringIO())
    # A crash between commit and removal leaves the records behind: the next drain sees them.
    path.write_bytes(copy)
    withdraw_path.write_bytes(withdraw_copy)
    call_command("officialaccount_drain_spool", stdout=StringIO())
    assert spool.pending(spool_dir) == 0
    assert OfficialAccountMessage.objects.count() == 1
    assert CallbackDelivery.objects.count() == 2
    assert len(signal_log.received) == 1
    assert len(signal_log.callbacks) == 2


@pytest.mark.django_db(transaction=True)
def test_a_drained_duplicate_that_was_never_signalled_is_signalled(
    spool_dir: Path, signal_log: Any
) -> None:
    # The request stored the message, but died (or lost the commit's answer) before signalling
    # it; its callback was spooled too.
    payload = record(1).payload
    OfficialAccountMessage.objects.create(
        sdk_app_id=SIGNED_APP,
        official_account=payload["Official_Account"],
        msg_key=payload["MsgKey"],
        msg_time=timezone.now(),
        event_time=timezone.now(),
        msg_body=payload["MsgBody"],
    )
    spool.write(spool_dir, record(1))
    call_command("officialaccount_drain_spool", stdout=StringIO())
    assert [call["message"].msg_key for call in signal_log.received] == [payload["MsgKey"]]
    assert OfficialAccountMessage.objects.get().signalled_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a read-only PostgreSQL; CI runs it there"
)
def test_a_read_only_database_is_spooled_too(spool_dir: Path) -> None:
    """As after a failover to a standby: the server answers, but refuses writes."""
    with read_only_database():
        response = post(sample("text"))
    assert response.status_code == 200
    assert spool.pending(spool_dir) == 1
    call_command("officialaccount_drain_spool", stdout=StringIO())
    assert OfficialAccountMessage.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a terminated PostgreSQL session; CI runs it there"
)
def test_a_connection_that_died_between_requests_is_spooled_then_replaced(
    spool_dir: Path,
) -> None:
    """Without CONN_HEALTH_CHECKS (docs/operations.md) a persistent connection that died since
    the last request fails that request's insert: the callback is spooled, not lost, and the
    next request gets a new connection."""
    import psycopg

    assert post(sample("text") | {"MsgKey": "before"}).status_code == 200
    connection.ensure_connection()
    with psycopg.connect(subprocess_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])
    try:
        response = post(sample("text") | {"MsgKey": "while-dead"})
        assert (response.status_code, response.json()["ActionStatus"]) == (200, "OK")
        assert spool.pending(spool_dir) == 1
        # What Django does at the end of every request (the test client skips it).
        connection.close_if_unusable_or_obsolete()
        assert post(sample("text") | {"MsgKey": "after"}).status_code == 200
    finally:
        connection.close()
    call_command("officialaccount_drain_spool", stdout=StringIO())
    stored = set(OfficialAccountMessage.objects.values_list("msg_key", flat=True))
    assert stored == {"before", "while-dead", "after"}


# ------------------------------------------------------------------ attempts and quarantine


def unparsable(n: int = 0) -> spool.SpooledCallback:
    """A record that today's parser refuses every time: it has no MsgKey."""
    payload = dict(record(n).payload)
    del payload["MsgKey"]
    return replace(record(n), payload=payload)


def refuse(callback: spool.SpooledCallback) -> None:
    raise ValueError("refused by the test")


def attempts_files(directory: Path) -> list[str]:
    return sorted(
        path.relative_to(directory).as_posix()
        for path in directory.rglob(f"*{spooling.ATTEMPTS_SUFFIX}")
    )


def drain_command(*flags: str) -> tuple[str, str, str]:
    """The command's output, its error output, and its error ("" when it succeeds)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("officialaccount_drain_spool", *flags, stdout=out, stderr=err)
    except CommandError as exc:
        return out.getvalue(), err.getvalue(), str(exc)
    return out.getvalue(), err.getvalue(), ""


@pytest.mark.django_db(transaction=True)
def test_a_record_that_always_fails_is_quarantined_after_exactly_n_drains(
    spool_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = spool.write(spool_dir, unparsable()).name
    spool.write(spool_dir, record(1))
    folder = spool_dir / spooling.QUARANTINE_DIR
    with override_settings(OFFICIALACCOUNT_WEBHOOK=spool_conf(spool_dir, SPOOL_MAX_ATTEMPTS=3)):
        for attempt in (1, 2):
            report = spooling.drain(spool_dir)
            assert (report.failed, report.quarantined, report.stopped) == ([bad], [], "")
            assert spooling.attempts(spool_dir, bad).count == attempt
            assert spooling.quarantined(spool_dir) == []
            assert spool.pending(spool_dir) == 1
        assert OfficialAccountMessage.objects.count() == 1  # the good record was not held up
        caplog.clear()
        report = spooling.drain(spool_dir)
        assert (report.failed, report.quarantined) == ([], [bad])
        assert spooling.quarantined(spool_dir) == [bad]
        assert spool.pending(spool_dir) == 0
        last = spooling.attempts(folder, bad)
        assert last.count == 3
        assert last.last_error.startswith("MalformedCallback: ")
        assert "MsgKey" in last.last_error
        assert attempts_files(spool_dir) == [f"quarantine/{bad.removesuffix('.json')}.attempts"]
        [logged] = [r for r in caplog.records if "moved to" in r.getMessage()]
        assert logged.levelno == logging.ERROR
        assert bad in logged.getMessage() and "--retry-quarantined" in logged.getMessage()
        # No longer drained: nothing is tried, nothing counted.
        assert spooling.drain(spool_dir) == spool.DrainReport()
        assert spooling.attempts(folder, bad).count == 3


@pytest.mark.django_db(transaction=True)
def test_the_command_reports_the_quarantine_and_retries_it_once_the_cause_is_fixed(
    spool_dir: Path, signal_log: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusing = True
    parsed: list[str] = []

    def this_release(command: str, payload: dict[str, Any]) -> CallbackEvent:
        # This release's parser refuses the record; the fixed one (refusing = False) reads it.
        parsed.append(payload["MsgKey"])
        if refusing:
            raise MalformedCallback("MsgBody", "not understood by this release")
        return parse_event(command, payload)

    monkeypatch.setattr(spooling, "parse_event", this_release)
    name = spool.write(spool_dir, record(1)).name
    copy = (spool_dir / name).read_bytes()
    with override_settings(OFFICIALACCOUNT_WEBHOOK=spool_conf(spool_dir, SPOOL_MAX_ATTEMPTS=2)):
        out, err, error = drain_command()
        assert "1 record(s) could not be stored" in error
        assert "0 record(s) are in quarantine" in error
        out, err, error = drain_command()
        assert "0 record(s) could not be stored" in error
        assert "1 record(s) are in quarantine" in error and "--retry-quarantined" in error
        assert "1 record(s) in quarantine" in out
        assert (
            f"In quarantine: {name}: 2 failed attempt(s); last error: MalformedCallback: "
            "MsgBody: not understood by this release"
        ) in err
        assert "1 record(s) are in quarantine" in drain_command()[2]  # still, untried
        assert len(parsed) == 2

        refusing = False  # the fix is deployed
        out, err, error = drain_command("--retry-quarantined")
        assert (error, err) == ("", "")
        assert "Moved 1 record(s) from quarantine" in out and "Stored 1 " in out
        assert "0 record(s) in quarantine" in out
        assert OfficialAccountMessage.objects.count() == 1
        assert len(signal_log.received) == 1
        assert (spooling.quarantined(spool_dir), spool.pending(spool_dir)) == ([], 0)
        assert attempts_files(spool_dir) == []

        out, err, error = drain_command("--retry-quarantined")
        assert error == "" and "Moved 0 record(s)" in out and "Stored 0 " in out
        # Had it been stored while its drain failed (the answer to the commit lost), it could
        # be in quarantine and stored: a retry recognises it, and stores nothing again.
        (spool_dir / spooling.QUARANTINE_DIR / name).write_bytes(copy)
        assert drain_command("--retry-quarantined")[2] == ""
        assert spooling.quarantined(spool_dir) == []
    assert OfficialAccountMessage.objects.count() == 1
    assert CallbackDelivery.objects.count() == 1
    assert (len(signal_log.received), len(signal_log.callbacks)) == (1, 1)


@pytest.mark.django_db(transaction=True)
def test_a_connection_closed_under_the_store_is_spooled(
    spool_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Django's InterfaceError (a connection closed under the request) is not a DatabaseError:
    the callback is spooled all the same, not answered with a 500 and lost."""

    def closed(*args: Any, **kwargs: Any) -> Any:
        raise InterfaceError("connection already closed")

    monkeypatch.setattr(spooling, "ingest", closed)
    response = post(sample("text"))
    assert (response.status_code, response.json()["ActionStatus"]) == (200, "OK")
    assert spool.pending(spool_dir) == 1
    monkeypatch.undo()
    call_command("officialaccount_drain_spool", stdout=StringIO())
    assert OfficialAccountMessage.objects.get().msg_key == sample("text")["MsgKey"]


@pytest.mark.django_db(transaction=True)
def test_a_drain_during_an_outage_counts_no_attempt_and_stops(spool_dir: Path) -> None:
    names = [spool.write(spool_dir, record(n)).name for n in range(3)]
    with override_settings(OFFICIALACCOUNT_WEBHOOK=spool_conf(spool_dir, SPOOL_MAX_ATTEMPTS=2)):
        with database_unreachable():
            for _ in range(4):  # twice SPOOL_MAX_ATTEMPTS
                report = spooling.drain(spool_dir)
                # The first record failed; the drain stopped before trying the others.
                assert (report.stored, report.failed, report.quarantined) == (0, names[:1], [])
                assert report.stopped.startswith("OperationalError: ")
            _, err, error = drain_command()
            assert "Stopped early" in err and "1 record(s) could not be stored" in error
        assert attempts_files(spool_dir) == []
        assert spooling.quarantined(spool_dir) == []
        assert spool.pending(spool_dir) == 3
        assert drain_command()[2] == ""  # the database is back
    assert OfficialAccountMessage.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a read-only PostgreSQL; CI runs it there"
)
def test_a_drain_on_a_read_only_database_counts_no_attempt(spool_dir: Path) -> None:
    """A standby refuses the write with an InternalError: the database's failure, as
    OperationalError is, not the record's."""
    names = [spool.write(spool_dir, record(n)).name for n in range(2)]
    with read_only_database():
        report = spooling.drain(spool_dir)
    assert report.failed == names[:1]
    assert report.stopped.startswith("InternalError: ")
    assert attempts_files(spool_dir) == []
    assert spooling.drain(spool_dir).stored == 2


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (OperationalError("connection refused"), True),
        (InterfaceError("connection already closed"), True),
        (InternalError("cannot execute INSERT in a read-only transaction"), True),
        (ProgrammingError('relation "officialaccount_message" does not exist'), True),
        (NotSupportedError("not supported by this database"), True),
        (DatabaseError("an error of the database's"), True),
        (IntegrityError("null value violates not-null constraint"), False),
        (DataError("value too long for type character varying(128)"), False),
        (MalformedCallback("MsgKey", "is missing"), False),
        (ValueError("a record no release can read"), False),
    ],
)
def test_what_says_that_the_database_is_away(error: Exception, outage: bool) -> None:
    assert spooling.database_unavailable(error) is outage


def test_concurrent_drains_count_each_failure_once(tmp_path: Path) -> None:
    names = sorted(spool.write(tmp_path, record(n)).name for n in range(40))
    tries = dict.fromkeys(names, 0)
    lock = threading.Lock()

    def failing(callback: spool.SpooledCallback) -> None:
        with lock:
            tries[f"{callback.record_id}.json"] += 1
        raise ValueError("refused")

    with override_settings(OFFICIALACCOUNT_WEBHOOK=spool_conf(tmp_path, SPOOL_MAX_ATTEMPTS=3)):
        for _ in range(10):  # each round tries every record at least once
            threads = [
                threading.Thread(target=spooling.drain, args=(tmp_path, failing)) for _ in range(4)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if not spool.pending(tmp_path):
                break
    # A count lost between two drains would have meant a fourth try.
    assert tries == dict.fromkeys(names, 3)
    assert spooling.quarantined(tmp_path) == names
    folder = tmp_path / spooling.QUARANTINE_DIR
    assert {spooling.attempts(folder, name).count for name in names} == {3}
    assert len(attempts_files(tmp_path)) == 40


def test_attempts_are_counted_across_processes(tmp_path: Path) -> None:
    name = spool.write(tmp_path, record()).name
    with override_settings(OFFICIALACCOUNT_WEBHOOK=spool_conf(tmp_path, SPOOL_MAX_ATTEMPTS=3)):
        for _ in range(2):
            child = multiprocessing.get_context("fork").Process(
                target=spooling.drain, args=(tmp_path, refuse)
            )
            child.start()
            child.join(timeout=60)
            assert child.exitcode == 0
        assert spooling.attempts(tmp_path, name).count == 2
        assert spooling.drain(tmp_path, refuse).quarantined == [name]


def test_an_unreadable_attempts_file_counts_from_zero_and_goes_with_the_record(
    tmp_path: Path,
) -> None:
    name = spool.write(tmp_path, record()).name
    (tmp_path / name.replace(".json", spooling.ATTEMPTS_SUFFIX)).write_text("{not json")
    with override_settings(OFFICIALACCOUNT_WEBHOOK=spool_conf(tmp_path, SPOOL_MAX_ATTEMPTS=2)):
        report = spooling.drain(tmp_path, refuse)
        assert (report.failed, report.quarantined) == ([name], [])
        assert spooling.attempts(tmp_path, name) == spooling.Attempts(
            1, "ValueError: refused by the test"
        )
        assert spooling.drain(tmp_path, lambda callback: None).stored == 1
    assert attempts_files(tmp_path) == []


def test_the_last_error_is_one_short_line_without_a_sign() -> None:
    text = spooling.describe(
        ValueError("bad value\nDETAIL: SdkAppid=1&Sign=0123abcd&n=1 " + "x" * 1000)
    )
    assert text.startswith("ValueError: bad value DETAIL: SdkAppid=1&Sign=[redacted]&n=1 x")
    assert "0123abcd" not in text
    assert len(text) == spooling.MAX_ERROR_LENGTH
