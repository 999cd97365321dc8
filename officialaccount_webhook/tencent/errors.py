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
