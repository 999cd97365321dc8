"""The example project for ASGI servers: gunicorn's ``asgi`` worker, as docs/operations.md
recommends for the webhook (``gunicorn project.asgi:application --worker-class asgi``)."""

import os

from django.core.asgi import get_asgi_application
from django.core.signals import request_finished
from django.db import connections

from officialaccount_webhook.deploy.asgi import WebhookGuard

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

# The webhook's callers are authenticated before their body is received, and bodies are
# received no further than MAX_BODY_SIZE (officialaccount_webhook.deploy.asgi).
application = WebhookGuard(get_asgi_application(), path="/webhooks/tencent-chat")


def close_connections(**kwargs: object) -> None:
    connections.close_all()


# Under ASGI Django runs each request's synchronous code (the webhook's view) in a thread of
# its own, and a database connection belongs to its thread: one kept open for CONN_MAX_AGE
# (60 s in project/settings.py, for WSGI workers) is never used again and stays open until the
# garbage collector finds it, so a burst of callbacks exhausts PostgreSQL's max_connections.
# Django's advice under ASGI is CONN_MAX_AGE 0: closing the request's connections when it
# finishes (in its thread) is that, for this entry point only.
request_finished.connect(close_connections, dispatch_uid="project.asgi.close_connections")
