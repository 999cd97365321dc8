"""The chart's rollup of messages per account and local day (``models.volume``), kept right
from the message table: ``refresh`` (``rollup.py``), run by ``officialaccount_rollup`` and, within
its budget, by the admin's chart. Nothing on the webhook's path writes to it."""

from .rollup import SETTLE, Refreshed, refresh, stale_days

__all__ = ["SETTLE", "Refreshed", "refresh", "stale_days"]
