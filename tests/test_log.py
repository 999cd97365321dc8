from __future__ import annotations

import logging
import sys

import pytest

from officialaccount_webhook.log import RedactSignFilter, redact_sign
from officialaccount_webhook.webhook.auth import compute_sign

SIGN = compute_sign("current-token", "1717000000")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            f"POST /webhooks/tencent-chat/?SdkAppid=1&Sign={SIGN}&RequestTime=1717000000 HTTP/1.1",
            "POST /webhooks/tencent-chat/?SdkAppid=1&Sign=[redacted]&RequestTime=1717000000 "
            "HTTP/1.1",
        ),
        (
            f"POST /webhooks/tencent-chat/?Sign={SIGN}",
            "POST /webhooks/tencent-chat/?Sign=[redacted]",
        ),
        (f"/hook?a=1&sign={SIGN}", "/hook?a=1&sign=[redacted]"),
        (f"/hook?a=1&SIGN={SIGN}", "/hook?a=1&SIGN=[redacted]"),
        # Percent-encoded names: the webhook decodes them, so "Si%67n" authenticates.
        (f"/hook?a=1&%53ign={SIGN}&b=2", "/hook?a=1&%53ign=[redacted]&b=2"),
        (f"/hook?a=1&Si%67n={SIGN}", "/hook?a=1&Si%67n=[redacted]"),
        (f"/hook?%53%69%67%6E={SIGN}&b=2", "/hook?%53%69%67%6E=[redacted]&b=2"),
        # An "&" or "=" in the path must not swallow the parameter after the "?".
        (f"POST /hooks/a&b/?Sign={SIGN}", "POST /hooks/a&b/?Sign=[redacted]"),
        (f"/a&b=c/?Sign={SIGN}&b=2", "/a&b=c/?Sign=[redacted]&b=2"),
        # A query string logged alone (gunicorn's %(q)s), Sign first.
        (f"Sign={SIGN}&RequestTime=1", "Sign=[redacted]&RequestTime=1"),
        (f"query: Sign={SIGN}", "query: Sign=[redacted]"),
    ],
)
def test_sign_is_redacted(line: str, expected: str) -> None:
    assert redact_sign(line) == expected


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
