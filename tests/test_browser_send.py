"""Compose broadcast in a real browser: Playwright driving Debian's Chromium against a live
server, with a local server playing Tencent. Screenshots go to ``send/`` under
tests/test_browser.py's folder."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from pytest_httpserver import HTTPServer

from officialaccount_webhook.models import OfficialAccount, OfficialAccountMessage
from tests.settings import SIGNED_APP
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS
from tests.test_send import SEND_PATH, bodies, send_reply, tencent_conf

SHOTS = SCREENSHOTS / "send"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not shutil.which(CHROMIUM),
        reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium); CI installs it",
    ),
]


@contextmanager
def browser_page() -> Iterator[Any]:
    """A Chromium page, opened after the test's own database work (Playwright's event loop
    runs in this thread, where Django would refuse ORM calls)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def test_an_operator_composes_previews_and_sends(live_server: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(SEND_PATH).respond_with_json(send_reply("33_1_1717000000"))
    user = User.objects.create_user("editor", password="a-long-passphrase", is_staff=True)
    for codename in ("send_officialaccountmessage", "view_officialaccountmessage"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    OfficialAccount.objects.create(
        sdk_app_id=SIGNED_APP, official_account="@TOA#_news", name="Newsroom"
    )
    base = live_server.url
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK=tencent_conf(httpserver)),
        browser_page() as page,
    ):
        page.goto(f"{base}/admin/")
        page.fill("#id_username", "editor")
        page.fill("#id_password", "a-long-passphrase")
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")

        # The scheduled sends' list links to the compose page.
        page.goto(f"{base}/admin/officialaccount_webhook/scheduledsend/")
        page.click("text=Compose broadcast")
        page.wait_for_selector("#compose-form")
        # An app that cannot send is not offered, and the notice says why.
        assert page.locator("#id_sdk_app_id option").all_inner_texts() == [str(SIGNED_APP)]
        assert "TENCENT_CHAT_SECRET_KEY" in page.locator(".officialaccount-unready").inner_text()
        page.select_option("#id_account", "@TOA#_news")
        page.fill("#id_text", "Spring sale\nstarts today")
        page.fill("#id_custom_data", '{"sku": 7}')
        page.fill("#id_custom_desc", "Spring sale")
        page.check("#id_online_only")
        page.screenshot(path=str(SHOTS / "1-compose.png"), full_page=True)

        page.click("input[name=preview]")
        page.wait_for_selector(".officialaccount-preview")
        preview = page.locator(".officialaccount-preview .officialaccount-text").inner_text()
        assert preview == "Spring sale\nstarts today"
        assert "Spring sale" in page.locator(".officialaccount-custom").inner_text()
        page.screenshot(path=str(SHOTS / "2-preview.png"), full_page=True)

        page.click("input[name=confirm]")
        page.wait_for_selector(".officialaccount-message")
        assert "Sent: MsgKey 33_1_1717000000" in page.locator(".messagelist").inner_text()
        shown = page.locator(".officialaccount-message .officialaccount-text").inner_text()
        assert shown == "Spring sale\nstarts today"
        page.screenshot(path=str(SHOTS / "3-sent.png"), full_page=True)

    [body] = bodies(httpserver)
    assert (body["Official_Account"], body["OnlineOnlyFlag"]) == ("@TOA#_news", 1)
    message = OfficialAccountMessage.objects.get()
    assert (message.sent_by, message.msg_key) == ("admin:editor", "33_1_1717000000")
    assert sorted(path.name for path in SHOTS.glob("*.png")) == [
        "1-compose.png",
        "2-preview.png",
        "3-sent.png",
    ]
