"""The example project takes its configuration from the environment only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHOW = """
import json
from django.conf import settings
from officialaccount_webhook.conf import get_settings

apps = {
    str(key): [list(app.callback_tokens), app.secret_key, app.admin_identifier, app.region,
               app.api_base_url]
    for key, app in get_settings().apps.items()
}
database = settings.DATABASES["default"]
print(json.dumps({
    "apps": apps,
    "db": database["ENGINE"],
    "name": str(database["NAME"]),
    "debug": settings.DEBUG,
    "hosts": settings.ALLOWED_HOSTS,
    "signal_mode": get_settings().signal_mode,
    "unsigned": {str(key): app.accept_unsigned for key, app in get_settings().apps.items()},
    "api_auth": settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"],
    "installed": settings.INSTALLED_APPS,
}))
"""


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TENCENT_CHAT_", "DJANGO_", "DATABASE_URL", "OFFICIALACCOUNT_"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def show(**env: str) -> dict[str, object]:
    result = manage("shell", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_are_sqlite_in_the_project_folder_and_no_app() -> None:
    config = show()
    assert config["apps"] == {}
    assert config["db"] == "django.db.backends.sqlite3"
    assert config["name"] == str(ROOT / "project" / "db.sqlite3")
    assert config["debug"] is True


def test_app_and_rotated_tokens_from_the_environment() -> None:
    config = show(
        TENCENT_CHAT_SDKAPPID="1400000000",
        TENCENT_CHAT_CALLBACK_TOKEN="new-token, old-token",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        DJANGO_ALLOWED_HOSTS="chat.example.com,api.example.com",
    )
    assert config["apps"] == {
        "1400000000": [["new-token", "old-token"], "", "administrator", "", ""]
    }
    assert config["db"] == "django.db.backends.postgresql"
    assert config["hosts"] == ["chat.example.com", "api.example.com"]


def test_production_mode_requires_a_secret_key() -> None:
    result = manage("check", DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "Set DJANGO_SECRET_KEY" in result.stderr
    config = show(DJANGO_DEBUG="false", DJANGO_SECRET_KEY="x" * 50)
    assert config["debug"] is False


def test_check_warns_about_a_missing_token_in_production() -> None:
    result = manage(
        "check", TENCENT_CHAT_SDKAPPID="1400000000", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 50
    )
    assert result.returncode == 0
    assert "officialaccount_webhook.W002" in result.stderr


def test_no_token_accepts_unsigned_callbacks_only_in_debug() -> None:
    """Fail closed: an empty token list (unset, empty, or only commas and spaces) accepts
    unsigned callbacks on a developer's machine and nowhere else."""
    production = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50}
    for token in ("", " , "):
        app = {"TENCENT_CHAT_SDKAPPID": "1400000000", "TENCENT_CHAT_CALLBACK_TOKEN": token}
        config = show(**app, **production)
        assert config["apps"]["1400000000"][0] == []
        assert config["unsigned"] == {"1400000000": False}
        result = manage("check", **app, **production)
        assert result.returncode == 0, result.stderr
        assert "officialaccount_webhook.W002" in result.stderr
        assert "officialaccount_webhook.E003" not in result.stderr
        local = show(**app)
        assert (local["debug"], local["unsigned"]) == (True, {"1400000000": True})
        # The start-up log says so, once per process.
        started = manage("check", **app)
        assert started.returncode == 0, started.stderr
        assert started.stderr.count("1400000000 accepts unsigned callbacks") == 1


def test_rest_settings_from_the_environment() -> None:
    config = show(
        TENCENT_CHAT_SDKAPPID="1400000000",
        TENCENT_CHAT_SECRET_KEY="s3cret",
        TENCENT_CHAT_ADMIN_IDENTIFIER="ops",
        TENCENT_CHAT_REGION="singapore",
        TENCENT_CHAT_API_BASE_URL="http://127.0.0.1:9000",
    )
    assert config["apps"] == {
        "1400000000": [[], "s3cret", "ops", "singapore", "http://127.0.0.1:9000"]
    }


def test_signal_mode_from_the_environment_with_a_worker_ready() -> None:
    assert show()["signal_mode"] == "on_commit"
    assert show(OFFICIALACCOUNT_SIGNAL_MODE="task")["signal_mode"] == "task"
    # The task backend is installed and configured: no task-mode warning (W010 to W012).
    result = manage("check", OFFICIALACCOUNT_SIGNAL_MODE="task")
    assert result.returncode == 0, result.stderr
    assert "officialaccount_webhook.W01" not in result.stderr
    assert "db_worker" in manage("help").stdout


def test_rest_api_basic_authentication_is_off_unless_asked_for_and_then_throttled() -> None:
    session = "rest_framework.authentication.SessionAuthentication"
    token = "rest_framework.authentication.TokenAuthentication"
    throttled = "officialaccount_webhook.api.authentication.ThrottledBasicAuthentication"
    default = show()
    assert default["api_auth"] == [session, token]
    assert "rest_framework.authtoken" in default["installed"]
    assert show(OFFICIALACCOUNT_API_BASIC_AUTH="1")["api_auth"] == [session, token, throttled]
    assert show(OFFICIALACCOUNT_API_BASIC_AUTH="0")["api_auth"] == [session, token]
    # The tokens' table comes with its migrations.
    plan = manage("migrate", "--plan", DATABASE_URL="sqlite://:memory:")
    assert plan.returncode == 0, plan.stderr
    assert "authtoken.0001_initial" in plan.stdout


def test_the_commands_language_from_the_environment() -> None:
    chinese = manage("officialaccount_prune", "--batch-size", "0", DJANGO_LANGUAGE_CODE="zh-hans")
    assert chinese.returncode != 0
    assert "--batch-size 至少为 1。" in chinese.stderr
    english = manage("officialaccount_prune", "--batch-size", "0")
    assert "--batch-size must be at least 1." in english.stderr


def test_the_version_moves_with_the_changelog() -> None:
    import re

    from officialaccount_webhook import __version__

    changelog = (ROOT / "CHANGELOG.md").read_text()
    released = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)
    assert released[0] == __version__
