"""The counts that every run storing messages after the fact reports alike: a backfill from
Tencent's history (``messages.reconcile``) and the reprocessing of refused callbacks
(``reprocess``). Each report adds what only its run has."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StoreTally:
    """What a run did with the messages it handed to the storage seam, or held back from it."""

    stored: int = 0
    """New messages, stored now."""
    already_stored: int = 0
    """Messages stored before under the same key: nothing of them was written again."""
    pruned: int = 0
    """Messages this app pruned (their tombstones say so), not stored again."""

    def count_stored(self, new: bool) -> None:
        """Count one message the storage seam took: ``new``, or stored before."""
        if new:
            self.stored += 1
        else:
            self.already_stored += 1
