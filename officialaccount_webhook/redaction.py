"""What stands in for a secret wherever the app would otherwise show it: a stored query
string, a log line, an error from Tencent that echoes a request."""

from __future__ import annotations

REDACTED = "[redacted]"


def is_sign_name(name: str) -> bool:
    """Whether a decoded query parameter name is Tencent's ``Sign`` (any case)."""
    return name.lower() == "sign"
