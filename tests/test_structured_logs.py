"""Every log record of the app carries the callback's fields (sdk_app_id, command, outcome,
msg_key) where they are known, None where not; the JSON formatter writes them, and keeps Sign
redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils.module_loading import import_string

from officialaccount_webhook.deploy.json_logging import JSONFormatter
from officialaccount_webhook.log import FIELDS, RedactSignFilter, callback_fields, note
from officialaccount_webhook.models import OfficialAccountMessage
from officialaccount_webhook.signals import message_received
from officialaccount_webhook.webhook.wire import AFTER_SEND_MSG
from tests.conftest import ROOT, callback_query, sample
from tests.settings import SIGNED_APP
from tests.test_spool import database_unreachable, post, spool_dir  # noqa: F401

APP_LOGGER = "officialaccount_webhook"


def fields(record: logging.LogRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FIELDS}


def app_records(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == logger]


@pytest.fixture
def failing_receiver() -> Any:
    def receiver(**kwargs: Any) -> None:
        raise RuntimeError("the receiver broke")

    message_received.connect(receiver)
    yield receiver
    message_received.disconnect(receiver)


@pytest.mark.django_db
def test_a_rejected_callback(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=APP_LOGGER):
        assert post(sample("text"), callback_query(token="wrong")).status_code == 403
    (line,) = app_records(caplog, "officialaccount_webhook.webhook.views")
    assert fields(line) == {
        "sdk_app_id": SIGNED_APP,
        "command": AFTER_SEND_MSG,
        "outcome": "rejected",
        "msg_key": None,
    }


@pytest.mark.django_db
def test_a_refused_body(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger=APP_LOGGER):
        assert post({"MsgKey": 1}).status_code == 400
    (line,) = app_records(caplog, "officialaccount_webhook.webhook.views")
    assert (line.sdk_app_id, line.command, line.outcome) == (SIGNED_APP, AFTER_SEND_MSG, "refused")


@pytest.mark.django_db(transaction=True)
def test_a_receiver_failure_names_the_message(
    caplog: pytest.LogCaptureFixture, failing_receiver: Any
) -> None:
    body = sample("text")
    with caplog.at_level(logging.ERROR, logger=APP_LOGGER):
        assert post(body).status_code == 200
    (line,) = app_records(caplog, "officialaccount_webhook.notify.send")
    assert (line.sdk_app_id, line.command, line.msg_key) == (
        SIGNED_APP,
        AFTER_SEND_MSG,
        body["MsgKey"],
    )


@pytest.mark.django_db(transaction=True)
def test_a_spooled_callback_then_its_drain(
    spool_dir: Path,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
    failing_receiver: Any,
) -> None:
    body = sample("image")
    with caplog.at_level(logging.ERROR, logger=APP_LOGGER), database_unreachable():
        assert post(body).status_code == 200
    (spooled,) = app_records(caplog, "officialaccount_webhook.webhook.spooling")
    assert fields(spooled) == {
        "sdk_app_id": SIGNED_APP,
        "command": AFTER_SEND_MSG,
        "outcome": "spooled",
        "msg_key": body["MsgKey"],
    }
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger=APP_LOGGER):
        call_command("officialaccount_drain_spool", stdout=StringIO())
    assert OfficialAccountMessage.objects.get().msg_key == body["MsgKey"]
    (failed,) = app_records(caplog, "officialaccount_webhook.notify.send")
    assert (failed.sdk_app_id, failed.command, failed.msg_key) == (
        SIGNED_APP,
        AFTER_SEND_MSG,
        body["MsgKey"],
    )


def test_every_record_of_the_app_has_the_fields_none_outside_a_callback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger=APP_LOGGER):
        logging.getLogger("officialaccount_webhook.anything").info("outside")
        with callback_fields(sdk_app_id=1, command="C"):
            note(msg_key="1_1_1")
            logging.getLogger("officialaccount_webhook.anything").info("inside")
            with callback_fields(outcome="o"):
                logging.getLogger("officialaccount_webhook").info("nested")
        logging.getLogger("other.library").warning("not ours")
    outside, inside, nested, other = caplog.records
    assert fields(outside) == dict.fromkeys(FIELDS)
    assert fields(inside) == {"sdk_app_id": 1, "command": "C", "outcome": None, "msg_key": "1_1_1"}
    assert fields(nested) == {"sdk_app_id": 1, "command": "C", "outcome": "o", "msg_key": "1_1_1"}
    assert not hasattr(other, "msg_key")


def test_the_json_formatter_writes_the_fields_and_redacts_sign() -> None:
    logger = logging.getLogger("officialaccount_webhook.tests")
    with callback_fields(sdk_app_id=SIGNED_APP, command=AFTER_SEND_MSG, msg_key="7_1_1"):
        try:
            raise ValueError("/webhooks/tencent-chat/?Sign=abcdef&RequestTime=1")
        except ValueError:
            record = logger.makeRecord(
                logger.name,
                logging.ERROR,
                __file__,
                1,
                "GET %s",
                ("/webhooks/tencent-chat/?SdkAppid=1&Sign=abcdef",),
                sys.exc_info(),
            )
    line = json.loads(JSONFormatter().format(record))
    assert set(line) == {"time", "level", "logger", "message", "exception", *FIELDS}
    assert (line["sdk_app_id"], line["command"], line["outcome"], line["msg_key"]) == (
        SIGNED_APP,
        AFTER_SEND_MSG,
        None,
        "7_1_1",
    )
    assert (line["level"], line["logger"]) == ("ERROR", "officialaccount_webhook.tests")
    assert "abcdef" not in json.dumps(line)
    assert "Sign=[redacted]" in line["message"]
    assert "Sign=[redacted]" in line["exception"]


def test_the_operations_pages_logging_configuration() -> None:
    page = (ROOT / "docs" / "operations.md").read_text()
    (block,) = [
        b for b in re.findall(r"```python\n(.*?)```", page, re.DOTALL) if "JSONFormatter" in b
    ]
    namespace: dict[str, Any] = {}
    exec(block, namespace)  # noqa: S102  (our own docs)
    config = namespace["LOGGING"]
    assert import_string(config["formatters"]["json"]["()"]) is JSONFormatter
    assert import_string(config["filters"]["redact_sign"]["()"]) is RedactSignFilter
    handler = config["handlers"]["json"]
    assert (handler["formatter"], handler["filters"]) == ("json", ["redact_sign"])
    assert config["loggers"]["officialaccount_webhook"]["handlers"] == ["json"]


def test_no_logging_call_of_the_app_passes_the_fields_as_extra() -> None:
    """The records have them already: logging would raise KeyError (log.py says so)."""
    pattern = re.compile(r"extra=\{[^}]*[\"'](?:" + "|".join(FIELDS) + r")[\"']")
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "officialaccount_webhook").rglob("*.py")
        if pattern.search(path.read_text())
    ]
    assert offenders == []
