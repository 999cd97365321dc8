"""What a hook decides (``Decision``), what the runner makes of the hooks (``Verdict``), and the
answer Tencent reads (``answer``), in the words of each command's contract (``commands``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..webhook.wire import MAX_INFO_LENGTH
from . import commands as c


class ContractError(ValueError):
    """A decision that the command's contract cannot answer (discarding a subscription, say)."""


@dataclass(frozen=True)
class Decision:
    """A hook's answer. Build one with :meth:`allow`, :meth:`refuse`, :meth:`discard`,
    :meth:`rewrite` or :meth:`refuse_subscribers`."""

    action: str
    reason: str = ""
    """Why: recorded; sent as ``ErrorInfo`` only with a code of the app's own."""
    error_code: int = 0
    msg_body: list[Any] | None = field(default=None, repr=False)
    cloud_custom_data: str | None = field(default=None, repr=False)
    refused_subscribers: tuple[str, ...] = ()

    @classmethod
    def allow(cls) -> Decision:
        """Let it happen as Tencent asked."""
        return cls(c.ALLOW)

    @classmethod
    def refuse(cls, reason: str = "", code: int = c.REFUSE) -> Decision:
        """Refuse it: ``code`` 1 (the sender of a message gets error 10016), or one of the
        app's own in [120001, 130000], which the caller receives with ``reason``."""
        if code != c.REFUSE and code not in c.CUSTOM_CODES:
            raise ContractError(f"a refusal's code is 1 or in [120001, 130000], not {code}")
        return cls(c.REFUSE_ALL, reason, code)

    @classmethod
    def discard(cls, reason: str = "") -> Decision:
        """Drop a message silently: its sender is told it was sent (``ErrorCode`` 2)."""
        return cls(c.DISCARD_ALL, reason, c.DISCARD)

    @classmethod
    def rewrite(
        cls,
        msg_body: list[Any] | None = None,
        cloud_custom_data: str | None = None,
        reason: str = "",
    ) -> Decision:
        """Send the message with this ``MsgBody`` and/or ``CloudCustomData`` instead."""
        if msg_body is None and cloud_custom_data is None:
            raise ContractError("a rewrite needs a MsgBody, a CloudCustomData, or both")
        if msg_body is not None and not (
            isinstance(msg_body, list) and all(isinstance(e, dict) for e in msg_body)
        ):
            raise ContractError("a rewritten MsgBody is a list of element objects")
        return cls(c.REWRITE, reason, 0, msg_body, cloud_custom_data)

    @classmethod
    def refuse_subscribers(cls, accounts: Iterable[str], reason: str = "") -> Decision:
        """Let the others subscribe, not these (``RefusedSubscribers_Account``)."""
        refused = tuple(dict.fromkeys(accounts))
        if not refused:
            raise ContractError("refusing subscribers needs at least one")
        return cls(c.REFUSE_SOME, reason, 0, refused_subscribers=refused)

    @property
    def allows(self) -> bool:
        """Plain allow: the next hook is asked. Anything else decides."""
        return self.action == c.ALLOW


ALLOWED = Decision.allow()


def check_contract(command: str, decision: Decision) -> None:
    """Raise :class:`ContractError` unless ``command``'s contract can answer ``decision``."""
    if decision.action not in c.ACTIONS.get(command, frozenset({c.ALLOW})):
        raise ContractError(f"{command} cannot answer {decision.action!r}")
    if decision.error_code in c.CUSTOM_CODES and command not in c.CUSTOM_CODE_COMMANDS:
        raise ContractError(f"{command} takes no code of the app's own, only 1")


@dataclass(frozen=True)
class Verdict:
    """What the hooks decided for one callback, and how."""

    decision: Decision
    hook: str = ""
    """The hook that decided, or that failed; empty when every hook allowed."""
    duration: float = 0.0
    """Seconds, from the callback's arrival at moderation to the decision."""
    fallback_applied: bool = False
    failure: str = ""
    dry_run: bool = False

    @property
    def answered(self) -> Decision:
        """What Tencent is told: the decision, or allow in a dry run."""
        return ALLOWED if self.dry_run else self.decision


def answer(decision: Decision) -> dict[str, Any]:
    """The envelope Tencent reads for ``decision``."""
    envelope: dict[str, Any] = {"ActionStatus": "OK", "ErrorCode": decision.error_code}
    custom = decision.error_code in c.CUSTOM_CODES
    # Tencent hands ErrorInfo to the caller with a code of the app's own; with 1 or 2 the reason
    # is the app's to keep (a keyword found is not the sender's to learn).
    envelope["ErrorInfo"] = decision.reason[:MAX_INFO_LENGTH] if custom else ""
    if decision.action == c.REWRITE:
        if decision.msg_body is not None:
            envelope["MsgBody"] = decision.msg_body
        if decision.cloud_custom_data is not None:
            envelope["CloudCustomData"] = decision.cloud_custom_data
    if decision.action == c.REFUSE_SOME:
        envelope["RefusedSubscribers_Account"] = list(decision.refused_subscribers)
    return envelope
