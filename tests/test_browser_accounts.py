"""The accounts admin in a real browser: Playwright driving Debian's Chromium against a live
server, with a fake of Tencent's official-account API (tests/fake_tencent_oa.py) on a local
server. An operator creates an account on Tencent, adds and removes subscribers, finds them,
renames the account, sees its name beside its messages, and destroys it: each action through
its confirmation page.

Screenshots go to ``test-artifacts/screenshots/accounts/`` (under SCREENSHOT_DIR when set).
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from pytest_httpserver import HTTPServer

from tests.conftest import sample
from tests.fake_tencent_oa import FakeTencentOA
from tests.settings import SIGNED_APP
from tests.tencent import calling_app
from tests.test_browser import CHROMIUM, SCREENSHOTS, browser_page, deliver

SHOTS = SCREENSHOTS / "accounts"
ACCOUNT = sample("text")["Official_Account"]

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not shutil.which(CHROMIUM),
        reason=f"needs Chromium at {CHROMIUM} (apt-get install chromium); CI installs it",
    ),
]


def test_operator_manages_an_account_through_tencent(
    live_server: Any, httpserver: HTTPServer
) -> None:
    fake = FakeTencentOA().install(httpserver)
    conf = {
        "APPS": {SIGNED_APP: calling_app(httpserver.url_for("/"))},
        "REST_RETRY_BACKOFF": 0,
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        User.objects.create_superuser("operator", "operator@example.com", "a-long-passphrase")
        deliver(live_server.url, sample("text"))
        with browser_page(SHOTS) as page:
            manage(live_server.url, page)
    assert ACCOUNT not in fake.accounts  # destroyed on Tencent's side
    assert [command for command, _, _ in fake.requests] == [
        "create_official_account",
        "get_official_account_info",
        "add_subscriber",
        "delete_subscriber",
        "modify_official_account_base_info",
        "get_official_account_info",
        "destroy_official_account",
    ]


def manage(base: str, page: Any) -> None:
    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def confirm() -> None:
        page.click("input[type=submit][value=Review]")
        page.wait_for_selector(".officialaccount-step-confirm")

    page.goto(f"{base}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "a-long-passphrase")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")

    # 1. create the account on Tencent: the form, the confirmation, then Tencent
    page.goto(f"{base}/admin/officialaccount_webhook/officialaccount/")
    page.click("text=Create on Tencent")
    page.fill("#id_owner_account", "107867")
    page.fill("#id_name", "Weather")
    page.fill("#id_official_account", ACCOUNT)
    page.fill("#id_introduction", "Rain or shine")
    shot("1-create-form")
    confirm()
    assert "Rain or shine" in page.locator(".officialaccount-summary").inner_text()
    shot("2-create-confirmation")
    page.click("input[value='Yes, create it']")
    page.wait_for_selector(".messagelist")
    assert f"Tencent created the official account {ACCOUNT}." in page.inner_text(".messagelist")
    assert "Weather" in page.inner_text("#content")
    shot("3-account")

    # 2. add subscribers, then remove one
    page.click(".officialaccount-tencent-action:text-is('Add subscribers')")
    page.fill("#id_subscriber_accounts", "alice\nbob\ncarol")
    confirm()
    page.click("input[value='Yes, add them']")
    page.wait_for_selector(".messagelist")
    assert "Tencent subscribed 3 of 3" in page.inner_text(".messagelist")
    page.click(".officialaccount-tencent-action:text-is('Remove subscribers')")
    page.fill("#id_subscriber_accounts", "bob")
    confirm()
    page.click("input[value='Yes, remove them']")
    page.wait_for_selector(".messagelist")
    shot("4-subscribers-changed")

    # 3. the account's subscribers, current and former, one click away
    page.click("#content a:text-is('Subscribers')")
    page.wait_for_selector("#result_list")
    assert page.locator("#result_list tbody tr").count() == 3
    page.click("#changelist-filter a:text('Former subscribers')")
    page.wait_for_url("**current=no**")
    assert page.locator("#result_list tbody tr").count() == 1
    assert "bob" in page.inner_text("#result_list")
    shot("5-former-subscribers")
    page.goto(f"{base}/admin/officialaccount_webhook/officialaccountsubscriber/")
    page.fill("#searchbar", "alice")
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=alice**")
    assert page.locator("#result_list tbody tr").count() == 1
    shot("6-subscriber-search")

    # 4. rename it: the form is filled with the mirror's profile
    page.goto(f"{base}/admin/officialaccount_webhook/officialaccount/")
    page.click("#result_list a:text-is('Weather')")
    page.click(".officialaccount-tencent-action:text-is('Modify')")
    assert page.input_value("#id_name") == "Weather"
    page.fill("#id_name", "Weather, hourly")
    confirm()
    assert "Weather → Weather, hourly" in page.inner_text(".officialaccount-summary")
    page.click("input[value='Yes, modify it']")
    page.wait_for_selector(".messagelist")
    shot("7-modified")

    # 5. its messages show its name
    page.click("#content a:text-is('Messages')")
    page.wait_for_selector("#result_list")
    assert f"{ACCOUNT} (Weather, hourly)" in page.inner_text("#result_list")
    shot("8-messages-with-name")

    # 6. destroy it: a confirmation, then no more actions
    page.go_back()
    page.click(".officialaccount-tencent-action:text-is('Destroy')")
    page.wait_for_selector(".officialaccount-step-confirm")
    assert "This cannot be undone." in page.inner_text("#content")
    shot("9-destroy-confirmation")
    page.click("input[value='Yes, destroy it']")
    page.wait_for_selector(".messagelist")
    assert page.locator(".officialaccount-tencent-action").count() == 0
    page.goto(f"{base}/admin/officialaccount_webhook/officialaccount/?state=destroyed")
    assert "Weather, hourly" in page.inner_text("#result_list")
    shot("10-destroyed")
    assert len(list(SHOTS.glob("*.png"))) == 10
