"""gunicorn's settings for the benchmarks: the repository's ``gunicorn.conf.py`` without its
access log, whose line per request the figures in RESULTS.md never included."""

from officialaccount_webhook.deploy.gunicorn_logging import redact_sign_in_gunicorn_logs

redact_sign_in_gunicorn_logs()
