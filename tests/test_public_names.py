"""Every public name the docs show imports from the path the docs give, and the paths that
moved in the restructuring still give the same objects (docs/upgrading.md). Every dotted name
the docs give as code exists, every command is there, and docs/settings.md's table names
exactly the settings the app reads."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import get_commands
from django.dispatch import Signal

from officialaccount_webhook.conf.schema import APP_KEYS, TOP_LEVEL_KEYS

DOCS = Path(__file__).resolve().parent.parent / "docs"

DOCUMENTED = [
    ("officialaccount_webhook.signals", "message_received"),
    ("officialaccount_webhook.signals", "message_recalled"),
    ("officialaccount_webhook.signals", "callback_received"),
    ("officialaccount_webhook.signals", "account_changed"),
    ("officialaccount_webhook.signals", "subscribers_changed"),
    ("officialaccount_webhook.models", "OfficialAccountMessage"),
    ("officialaccount_webhook.models", "CallbackDelivery"),
    ("officialaccount_webhook.models", "AppGrant"),
    ("officialaccount_webhook.scope", "visible_app_ids"),
    ("officialaccount_webhook.scope", "scoped"),
    ("officialaccount_webhook.scope", "can_act_on"),
    ("officialaccount_webhook.views", "CallbackView"),
    ("officialaccount_webhook.urls", "urlpatterns"),
    ("officialaccount_webhook.api.urls", "urlpatterns"),
    ("officialaccount_webhook.recall", "recall_messages"),
    ("officialaccount_webhook.recall", "RecallError"),
    ("officialaccount_webhook.rest", "client_for"),
    ("officialaccount_webhook.rest", "TencentChatError"),
    ("officialaccount_webhook.log", "RedactSignFilter"),
    ("officialaccount_webhook.signal_tasks", "ReceiverFailed"),
]

# Old path → where the object lives now: the same object, not a copy.
MOVED = [
    ("officialaccount_webhook.views", "CallbackView", "officialaccount_webhook.webhook.views"),
    (
        "officialaccount_webhook.recall",
        "recall_messages",
        "officialaccount_webhook.messages.recall",
    ),
    ("officialaccount_webhook.recall", "RecallOutcome", "officialaccount_webhook.messages.recall"),
    ("officialaccount_webhook.rest", "client_for", "officialaccount_webhook.tencent"),
    ("officialaccount_webhook.rest", "generate_usersig", "officialaccount_webhook.tencent"),
    ("officialaccount_webhook.security", "compute_sign", "officialaccount_webhook.webhook.auth"),
    ("officialaccount_webhook.protocol", "AFTER_SEND_MSG", "officialaccount_webhook.webhook.wire"),
    ("officialaccount_webhook.protocol", "SentMessage", "officialaccount_webhook.webhook.events"),
    ("officialaccount_webhook.protocol", "CallbackQuery", "officialaccount_webhook.webhook.query"),
    *(
        ("officialaccount_webhook.protocol", name, "officialaccount_webhook.webhook.wire")
        for name in (
            "BodyTooLarge",
            "InternalError",
            "MethodNotAllowed",
            "MAX_INFO_LENGTH",
            "MAX_NESTING_DEPTH",
            "MAX_OPT_PLATFORM_LENGTH",
        )
    ),
    ("officialaccount_webhook.views", "AlwaysJSON", "officialaccount_webhook.webhook.views"),
    (
        "officialaccount_webhook.recall",
        "REQUESTED_BY_LENGTH",
        "officialaccount_webhook.models.base",
    ),
    (
        "officialaccount_webhook.models",
        "ELEMENT_TYPES_LENGTH",
        "officialaccount_webhook.models.messages",
    ),
    (
        "officialaccount_webhook.signal_tasks",
        "ReceiverFailed",
        "officialaccount_webhook.notify.task",
    ),
]

COMMANDS = [
    "officialaccount_backfill",
    "officialaccount_drain_spool",
    "officialaccount_export",
    "officialaccount_gaps",
    "officialaccount_prune",
    "officialaccount_recall",
    "officialaccount_replay",
    "officialaccount_reprocess",
    "officialaccount_rollup",
    "officialaccount_send",
    "officialaccount_send_test_callback",
    "officialaccount_sync",
]


@pytest.mark.parametrize(("module", "name"), DOCUMENTED)
def test_documented_names_import(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_moved_names_are_the_same_objects(old: str, name: str, new: str) -> None:
    assert getattr(importlib.import_module(old), name) is getattr(
        importlib.import_module(new), name
    )


def test_the_signals_are_signals() -> None:
    from officialaccount_webhook import signals

    documented = {name for module, name in DOCUMENTED if module == signals.__name__}
    defined = {name for name, value in vars(signals).items() if isinstance(value, Signal)}
    assert documented == defined
    assert len(defined) == 5


def test_get_by_msg_key_is_on_the_manager() -> None:
    from officialaccount_webhook.models import OfficialAccountMessage

    assert callable(OfficialAccountMessage.objects.get_by_msg_key)


def test_every_command_is_there() -> None:
    commands = get_commands()
    assert {name: commands.get(name) for name in COMMANDS} == dict.fromkeys(
        COMMANDS, "officialaccount_webhook"
    )


def documented_settings() -> set[str]:
    """The settings docs/settings.md's table names: ``KEY``, or ``APPS[id]["KEY"]``."""
    page = (DOCS / "settings.md").read_text()
    table = page[page.index("| Key | Type | Default | Meaning |") :].split("\n\n")[0]
    row = re.compile(r'^\| `(?:APPS\[id\]\["(?P<app>[A-Z_]+)"\]|(?P<top>[A-Z_]+))` \|', re.M)
    found = row.finditer(table)
    return {f"APPS.{match['app']}" if match["app"] else match["top"] for match in found}


