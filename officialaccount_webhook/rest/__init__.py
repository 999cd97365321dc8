"""Tencent Chat's REST API: the client and UserSig generation. Usable without the admin."""

from .client import (
    REGIONS,
    RecallReply,
    TencentApiError,
    TencentChatClient,
    TencentChatError,
    TencentTransportError,
    client_for,
)
from .usersig import generate_usersig

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
