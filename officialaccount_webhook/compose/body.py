"""A whole message to send, checked before any call: its elements, its size, what goes with it.

Tencent's rules for a message (protocol notes, section 4): at least one element, at most one
``TIMCustomElem``, at most 12 K. Whether the 12 K counts ``CloudCustomData`` is not stated:
it is counted here on ``MsgBody`` alone, as Tencent stores it, so that nothing Tencent would
take is refused [inferred]; K is read as 1024 bytes of UTF-8 JSON [inferred].
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from ..elements import CUSTOM
from .elements import Element, ElementError, Text, from_wire
from .wire import check_text

MAX_MESSAGE_BYTES = 12 * 1024


@dataclass(frozen=True)
class Outgoing:
    """A message ready to send: ``msg_body`` as Tencent takes it, and what goes with it."""

    msg_body: list[dict[str, Any]]
    cloud_custom_data: str = ""
    online_only: bool = False
    offline_push_info: dict[str, Any] | None = None


def message_body(elements: Iterable[Element | Mapping[str, Any] | str]) -> list[dict[str, Any]]:
    """``MsgBody`` for ``elements``: builders, elements as JSON (``from_wire``) or plain
    strings (a text element each); raises :class:`ElementError` for what Tencent would
    refuse."""
    built = [_element(element) for element in elements]
    if not built:
        raise ElementError(_("A message needs at least one element."))
    if sum(element.MSG_TYPE == CUSTOM for element in built) > 1:
        raise ElementError(_("A message holds at most one %(element)s.") % {"element": CUSTOM})
    body = [element.as_wire() for element in built]
    size = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_MESSAGE_BYTES:
        raise ElementError(
            _("The message is %(size)d bytes; Tencent takes at most %(max)d (12 K).")
            % {"size": size, "max": MAX_MESSAGE_BYTES}
        )
    return body


def outgoing(
    elements: Iterable[Element | Mapping[str, Any] | str],
    *,
    cloud_custom_data: str = "",
    online_only: bool = False,
    offline_push_info: Mapping[str, Any] | None = None,
) -> Outgoing:
    """The message and its options, checked (:class:`ElementError` says what is wrong)."""
    check_text("CloudCustomData", cloud_custom_data)
    if not isinstance(online_only, bool):
        raise ElementError(_("online_only must be True or False."))
    push: dict[str, Any] | None = None
    if offline_push_info is not None:
        if not isinstance(offline_push_info, Mapping):
            raise ElementError(_("OfflinePushInfo must be a JSON object."))
        push = dict(offline_push_info)
        try:
            json.dumps(push, ensure_ascii=False).encode()
        except (TypeError, ValueError) as exc:
            # Python's own reason (json's message) stays as Python says it.
            raise ElementError(
                _("OfflinePushInfo is not JSON: %(error)s") % {"error": exc}
            ) from None
    return Outgoing(message_body(elements), cloud_custom_data, online_only, push)


def _element(element: Element | Mapping[str, Any] | str) -> Element:
    if isinstance(element, Element):
        return element
    if isinstance(element, str):
        return Text(element)
    return from_wire(element)
