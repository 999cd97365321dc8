from __future__ import annotations

import logging
import sys

import pytest

from officialaccount_webhook.log import RedactSignFilter, redact_sign
from officialaccount_webhook.security import compute_sign

SIGN = compute_sign("current-token", "1717000000")


@pytest.mark.parametrize(
    "line",
    [
        f"POST /webhooks/tencent-chat/?SdkAppid=1&Sign={SIGN}&RequestTime=1717000000 HTTP/1.1",
        f"POST /webhooks/tencent-chat/?Sign={SIGN}",
        f"/hook?a=1&sign={SIGN}",
        f"/hook?a=1&%53ign={SIGN}&b=2",
        f"/hook?a=1&Si%67n={SIGN}",
        f"/hook?%53%69%67%6E={SIGN}&b=2",
        f"/hook?a=1&SIGN={SIGN}",
    ],
)
def test_sign_is_redacted(line: str) -> None:
    redacted = redact_sign(line)
    assert SIGN not in redacted
    assert "[redacted]" in redacted


def test_other_parameters_are_left_alone() -> None:
    line = "/hook?SdkAppid=1&CallbackCommand=X&Signature=keep&RequestTime=5"
    assert redact_sign(line) == line


def test_filter_rewrites_a_server_style_record() -> None:
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s %s',
        (f"POST /webhooks/tencent-chat/?Sign={SIGN}&RequestTime=1 HTTP/1.1", 200, 51),
        None,
    )
    assert RedactSignFilter().filter(record) is True
    assert SIGN not in record.getMessage()
    assert record.getMessage().endswith('RequestTime=1 HTTP/1.1" 200 51')


def test_filter_redacts_traceback_text() -> None:
    try:
        raise RuntimeError(f"You called /webhooks/tencent-chat?Sign={SIGN} via POST")
    except RuntimeError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error",
            (),
            sys.exc_info(),
        )
    RedactSignFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert "You called /webhooks/tencent-chat?Sign=[redacted] via POST" in formatted
    assert SIGN not in formatted
