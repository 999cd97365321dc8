"""What a REST call that did not succeed raises: Tencent's refusal, or no usable answer."""

from __future__ import annotations

# Codes after which the request may have been carried out although it failed (60008: Tencent's
# own timeout): a retry's answer then says nothing certain about the first attempt.
MAYBE_CARRIED_OUT_CODES = frozenset({60008})


class TencentChatError(Exception):
    """A REST call that did not succeed. ``error_code`` is Tencent's ``ErrorCode``, if any."""

    def __init__(self, error_info: str, error_code: int | None = None) -> None:
        message = f"{error_info} (ErrorCode {error_code})" if error_code is not None else error_info
        super().__init__(message)
        self.error_code = error_code
        self.error_info = error_info
        self.earlier_attempt_uncertain = False
        """Set by the client when an earlier attempt of the same call may have been carried
        out: the last attempt's failure then proves nothing either way."""

    @property
    def maybe_carried_out(self) -> bool:
        """Whether Tencent may have done what was asked although the call failed."""
        return self.earlier_attempt_uncertain or self.error_code in MAYBE_CARRIED_OUT_CODES


class TencentApiError(TencentChatError):
    """Tencent answered, with a non-zero ``ErrorCode``."""


class TencentTransportError(TencentChatError):
    """No usable answer: no connection, a timeout, an HTTP error status, or not JSON.

    ``sent`` is set once the request may have reached Tencent; ``retry_after`` is the server's
    Retry-After, in seconds, when it gave one.
    """

    def __init__(
        self,
        error_info: str,
        *,
        retryable: bool,
        sent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(error_info)
        self.retryable = retryable
        self.sent = sent
        self.retry_after = retry_after

    @property
    def maybe_carried_out(self) -> bool:
        return self.earlier_attempt_uncertain or self.sent


# Typed refusals. Each documented code gets a class, a subclass of TencentApiError so that an
# existing ``except TencentApiError`` still catches it. Sources: the official-account pages'
# error tables (as far as any copy is readable: recall, 1047/60811: 10002, 10003, 10004, 10007,
# 10010) and the REST common error codes (679/131708: 600xx, 700xx); protocol notes 5.1, 5.2.


class TencentInternalError(TencentApiError):
    """10002: an internal error on Tencent's side; trying again later may succeed."""


class InvalidRequestError(TencentApiError):
    """The request was refused as malformed: 10003 (no such command word), 10004 (an invalid
    parameter: ``error_info`` names it), 60002/60003 (HTTP or JSON parse error), 60009."""


class PermissionDeniedError(TencentApiError):
    """10007 (insufficient permission) or 60010 (the identifier must be an App admin)."""


class OfficialAccountNotFoundError(TencentApiError):
    """10010: the official account does not exist, or existed and was destroyed."""


class RateLimitedError(TencentApiError):
    """60007, 60011, 60018, 60019: called too often. The client retries these by itself; this
    is what is left once its retries are spent."""


class AuthenticationError(TencentApiError):
    """The admin's identity or UserSig was refused: 60004/60005 (account or signature error),
    70001 (expired again after a renewal), 70003, 70009, 70013, 70014, 70016, 70050, 70051,
    70107. Check ``SECRET_KEY``, ``ADMIN_IDENTIFIER`` and this server's clock."""


class AppUnavailableError(TencentApiError):
    """The app cannot be served as configured: 60006/60012 (SDKAppID invalid or missing),
    60016 (disabled), 60017 (request disabled), 60020 (package expired), 60021 (caller IP not
    allowed), 70020 (SDKAppID not found: wrong data center, check ``REGION``)."""


_API_ERRORS: dict[int, type[TencentApiError]] = {
    10002: TencentInternalError,
    **dict.fromkeys((10003, 10004, 60002, 60003, 60009), InvalidRequestError),
    **dict.fromkeys((10007, 60010), PermissionDeniedError),
    10010: OfficialAccountNotFoundError,
    **dict.fromkeys((60007, 60011, 60018, 60019), RateLimitedError),
    **dict.fromkeys(
        (60004, 60005, 70001, 70003, 70009, 70013, 70014, 70016, 70050, 70051, 70107),
        AuthenticationError,
    ),
    **dict.fromkeys((60006, 60012, 60016, 60017, 60020, 60021, 70020), AppUnavailableError),
}


def api_error(error_info: str, error_code: int | None) -> TencentApiError:
    """The typed error for Tencent's ``ErrorCode``; plain :class:`TencentApiError` for a code
    with no documented meaning."""
    cls = TencentApiError if error_code is None else _API_ERRORS.get(error_code, TencentApiError)
    return cls(error_info, error_code)


class ProfileLimitError(ValueError):
    """A profile field is longer than Tencent accepts (checked before any call): ``field`` is
    Tencent's name for it, ``limit`` its maximum in UTF-8 bytes."""

    def __init__(self, field: str, length: int, limit: int) -> None:
        super().__init__(f"{field} is {length} bytes in UTF-8; Tencent accepts at most {limit}.")
        self.field = field
        self.length = length
        self.limit = limit
