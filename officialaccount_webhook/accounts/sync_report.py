"""What a sync of one account reports, and how an interrupted one says how far it got."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SyncReport:
    """What one account's sync found and changed."""

    sdk_app_id: int
    official_account: str
    new: bool = False
    """The mirror did not know the account before."""
    gone: bool = False
    """Tencent does not have the account (does not exist, or destroyed)."""
    destroyed: bool = False
    """This run marked it destroyed."""
    changed_fields: list[str] = field(default_factory=list)
    subscriber_count: int | None = None
    """Tencent's count."""
    pages: int = 0
    seen: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    complete: bool = False

    @property
    def changed(self) -> bool:
        """Whether this run changed the mirror (beyond its ``synced_at`` stamps)."""
        facts = (self.new, self.destroyed, self.changed_fields, self.added, self.removed)
        return any(facts) or bool(self.updated)


class SyncInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sync: what was committed stays, ``report`` says how far it got."""

    def __init__(self, report: SyncReport) -> None:
        super().__init__(report.official_account)
        self.report = report
