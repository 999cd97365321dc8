"""Moderation: the project's hooks answer Tencent's "before" callbacks (sending a message,
subscribing, creating an account) within a budget, and every decision is recorded.

A hook takes a :class:`HookEvent` and returns a :class:`Decision`; it is registered by a dotted
path in ``MODERATION_HOOKS`` or with the :func:`hook` decorator. ``shipped`` holds the hooks
that come with the app. docs/moderation.md tells the whole contract.

Only the light parts are imported here (no models), so that the webhook's event parser can
import the events.
"""

from .commands import BEFORE_ADD_SUBSCRIBER, BEFORE_COMMANDS, BEFORE_CREATE_ACCOUNT, BEFORE_SEND_MSG
from .decisions import ContractError, Decision, Verdict
from .events import BeforeAddSubscriber, BeforeCreateAccount, BeforeEvent, BeforeSend, HookEvent
from .registry import hook, hooks_for, unregister

__all__ = [
    "BEFORE_ADD_SUBSCRIBER",
    "BEFORE_COMMANDS",
    "BEFORE_CREATE_ACCOUNT",
    "BEFORE_SEND_MSG",
    "BeforeAddSubscriber",
    "BeforeCreateAccount",
    "BeforeEvent",
    "BeforeSend",
    "ContractError",
    "Decision",
    "HookEvent",
    "Verdict",
    "hook",
    "hooks_for",
    "unregister",
]
