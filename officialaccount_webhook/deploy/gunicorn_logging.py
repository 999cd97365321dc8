"""Keeps Tencent's ``Sign`` out of gunicorn's own logs.

gunicorn writes Tencent's request line where the project's ``LOGGING`` never looks: in every
access log line (``"POST /webhooks/tencent-chat/?...&Sign=... HTTP/1.1" 200``), and in its error
log when a request fails inside the server, as a worker timeout does ("Error handling request
POST /webhooks/tencent-chat/?...&Sign=..."). Both go through two loggers of gunicorn's,
``gunicorn.access`` and ``gunicorn.error``. :func:`redact_sign_in_gunicorn_logs` puts
:class:`~officialaccount_webhook.log.RedactSignFilter` on those loggers themselves, not on their
handlers: a logger's filter sees each record before any handler does, so it holds for whatever
handlers gunicorn sets up after the configuration file has run (``--access-logfile``,
``--error-logfile``, syslog, a ``logconfig_dict``) and for those a reload (HUP) sets up again.

Call it from gunicorn's configuration file, as the repository's ``gunicorn.conf.py`` does::

    from officialaccount_webhook.deploy.gunicorn_logging import redact_sign_in_gunicorn_logs

    redact_sign_in_gunicorn_logs()
    accesslog = "-"

gunicorn runs that file in its master process before it forks the workers, which inherit the
filters. What bypasses logging is not covered: ``wsgi.errors`` and, with ``capture_output``,
whatever the application prints.
"""

from __future__ import annotations

import logging

from ..log import RedactSignFilter

GUNICORN_LOGGERS = ("gunicorn.error", "gunicorn.access")


def redact_sign_in_gunicorn_logs() -> None:
    """Redact ``Sign`` in every record of gunicorn's error and access logs. Calling it again
    (gunicorn runs its configuration file again on reload) adds nothing."""
    for name in GUNICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactSignFilter) for existing in logger.filters):
            logger.addFilter(RedactSignFilter())