def test_every_setting_is_documented_and_every_documented_one_is_read() -> None:
    assert documented_settings() == TOP_LEVEL_KEYS | {f"APPS.{key}" for key in APP_KEYS}


def resolve(dotted: str) -> Any:
    """The module, or the attribute of the longest importable module, a dotted path names."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        module = ".".join(parts[:split])
        try:
            found: Any = importlib.import_module(module)
        except ModuleNotFoundError as missing:
            if missing.name != module:
                raise  # the module exists, and fails on an import of its own
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


def permissions() -> set[str]:
    """``officialaccount_webhook.<codename>`` of every permission the app's models define."""
    codenames = set()
    for model in apps.get_app_config("officialaccount_webhook").get_models():
        meta = model._meta
        codenames |= {f"{action}_{meta.model_name}" for action in meta.default_permissions}
        codenames |= {codename for codename, _name in meta.permissions}
    return {f"officialaccount_webhook.{codename}" for codename in codenames}


def named_in_docs() -> list[str]:
    """Every ``officialaccount_webhook.…`` the current docs name in code: inline, in a block,
    in a string (``include("officialaccount_webhook.urls")``). The upgrading notes and the
    CHANGELOG name what is gone on purpose."""
    pages = [page for page in DOCS.glob("*.md") if page.name != "upgrading.md"]
    pages.append(DOCS.parent / "README.md")
    code = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
    dotted = re.compile(r"\bofficialaccount_webhook(?:\.\w+)+")
    check_id = re.compile(r"officialaccount_webhook\.[EW]\d{3}")  # test_checks has those
    found = {
        name
        for page in pages
        for span in code.findall(page.read_text())
        for name in dotted.findall(span)
    }
    return sorted(name for name in found if not check_id.fullmatch(name))


def test_the_docs_name_many_things() -> None:
    assert len(named_in_docs()) >= 30


@pytest.mark.parametrize("dotted", named_in_docs())
def test_every_name_the_docs_give_exists(dotted: str) -> None:
    assert dotted in permissions() or resolve(dotted) is not None
