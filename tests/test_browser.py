"""The admin in a real browser: Playwright driving Debian's Chromium against a live server.

Messages arrive through the real webhook over HTTP first. Screenshots go to
``test-artifacts/screenshots/`` (override with SCREENSHOT_DIR), which CI keeps.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from tests.conftest import callback_query, sample

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR")
    or Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
)
# The flags a root, offline, headless Chromium needs on this kind of machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not shutil.which(CHROMIUM),
        reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium); CI installs it",
    ),
]


def deliver(base_url: str, body: dict[str, Any], **query: Any) -> None:
    url = f"{base_url}/webhooks/tencent-chat/?{urlencode(callback_query(**query))}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["ActionStatus"] == "OK"


@contextmanager
def browser_page(folder: Path = SCREENSHOTS) -> Iterator[Any]:
    """A Chromium page. Open it after the test's own database work: Playwright's sync API runs
    an event loop in this thread, where Django would refuse ORM calls. ``folder`` is where the
    test's screenshots go (another test's folder is left alone)."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    # Emptied first, so that what the test finds there afterwards is what this run took.
    for old in folder.glob("*.png"):
        old.unlink()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


@override_settings(
    OFFICIALACCOUNT_WEBHOOK={"APPS": {1400000000: {"CALLBACK_TOKENS": ["current-token"]}}}
)
def test_operator_finds_and_reads_a_broadcast(live_server: Any) -> None:
    base = live_server.url
    User.objects.create_superuser("operator", "operator@example.com", "a-long-passphrase")
    mixed = sample("mixed")
    mixed["MsgBody"] += sample("file")["MsgBody"]
    mixed["MsgBody"][0]["MsgContent"]["Text"] = "Spring sale\nstarts today"
    deliver(base, mixed)
    now = int(time.time())
    for days_ago, name in enumerate(("text", "image", "location", "custom")):
        # Recent, so that the volume chart has bars to draw.
        when = now - days_ago * 86_400
        deliver(base, sample(name) | {"MsgTime": when, "EventTime": when * 1000})
    deliver(base, sample("text") | {"Official_Account": "@TOA#_OTHER", "MsgKey": "5_1_1717000000"})
    with browser_page() as page:
        browse(base, page)


def log_in(base: str, page: Any) -> None:
    """Log the operator in to the admin."""
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "a-long-passphrase")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


def browse(base: str, page: Any) -> None:
    log_in(base, page)
    page.goto(f"{base}/admin/officialaccount_webhook/officialaccountmessage/")
    assert page.locator("#result_list tbody tr").count() == 6
    assert page.locator("figure.officialaccount-volume svg rect").count() == 4
    page.screenshot(path=str(SCREENSHOTS / "1-messages.png"), full_page=True)

    # 2. filter by official account, typed into the filter
    page.fill("input[name=official_account]", "@TOA#_OTHER")
    page.press("input[name=official_account]", "Enter")
    page.wait_for_url("**official_account=**")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "5_1_1717000000" in page.locator("#result_list").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "2-filtered-by-account.png"), full_page=True)

    # 3. search a MsgKey
    page.goto(f"{base}/admin/officialaccount_webhook/officialaccountmessage/")
    page.fill("#searchbar", "79_1_1717000480")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=79_1_1717000480**")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 1
    preview = "Spring sale starts today [Face] world [Image] [Custom] price-list-2024.pdf"
    assert preview in rows.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "3-msgkey-search.png"), full_page=True)

    # 4. open the message with text, an image and a file
    rows.locator("th a").first.click()
    page.wait_for_selector(".officialaccount-message")
    text = page.locator(".officialaccount-text").first
    assert text.inner_text() == "Spring sale\nstarts today"
    # An image from a host not in ADMIN_IMAGE_HOSTS is fetched only when asked for.
    assert page.locator(".officialaccount-image img").count() == 0
    page.locator(".officialaccount-image .officialaccount-reveal").click()
    image = page.locator(".officialaccount-image img")
    assert image.get_attribute("src") == "https://example.com/img/198"
    assert image.get_attribute("referrerpolicy") == "no-referrer"
    assert (
        page.locator(".officialaccount-image a").get_attribute("href")
        == "https://example.com/img/0"
    )
    file_link = page.locator(".officialaccount-file a")
    assert file_link.inner_text() == "price-list-2024.pdf"
    assert file_link.get_attribute("href").startswith("https://7492-5678539059")
    assert "1.7" in page.locator(".officialaccount-file .help").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "4-message.png"), full_page=True)

    # 5. its deliveries, one click away
    page.click("text=The callbacks that delivered this message")
    page.wait_for_selector("#result_list")
    assert "accepted" in page.locator("#result_list").inner_text()
    page.goto(f"{base}/admin/officialaccount_webhook/callbackdelivery/")
    assert page.locator("#result_list tbody tr").count() == 6
    page.screenshot(path=str(SCREENSHOTS / "5-deliveries.png"), full_page=True)
    assert {path.name for path in SCREENSHOTS.glob("*.png")} == {
        "1-messages.png",
        "2-filtered-by-account.png",
        "3-msgkey-search.png",
        "4-message.png",
        "5-deliveries.png",
    }
