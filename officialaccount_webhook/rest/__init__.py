"""Deprecated path: Tencent's REST API lives in ``officialaccount_webhook.tencent``; these
names stay importable from here (docs/upgrading.md)."""

from ..tencent import (
    REGIONS,
    RecallReply,
    TencentApiError,
    TencentChatClient,
    TencentChatError,
    TencentTransportError,
    client_for,
    generate_usersig,
)

__all__ = [
    "REGIONS",
    "RecallReply",
    "TencentApiError",
    "TencentChatClient",
    "TencentChatError",
    "TencentTransportError",
    "client_for",
    "generate_usersig",
]
