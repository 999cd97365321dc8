"""Settings of the example project. Everything that differs between machines comes from the
environment, and nothing secret is in this file:

* ``TENCENT_CHAT_SDKAPPID``: the SDKAppID of your Tencent Chat app.
* ``TENCENT_CHAT_CALLBACK_TOKEN``: the webhook authentication token from the Tencent Chat
  console; several, comma-separated, while rotating. Without one, unsigned callbacks are
  accepted while ``DJANGO_DEBUG`` is on (local trials) and every callback is refused when it
  is off.
* ``TENCENT_CHAT_SECRET_KEY``: the app's key, for REST calls (recall).
* ``TENCENT_CHAT_ADMIN_IDENTIFIER``: the app admin account for REST calls; ``administrator``.
* ``TENCENT_CHAT_REGION``: the app's data center: china, singapore, seoul, frankfurt,
  silicon-valley, jakarta or tokyo.
* ``TENCENT_CHAT_API_BASE_URL``: an explicit REST base URL; overrides the region.
* ``DATABASE_URL``: e.g. ``postgres://user@127.0.0.1:5432/dbname``. Default: an SQLite file in
  this folder.
* ``OFFICIALACCOUNT_SPOOL_DIR``: where callbacks wait while the database is unreachable.
  Default: ``spool/`` in this folder.
* ``OFFICIALACCOUNT_SIGNAL_MODE``: ``on_commit`` (the default: receivers run in the request) or
  ``task`` (a worker runs them: ``python manage.py db_worker``).
* ``DJANGO_SECRET_KEY``: required when ``DJANGO_DEBUG`` is off.
* ``DJANGO_DEBUG``: ``1``/``true`` (the default, for local use) or ``0``/``false``.
* ``DJANGO_ALLOWED_HOSTS``: comma-separated host names.
* ``DJANGO_LANGUAGE_CODE``: the language of ``manage.py`` (its commands and checks) and of
  requests that ask for none of ``LANGUAGES``: ``en-us`` (the default), ``zh-hans``, ``ja``
  or ``ko``.
* ``OFFICIALACCOUNT_API_BASIC_AUTH``: ``1`` to accept HTTP Basic authentication on the REST
  API, throttled after repeated failures (off by default: use session or token
  authentication).
"""

import importlib.util
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def _env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


DEBUG = _env_bool("DJANGO_DEBUG", default=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY when DJANGO_DEBUG is off.")
    # Only ever used with DEBUG on, on a developer's machine.
    SECRET_KEY = "django-insecure-example-project-only"  # noqa: S105  (DEBUG only)

ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # Token authentication for the REST API's callers (manage.py drf_create_token USERNAME).
    "rest_framework.authtoken",
    "drf_spectacular",
    # Swagger UI's files for /api/docs/, served from this site rather than from a CDN.
    "drf_spectacular_sidecar",
    "officialaccount_webhook",
    # For OFFICIALACCOUNT_SIGNAL_MODE=task: django-tasks-db's database backend and its worker,
    # on the backport of Django's Tasks framework where Django has none (5.2).
    *([] if importlib.util.find_spec("django.tasks") else ["django_tasks"]),
    "django_tasks_db",
]
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Chooses the language from the session, the cookie or Accept-Language (LANGUAGES below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        # Reusing connections saves a connect per callback. No CONN_HEALTH_CHECKS: they cost
        # a round trip per request, and a connection that died since the last request fails
        # only that request's insert, which the spool keeps (SPOOL_DIR below: schedule
        # officialaccount_drain_spool), while Django opens a new one for the next request.
        # Without a spool, keep health checks on (docs/operations.md).
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # A database that hangs must fail fast enough to spool within Tencent's 2 seconds.
            "connect_timeout": 2,
            # Statements bound on the server, so that psycopg prepares the webhook's insert once
            # per connection instead of PostgreSQL planning it per request (psycopg 3;
            # docs/operations.md, figures in bench/RESULTS.md). Remove both behind a pooler in
            # transaction mode, unless it is PgBouncer 1.21+ with max_prepared_statements > 0.
            "server_side_binding": True,
            "prepare_threshold": 5,
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent callbacks then wait for the write lock instead of failing with "database is
    # locked" (see the officialaccount_webhook.W006 check).
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = os.environ.get("DJANGO_LANGUAGE_CODE") or "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
# The languages the app ships catalogues for; LocaleMiddleware picks one from Accept-Language.
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
    ("ja", "日本語"),
    ("ko", "한국어"),
]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

REST_FRAMEWORK = {
    # The API under /api/officialaccount/ uses these; the webhook has Tencent's Sign instead.
    # Basic authentication costs a password hash per request, which guessing turns against the
    # workers: off unless OFFICIALACCOUNT_API_BASIC_AUTH is on, and then throttled.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
        *(
            ["officialaccount_webhook.api.authentication.ThrottledBasicAuthentication"]
            if _env_bool("OFFICIALACCOUNT_API_BASIC_AUTH", default=False)
            else []
        ),
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Official-account messages",
    "DESCRIPTION": "Stored Tencent Chat official-account messages, and their recall.",
    "VERSION": "1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No validator badge: Swagger UI would send the schema's URL to its public validator.
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None, "deepLinking": True},
}

_sdk_app_id = os.environ.get("TENCENT_CHAT_SDKAPPID", "").strip()
OFFICIALACCOUNT_WEBHOOK = {
    "SPOOL_DIR": os.environ.get("OFFICIALACCOUNT_SPOOL_DIR") or str(BASE_DIR / "spool"),
    "SIGNAL_MODE": os.environ.get("OFFICIALACCOUNT_SIGNAL_MODE") or "on_commit",
    "APPS": (
        {
            _sdk_app_id: {
                "CALLBACK_TOKENS": _env_list("TENCENT_CHAT_CALLBACK_TOKEN"),
                # Without a token, unsigned callbacks are accepted on a developer's machine
                # (DEBUG) and refused everywhere else (check W002); a token overrides this.
                "ACCEPT_UNSIGNED": DEBUG,
                "SECRET_KEY": os.environ.get("TENCENT_CHAT_SECRET_KEY", ""),
                "ADMIN_IDENTIFIER": os.environ.get("TENCENT_CHAT_ADMIN_IDENTIFIER")
                or "administrator",
                "REGION": os.environ.get("TENCENT_CHAT_REGION", ""),
                "API_BASE_URL": os.environ.get("TENCENT_CHAT_API_BASE_URL", ""),
            }
        }
        if _sdk_app_id
        else {}
    ),
}
# Moderation (docs/moderation.md): the keyword hook refuses messages holding any of these words
# (comma-separated), besides the keyword rules kept in the admin. Unset: no hook runs.
if _blocked_words := _env_list("OFFICIALACCOUNT_BLOCKED_WORDS"):
    OFFICIALACCOUNT_WEBHOOK["MODERATION_BLOCKED_WORDS"] = _blocked_words
    OFFICIALACCOUNT_WEBHOOK["MODERATION_HOOKS"] = {
        "OfficialAccount.CallbackBeforeSendMsg": [
            "officialaccount_webhook.moderation.keywords.refuse_keywords"
        ],
    }

# runserver logs every request line, and Tencent's request lines carry the Sign: redact it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_sign": {"()": "officialaccount_webhook.log.RedactSignFilter"}},
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact_sign"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["redact_sign"],
        },
    },
    "loggers": {
        "django": {"handlers": ["console"], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "officialaccount_webhook": {"handlers": ["console"], "level": "INFO"},
    },
}
