"""One JSON object per log line, with the callback's fields, for log pipelines that search by
field (``msg_key``, say) rather than by text. Standard library only::

    LOGGING = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact_sign": {"()": "officialaccount_webhook.log.RedactSignFilter"}},
        "formatters": {"json": {"()": "officialaccount_webhook.deploy.json_logging.JSONFormatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["redact_sign"],
            }
        },
        "loggers": {"officialaccount_webhook": {"handlers": ["json"], "level": "INFO"}},
    }

A line then reads ``{"time": "2024-06-01T12:00:00.123+00:00", "level": "WARNING", "logger":
"officialaccount_webhook.webhook.views", "message": "...", "sdk_app_id": 1400000000, "command":
"OfficialAccount.CallbackAfterSendMsg", "outcome": "rejected", "msg_key": null}``, and
``"exception"`` holds the traceback when there is one. The formatter redacts ``Sign`` in the
message and the traceback itself too, so that it is safe on any handler.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from ..log import FIELDS, redact_sign


class JSONFormatter(logging.Formatter):
    """Formats a record as one line of JSON: time, level, logger, message, the callback's four
    fields (:mod:`officialaccount_webhook.log`; null where not known or not the app's), and the
    traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": redact_sign(record.getMessage()),
        }
        line |= {name: getattr(record, name, None) for name in FIELDS}
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = redact_sign(record.exc_text)
        # default=str: a field is whatever the app noted, and a log line must never fail.
        return json.dumps(line, ensure_ascii=False, default=str)
