"""Each signal is sent with exactly the arguments its docstring documents."""

from __future__ import annotations

import ast
import inspect
import re
from itertools import pairwise
from typing import Any

import pytest
from django.dispatch import Signal

from officialaccount_webhook import signals
from officialaccount_webhook.models import (
    CallbackDelivery,
    OfficialAccount,
    OfficialAccountMessage,
)
from officialaccount_webhook.webhook.wire import AFTER_MSG_WITHDRAW
from tests.conftest import callback_query, sample

pytestmark = pytest.mark.django_db


def documented_arguments() -> dict[str, set[str]]:
    """Argument names from the "Arguments:" section of each signal's docstring in signals.py."""
    tree = ast.parse(inspect.getsource(signals))
    documented: dict[str, set[str]] = {}
    body = tree.body
    for statement, following in pairwise(body):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(statement.targets[0], ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
        ):
            name = statement.targets[0].id
            doc = str(following.value.value)
            section = doc.split("Arguments:", 1)[1]
            documented[name] = set(re.findall(r"^\s{4}(\w+):", section, re.MULTILINE))
    return documented


def test_every_signal_is_documented() -> None:
    declared = {name for name, value in vars(signals).items() if isinstance(value, Signal)}
    assert (
        set(documented_arguments())
        == declared
        == {
            "message_received",
            "message_recalled",
            "callback_received",
            "account_changed",
            "subscribers_changed",
        }
    )


def capture(signal: Signal, action: Any) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def receiver(**kwargs: Any) -> None:
        calls.append(kwargs)

    signal.connect(receiver)
    try:
        action()
    finally:
        signal.disconnect(receiver)
    return calls


def test_message_received_arguments(post_callback: Any) -> None:
    [call] = capture(signals.message_received, lambda: post_callback(sample("image")))
    assert set(call) - {"signal"} == documented_arguments()["message_received"]
    assert call["sender"] is OfficialAccountMessage
    assert isinstance(call["message"], OfficialAccountMessage)
    assert call["message"].pk is not None


def test_message_recalled_arguments(post_callback: Any) -> None:
    post_callback(sample("doc-example"))
    [call] = capture(
        signals.message_recalled,
        lambda: post_callback(sample("withdraw"), callback_query(command=AFTER_MSG_WITHDRAW)),
    )
    assert set(call) - {"signal"} == documented_arguments()["message_recalled"]
    assert call["sender"] is OfficialAccountMessage
    assert call["message"].recalled_at is not None


def test_callback_received_arguments(post_callback: Any) -> None:
    command = "Group.CallbackAfterSendMsg"
    payload = {"CallbackCommand": command, "GroupId": "@TGS#1"}
    [call] = capture(
        signals.callback_received, lambda: post_callback(payload, callback_query(command=command))
    )
    assert set(call) - {"signal"} == documented_arguments()["callback_received"]
    assert call["sender"] is CallbackDelivery
    assert call["command"] == command
    assert call["payload"] == payload
    assert call["sdk_app_id"] == 1400000000
    assert isinstance(call["delivery"], CallbackDelivery)


@pytest.mark.parametrize(
    ("signal_name", "sample_name"),
    [("account_changed", "oa-after-create"), ("subscribers_changed", "oa-after-add-subscriber")],
)
def test_account_signal_arguments(post_callback: Any, signal_name: str, sample_name: str) -> None:
    body = sample(sample_name)
    [call] = capture(
        getattr(signals, signal_name),
        lambda: post_callback(body, callback_query(command=body["CallbackCommand"])),
    )
    assert set(call) - {"signal"} == documented_arguments()[signal_name]
    assert call["sender"] is OfficialAccount
    assert call["account"].official_account == body["Official_Account"]
