"""A logging filter that keeps Tencent's ``Sign`` out of log lines that quote the request URL.

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

import logging
import re
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
