"""Settings for the test suite. The database comes from DATABASE_URL (SQLite in memory when
unset); set REQUIRE_POSTGRES=1 to make a run fail unless it really is on PostgreSQL."""

import importlib.util
import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

SECRET_KEY = "tests-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
USE_TZ = True
STATIC_URL = "static/"
TIME_ZONE = "UTC"
# The languages the app ships catalogues for; LocaleMiddleware picks one from Accept-Language.
LANGUAGES = [
    ("en", "English"),
    ("zh-hans", "简体中文"),
    ("ja", "日本語"),
    ("ko", "한국어"),
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "officialaccount_webhook",
    # The task mode's tests: the backport of Django's Tasks framework where Django has none
    # (5.2), and a database task backend, whose table every test database then has.
    *([] if importlib.util.find_spec("django.tasks") else ["django_tasks"]),
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Chooses the language from the session, the cookie or Accept-Language (LANGUAGES below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "project.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
    "default": dj_database_url.parse(os.environ.get("DATABASE_URL") or "sqlite://:memory:")
}
if (
    os.environ.get("REQUIRE_POSTGRES")
    and DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql"
):
    raise ImproperlyConfigured("REQUIRE_POSTGRES is set but DATABASE_URL is not a PostgreSQL URL.")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # As the README advises for SQLite: take the write lock when a transaction begins, so that
    # concurrent callbacks wait for each other instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}
    # A file rather than memory, so that the concurrency tests' threads really contend.
    _test_db = Path(tempfile.gettempdir()) / f"officialaccount-webhook-test-{os.getpid()}.sqlite3"
    DATABASES["default"]["TEST"] = {"NAME": str(_test_db)}
    # Never ":memory:", even before the test database exists: pytest-django's live server,
    # made once per session, shares an in-memory connection with its thread, which then
    # closes it (a file's connection, by then) while a test uses it, and the process crashes.
    DATABASES["default"]["NAME"] = str(_test_db)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # As the example project ships (docs/operations.md): statements prepared server-side.
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "officialaccount_webhook.api.authentication.ThrottledBasicAuthentication",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# As the example project: the API docs page's files from drf-spectacular-sidecar.
SPECTACULAR_SETTINGS = {
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"validatorUrl": None},
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Two apps: one signs its callbacks with a token (rotated: two are valid), one does not, and
# says explicitly that its unsigned callbacks are accepted (without that, they are refused).
SIGNED_APP = 1400000000
UNSIGNED_APP = 1400000001
OFFICIALACCOUNT_WEBHOOK = {
    # Each test that uses the spool points it at its own temporary directory.
    "SPOOL_DIR": str(Path(tempfile.gettempdir()) / f"officialaccount-webhook-spool-{os.getpid()}"),
    "APPS": {
        SIGNED_APP: {"CALLBACK_TOKENS": ["current-token", "previous-token"]},
        UNSIGNED_APP: {"ACCEPT_UNSIGNED": True},
    },
}
# With DEBUG off, that unsigned app is the Error E003, which would stop the commands that tests
# run in processes of their own (a task worker, officialaccount_replay). tests/test_checks.py
# shows the Error with nothing silenced.
SILENCED_SYSTEM_CHECKS = ["officialaccount_webhook.E003"]
