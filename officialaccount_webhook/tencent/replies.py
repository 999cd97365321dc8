"""Reading Tencent's replies tolerantly: a missing, odd or extra field never crashes a call.

Shared by the client (``ErrorCode``, ``ErrorInfo``) and the API families (``RetCode`` and the
like).
"""

from __future__ import annotations

import re
from typing import Any

_INT32 = range(-(2**31), 2**31)
_INTEGER = re.compile(r"-?[0-9]{1,10}")


def as_int(value: Any) -> int | None:
    """An error or return code as an int, or None when it is not a plausible one."""
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value not in _INT32:
        return None
    return value


def error_code(reply: dict[str, Any]) -> int | None:
    """``ErrorCode`` as an int; without one, 0 if ``ActionStatus`` is OK, else None (failed)."""
    code = as_int(reply.get("ErrorCode"))
    if code is None and "ErrorCode" not in reply and reply.get("ActionStatus") == "OK":
        return 0
    return code


def error_info(reply: dict[str, Any]) -> str:
    info = reply.get("ErrorInfo")
    return info if isinstance(info, str) and info else "no ErrorInfo"
