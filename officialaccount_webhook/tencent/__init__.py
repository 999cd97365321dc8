"""Tencent Chat's REST API: the transport, UserSig, and one module per API family. Usable
without the admin, the webhook or the models."""

from .client import REGIONS, TencentChatClient, client_for
from .errors import TencentApiError, TencentChatError, TencentTransportError
from .messages import RecallReply
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
