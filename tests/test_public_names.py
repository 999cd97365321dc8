"""Every public name the docs show imports from the path the docs give, and the paths that
moved in the restructuring still give the same objects (docs/upgrading.md)."""

from __future__ import annotations

import importlib

import pytest
from django.core.management import get_commands
from django.dispatch import Signal

DOCUMENTED = [
    ("officialaccount_webhook.signals", "message_received"),
    ("officialaccount_webhook.signals", "message_recalled"),
    ("officialaccount_webhook.signals", "callback_received"),
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

    for name in ("message_received", "message_recalled", "callback_received"):
        assert isinstance(getattr(signals, name), Signal)


def test_get_by_msg_key_is_on_the_manager() -> None:
    from officialaccount_webhook.models import OfficialAccountMessage

    assert callable(OfficialAccountMessage.objects.get_by_msg_key)


def test_every_command_is_there() -> None:
    commands = get_commands()
    assert {name: commands.get(name) for name in COMMANDS} == dict.fromkeys(
        COMMANDS, "officialaccount_webhook"
    )
