"""Tencent's REST API, at the path it had before its room: it lives in
``officialaccount_webhook.tencent``, and every name that exports is importable from here too
(docs/upgrading.md)."""

from ..tencent import *  # noqa: F403  (the same names, by design)
from ..tencent import __all__ as __all__
