"""gunicorn's settings for the example project: gunicorn reads this file when it is started in
this folder. Serve the project as docs/operations.md ("Under gunicorn") recommends:

    gunicorn project.asgi:application --worker-class asgi --workers 4

The worker class is not set here, so that a WSGI application named on the command line
(``project.wsgi:application``) still gets gunicorn's default sync worker, which is the only
one that can run it: the asgi worker would fail every request.
"""

from officialaccount_webhook.deploy.gunicorn_logging import redact_sign_in_gunicorn_logs

# Every request line Tencent sends carries its Sign, and gunicorn logs request lines in its
# access log and, when a request fails in the server (a worker timeout), in its error log:
# neither goes through the project's LOGGING.
redact_sign_in_gunicorn_logs()

# The access log, on stdout: with the Sign redacted it is safe to keep.
accesslog = "-"
