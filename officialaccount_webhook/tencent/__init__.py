"""Tencent Chat's REST API: the transport, UserSig, and one module per API family. Usable
without the admin, the webhook or the models."""

from .accounts import AccountInfo, SubscribedAccount
from .client import REGIONS, TencentChatClient, client_for
from .errors import (
    AppUnavailableError,
    AuthenticationError,
    InvalidRequestError,
    OfficialAccountNotFoundError,
    PermissionDeniedError,
    ProfileLimitError,
    RateLimitedError,
    TencentApiError,
    TencentChatError,
    TencentInternalError,
    TencentTransportError,
)
from .messages import RecallReply
from .subscribers import (
    SubscriberInfo,
    SubscriberPage,
    SubscriberPagingError,
    SubscriberResults,
)
from .usersig import generate_usersig

__all__ = [
    "REGIONS",
    "AccountInfo",
    "AppUnavailableError",
    "AuthenticationError",
    "InvalidRequestError",
    "OfficialAccountNotFoundError",
    "PermissionDeniedError",
    "ProfileLimitError",
    "RateLimitedError",
    "RecallReply",
    "SubscribedAccount",
    "SubscriberInfo",
    "SubscriberPage",
    "SubscriberPagingError",
    "SubscriberResults",
    "TencentApiError",
    "TencentChatClient",
    "TencentChatError",
    "TencentInternalError",
    "TencentTransportError",
    "client_for",
    "generate_usersig",
]
