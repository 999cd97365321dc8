"""The message and delivery lists fit the window (admin.css): in Chromium at 1280 x 800 with
the sidebar open, no list scrolls sideways and every column header is in the viewport; at
390 x 844 (a phone) the pages still work. Screenshots of both lists and of the delivery summary
at both sizes, and of both lists in Chinese at 1280, go to
``test-artifacts/screenshots/fit/``."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from tests.conftest import callback_query, sample
from tests.test_browser import (  # noqa: F401
    SCREENSHOTS,
    browser_page,
    deliver,
    log_in,
    pytestmark,
)

SHOTS = SCREENSHOTS / "fit"
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LISTS = {
    "messages": "/admin/officialaccount_webhook/officialaccountmessage/",
    "deliveries": "/admin/officialaccount_webhook/callbackdelivery/",
}
LONG_TEXT = (
    "Spring sale starts today: every plan is half price until Sunday, and the first hundred "
    "subscribers who answer this message get a year of storage free. " * 3
)


def refuse(base_url: str, body: dict[str, Any]) -> None:
    """A callback signed with a token the app does not have: rejected, 403."""
    query = urlencode(callback_query(token="not-the-token"))
    request = urllib.request.Request(
        f"{base_url}/webhooks/tencent-chat/?{query}", data=json.dumps(body).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


@override_settings(
    OFFICIALACCOUNT_WEBHOOK={"APPS": {1400000000: {"CALLBACK_TOKENS": ["current-token"]}}}
)
def test_the_lists_fit_a_laptop_and_work_on_a_phone(live_server: Any) -> None:
    base = live_server.url
    User.objects.create_superuser("operator", "operator@example.com", "a-long-passphrase")
    now = int(time.time())
    for n, name in enumerate(("text", "image", "custom", "location", "mixed")):
        body = sample(name) | {"MsgTime": now - n, "EventTime": (now - n) * 1000 + 123}
        body |= {"MsgKey": f"{90 + n}_1_{now}", "OnlineOnlyFlag": n % 2}
        if name == "text":
            body["MsgBody"][0]["MsgContent"]["Text"] = LONG_TEXT
        deliver(base, body)
    refuse(base, sample("text"))
    refuse(base, sample("image"))
    with browser_page(SHOTS) as page:
        log_in(base, page)
        for size_name, size in (("1280", WIDE), ("390", PHONE)):
            page.set_viewport_size(size)
            for list_name, path in LISTS.items():
                page.goto(f"{base}{path}")
                page.wait_for_selector("#result_list")
                assert page.locator("#result_list tbody tr").count() >= 2
                # Never the page sideways: on a phone the table scrolls in its own box.
                assert_no_page_scroll(page)
                if size is WIDE:
                    assert_fits(page)
                shot = SHOTS / f"{list_name}-{size_name}.png"
                page.screenshot(path=str(shot), full_page=True)
            summary = page.locator(".officialaccount-triage")
            assert "Sign does not match" in summary.inner_text()
            summary.screenshot(path=str(SHOTS / f"summary-{size_name}.png"))
        # In Chinese the labels change width: the lists must still fit.
        page.set_viewport_size(WIDE)
        page.set_extra_http_headers({"Accept-Language": "zh-hans"})
        for list_name, path in LISTS.items():
            page.goto(f"{base}{path}")
            page.wait_for_selector("#result_list")
            assert page.locator("html").get_attribute("lang") == "zh-hans"
            assert_no_page_scroll(page)
            assert_fits(page)
            page.screenshot(path=str(SHOTS / f"{list_name}-1280-zh.png"), full_page=True)
        page.set_extra_http_headers({})
        # The preview is one line, its whole text on hover.
        page.set_viewport_size(WIDE)
        page.goto(f"{base}{LISTS['messages']}")
        cut = page.locator("td.field-preview .officialaccount-cut").filter(has_text="Spring sale")
        assert cut.get_attribute("title").startswith("Spring sale starts today")
        box = cut.bounding_box()
        line = page.evaluate(
            "e => parseFloat(getComputedStyle(e).lineHeight) || 20", cut.element_handle()
        )
        assert box is not None and box["height"] <= line * 1.5
    assert {shot.name for shot in SHOTS.glob("*.png")} == {
        f"{name}-{size}.png"
        for name in ("messages", "deliveries", "summary")
        for size in ("1280", "390")
    } | {"messages-1280-zh.png", "deliveries-1280-zh.png"}


def assert_no_page_scroll(page: Any) -> None:
    page_scroll = page.evaluate(
        "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
    )
    assert page_scroll[0] <= page_scroll[1], page_scroll


def assert_fits(page: Any) -> None:
    """No sideways scroll, the sidebar open, and every column header inside the viewport."""
    assert page.locator("#nav-sidebar").is_visible()
    box_scroll = page.evaluate(
        "() => { const r = document.querySelector('#changelist .results');"
        " return [r.scrollWidth, r.clientWidth]; }"
    )
    assert box_scroll[0] <= box_scroll[1], box_scroll
    width = page.viewport_size["width"]
    headers = page.locator("#result_list thead th")
    assert headers.count() >= 6
    for index in range(headers.count()):
        box = headers.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (
            headers.nth(index).inner_text(),
            box,
        )
