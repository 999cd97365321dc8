"""The app's logging: the callback's fields on every record, and a filter that keeps Tencent's
``Sign`` out of log lines that quote the request URL.

**Fields.** Every record of the app's loggers (``officialaccount_webhook.*``) carries four
attributes, None where not known: ``sdk_app_id``, ``command``, ``outcome`` and ``msg_key``, the
callback the line is about, so that a JSON formatter (``deploy.json_logging``) or a format string
(``%(msg_key)s``) can show them. The webhook's view and the spool's drain open a scope
(:func:`callback_fields`) and :func:`note` what they learn as they go; :func:`install_fields`,
called when the app is ready, puts the scope's values on each record as it is made. Do not pass
these four names in a logging call's ``extra``: the record has them already, and logging refuses
to overwrite an attribute; :func:`note` them instead.

**Sign.**
This app never logs the ``Sign`` itself, but a server's request log does: ``runserver``'s
``django.server`` logger, gunicorn's ``gunicorn.access``, or your own middleware. A logged
``Sign`` cannot reveal the token, yet it can be replayed while its ``RequestTime`` is inside the
accepted window. Attach the filter to those handlers::

    LOGGING = {
        "filters": {"redact_sign": {"()": "officialaccount_webhook.log.RedactSignFilter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_sign"]}},
        ...
    }
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote_plus

from .redaction import REDACTED, is_sign_name

# A query parameter in a logged URL, or a query string logged alone: its name, then its value
# up to the next separator. Neither may hold a "?", so that an "&" or "=" in the path before
# the query cannot swallow the parameter after it.
_PARAMETER = re.compile(r"(^|[?&\s])([^=&?\s\"']+)=([^&?\s\"']*)")


def redact_sign(text: str) -> str:
    """``text`` with the value of every parameter whose name decodes to "sign" (any case,
    any percent-encoding: "Si%67n" authenticates as well as "Sign") replaced."""

    def redact(match: re.Match[str]) -> str:
        separator, name, _value = match.groups()
        if not is_sign_name(unquote_plus(name)):
            return match.group(0)
        return f"{separator}{name}={REDACTED}"

    return _PARAMETER.sub(redact, text)


class RedactSignFilter(logging.Filter):
    """Redacts every ``Sign`` query parameter in a record's message and traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_sign(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        # Exception messages quote URLs too (APPEND_SLASH's does). Formatters reuse exc_text
        # once it is set, so setting it redacted here is what every handler will print.
        if record.exc_info and not record.exc_text:
            record.exc_text = _traceback_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_sign(record.exc_text)
        return True


_traceback_formatter = logging.Formatter()


FIELDS = ("sdk_app_id", "command", "outcome", "msg_key")
LOGGER_PREFIX = "officialaccount_webhook"

_scope: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "officialaccount_webhook_log_fields", default=None
)


@contextmanager
def callback_fields(**fields: Any) -> Iterator[dict[str, Any]]:
    """A scope for one callback's log fields (a request, a drained record), starting from the
    enclosing scope's and ``fields``; yields the scope's dict, which :func:`note` fills."""
    values = {name: None for name in FIELDS} | (_scope.get() or {}) | fields
    token = _scope.set(values)
    try:
        yield values
    finally:
        _scope.reset(token)


def note(**fields: Any) -> None:
    """Record what is now known about the callback in hand; nothing outside a scope."""
    values = _scope.get()
    if values is not None:
        values.update(fields)


def current_fields() -> dict[str, Any]:
    """The four fields as they stand (None where not known)."""
    return {name: (_scope.get() or {}).get(name) for name in FIELDS}


def install_fields() -> None:
    """Have every record of the app's loggers carry the four fields. Chains the record factory
    in place; calling it again adds nothing."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "officialaccount_fields", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name == LOGGER_PREFIX or record.name.startswith(f"{LOGGER_PREFIX}."):
            for name, value in current_fields().items():
                setattr(record, name, value)
        return record

    marked: Callable[..., logging.LogRecord] = factory
    marked.officialaccount_fields = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(marked)
