"""The parameters Tencent appends to the webhook URL."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from ..redaction import REDACTED, is_sign_name
from ..values import parse_sdk_app_id
from .wire import MAX_OPT_PLATFORM_LENGTH


@dataclass(frozen=True)
class CallbackQuery:
    """The parameters Tencent appends to the webhook URL, parsed by name (their order varies).

    ``sdk_app_id`` is ``None`` when ``SdkAppid`` is missing or not a number. ``client_ip`` and
    ``opt_platform`` describe the event, not the request; a value that does not have their shape
    is dropped (and kept in ``redacted_query``) rather than costing the message, because they
    are metadata and Tencent does not retry.
    """

    sdk_app_id: int | None
    command: str
    sign: str = field(repr=False)
    request_time: str
    client_ip: str | None
    opt_platform: str
    redacted_query: str

    @classmethod
    def from_query_string(cls, query_string: str) -> CallbackQuery:
        # Invalid UTF-8 becomes U+FFFD (parse_qsl's default), and so does NUL, which PostgreSQL
        # cannot store: a mangled value then fails validation instead of failing the INSERT.
        pairs = [
            (name, value.replace("\x00", "\ufffd"))
            for name, value in parse_qsl(query_string, keep_blank_values=True)
        ]
        # The last value wins for a repeated name, as with Django's QueryDict.
        params = {name: value for name, value in pairs}
        return cls(
            sdk_app_id=parse_sdk_app_id(params.get("SdkAppid", "")),
            command=params.get("CallbackCommand", ""),
            sign=params.get("Sign", ""),
            request_time=params.get("RequestTime", ""),
            client_ip=parse_ip(params.get("ClientIP", "")),
            opt_platform=_parse_opt_platform(params.get("OptPlatform", "")),
            redacted_query=urlencode(
                [(name, REDACTED if is_sign_name(name) else value) for name, value in pairs]
            ),
        )


def parse_ip(value: str) -> str | None:
    """The address in canonical form, or None when ``value`` is not a storable IP address.

    An IPv6 zone ("fe80::1%eth0") is refused: it names an interface of the sender's machine,
    means nothing here, and PostgreSQL's inet type cannot store it.
    """
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return None
    return str(address)


def _parse_opt_platform(value: str) -> str:
    # Tencent documents a handful of values and two spellings of some; keep any short string.
    return value if len(value) <= MAX_OPT_PLATFORM_LENGTH else ""
