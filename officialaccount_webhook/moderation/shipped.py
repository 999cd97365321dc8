"""Hooks that come with the app, besides the keyword hook (``keywords.refuse_keywords``):

* ``refuse_malformed``: a message over ``MODERATION_MAX_MESSAGE_BYTES``, with an element type
  outside ``MODERATION_ELEMENT_TYPES``, or with a custom element whose fields are not strings;
* ``refuse_denied``: the deny list (``DenyListEntry``): an official account that may not send,
  subscribers refused one by one, operators and owners refused outright.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import router
from django.db.models import Q

from ..conf import get_settings
from ..elements import CUSTOM, KNOWN_TYPES, content_of, type_of
from ..models import DenyListEntry
from .decisions import Decision
from .events import BeforeAddSubscriber, BeforeCreateAccount, BeforeSend, HookEvent

Kind = DenyListEntry.Kind
# TIMCustomElem's fields are strings (protocol notes, section 4).
_CUSTOM_FIELDS = ("Data", "Desc", "Ext", "Sound")


def refuse_malformed(event: HookEvent) -> Decision:
    """Refuse a message too large, of an element type not allowed, or with a malformed custom
    element; allow anything else (and every other command)."""
    callback = event.callback
    if not isinstance(callback, BeforeSend):
        return Decision.allow()
    conf = get_settings().moderation
    size = len(json.dumps(callback.msg_body, ensure_ascii=False, separators=(",", ":")).encode())
    if size > conf.max_message_bytes:
        return Decision.refuse(f"MsgBody of {size} bytes, over {conf.max_message_bytes}")
    allowed = conf.element_types if conf.element_types is not None else KNOWN_TYPES
    for index, element in enumerate(callback.msg_body):
        msg_type = type_of(element)
        if msg_type not in allowed:
            return Decision.refuse(f"MsgBody[{index}]: element type {msg_type!r} is not allowed")
        if msg_type == CUSTOM and (problem := _custom_problem(element)):
            return Decision.refuse(f"MsgBody[{index}]: {problem}")
    return Decision.allow()


def _custom_problem(element: Any) -> str:
    if not isinstance(element.get("MsgContent"), dict):
        return "a custom element needs a MsgContent object"
    content = content_of(element)
    for key in _CUSTOM_FIELDS:
        if key in content and not isinstance(content[key], str):
            return f"a custom element's {key} must be a string"
    return ""


def refuse_denied(event: HookEvent) -> Decision:
    """Refuse what the deny list names; one query per callback."""
    callback = event.callback
    if isinstance(callback, BeforeSend):
        denied = _denied(event.sdk_app_id, {Kind.OFFICIAL_ACCOUNT: [callback.official_account]})
        if denied:
            return Decision.refuse(f"official account {callback.official_account} is denied")
    elif isinstance(callback, BeforeAddSubscriber):
        denied = _denied(
            event.sdk_app_id,
            {
                Kind.OPERATOR: [callback.operator_account],
                Kind.SUBSCRIBER: list(callback.subscriber_accounts),
            },
        )
        if (Kind.OPERATOR, callback.operator_account) in denied:
            return Decision.refuse(f"operator {callback.operator_account} is denied")
        refused = [a for a in callback.subscriber_accounts if (Kind.SUBSCRIBER, a) in denied]
        if refused:
            return Decision.refuse_subscribers(refused, f"denied: {', '.join(refused)}")
    elif isinstance(callback, BeforeCreateAccount):
        wanted: dict[str, list[str]] = {
            Kind.OPERATOR: [callback.operator_account],
            Kind.OWNER: [callback.owner_account],
        }
        if denied := _denied(event.sdk_app_id, wanted):
            kind, account = sorted(denied)[0]
            return Decision.refuse(f"{kind} {account} is denied")
    return Decision.allow()


def _denied(sdk_app_id: int, wanted: dict[str, list[str]]) -> set[tuple[str, str]]:
    """The (kind, account) pairs of ``wanted`` that the deny list holds for the app."""
    condition = Q()
    for kind, accounts in wanted.items():
        if accounts := [account for account in accounts if account]:
            condition |= Q(kind=kind, account__in=accounts)
    if not condition:
        return set()
    entries = DenyListEntry.objects.using(router.db_for_read(DenyListEntry)).filter(
        Q(sdk_app_id=sdk_app_id) | Q(sdk_app_id__isnull=True), condition
    )
    return {(str(kind), account) for kind, account in entries.values_list("kind", "account")}
