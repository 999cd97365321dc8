"""The "before" callbacks as typed events, and what a hook is given (``HookEvent``).

Bodies from Tencent's pages 60803, 60799 and 60795 (samples ``oa-before-*.json``). Read like the
after-callbacks (``webhook.fields``): a field whose meaning is in doubt is refused with its name,
``EventTime`` is optional here since nothing is ordered by it. ``verdict`` is filled in by
moderation before the event is stored, so that its delivery record keeps the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..webhook import event_fields, fields
from .commands import BEFORE_ADD_SUBSCRIBER, BEFORE_CREATE_ACCOUNT, BEFORE_SEND_MSG
from .decisions import Verdict

if TYPE_CHECKING:
    from ..conf import TencentApp
    from ..models import OfficialAccount


@dataclass(frozen=True)
class BeforeSend:
    """``OfficialAccount.CallbackBeforeSendMsg``: a message is about to be delivered."""

    command: str
    official_account: str
    online_only: bool
    msg_body: list[Any]
    cloud_custom_data: str
    event_time: datetime | None
    payload: dict[str, Any] = field(repr=False)
    verdict: Verdict | None = field(default=None, repr=False)

    @classmethod
    def from_payload(cls, command: str, payload: dict[str, Any]) -> BeforeSend:
        repairs: fields.Repairs = []
        return cls(
            command=command,
            official_account=event_fields.official_account(payload),
            **event_fields.message_parts(payload, repairs),
            event_time=event_fields.optional_event_time(payload, repairs),
            payload=payload,
        )


@dataclass(frozen=True)
class BeforeAddSubscriber:
    """``OfficialAccount.CallbackBeforeAddSubscriber``: users are about to subscribe."""

    command: str
    official_account: str
    operator_account: str
    subscriber_accounts: tuple[str, ...]
    event_time: datetime | None
    payload: dict[str, Any] = field(repr=False)
    verdict: Verdict | None = field(default=None, repr=False)

    @classmethod
    def from_payload(cls, command: str, payload: dict[str, Any]) -> BeforeAddSubscriber:
        repairs: fields.Repairs = []
        return cls(
            command=command,
            **event_fields.subscription(payload, repairs),
            event_time=event_fields.optional_event_time(payload, repairs),
            payload=payload,
        )


@dataclass(frozen=True)
class BeforeCreateAccount:
    """``OfficialAccount.CallbackBeforeCreateOfficialAccount``: an account is about to be
    created (no ``Official_Account`` yet)."""

    command: str
    operator_account: str
    owner_account: str
    name: str
    event_time: datetime | None
    payload: dict[str, Any] = field(repr=False)
    verdict: Verdict | None = field(default=None, repr=False)
    official_account: str = ""

    @classmethod
    def from_payload(cls, command: str, payload: dict[str, Any]) -> BeforeCreateAccount:
        repairs: fields.Repairs = []
        return cls(
            command=command,
            operator_account=fields.optional_text(payload, "Operator_Account", repairs),
            owner_account=fields.optional_text(payload, "Owner_Account", repairs),
            name=fields.optional_text(payload, "Name", repairs),
            event_time=event_fields.optional_event_time(payload, repairs),
            payload=payload,
        )


BeforeEvent = BeforeSend | BeforeAddSubscriber | BeforeCreateAccount

_PARSERS: dict[str, type[BeforeSend] | type[BeforeAddSubscriber] | type[BeforeCreateAccount]] = {
    BEFORE_SEND_MSG: BeforeSend,
    BEFORE_ADD_SUBSCRIBER: BeforeAddSubscriber,
    BEFORE_CREATE_ACCOUNT: BeforeCreateAccount,
}


def parse_before(command: str, payload: dict[str, Any]) -> BeforeEvent:
    """The typed event of a before-command's body (``commands.BEFORE_COMMANDS``)."""
    return _PARSERS[command].from_payload(command, payload)


@dataclass(frozen=True)
class HookEvent:
    """What a hook is given: the callback, its app, and the account as the mirror has it."""

    callback: BeforeEvent
    sdk_app_id: int
    app: TencentApp | None = None
    account: OfficialAccount | None = None
    """The mirror's row for ``callback.official_account``; None when unknown, or when the
    database could not be asked."""

    @property
    def command(self) -> str:
        return self.callback.command
