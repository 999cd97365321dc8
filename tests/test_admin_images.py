"""Images from messages are not fetched by surprise: the admin's HTML holds no ``<img src>`` to a
host the project did not list in ``ADMIN_IMAGE_HOSTS``; such an image waits for a click, and a
listed host's image is inline, sent with no referrer."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings
from django.urls import reverse

from officialaccount_webhook.admin.rendering import shown_inline
from officialaccount_webhook.conf import get_settings
from officialaccount_webhook.models import OfficialAccountMessage
from tests.conftest import sample
from tests.settings import OFFICIALACCOUNT_WEBHOOK, SIGNED_APP

IMAGE_HOST = "example.com"  # the image sample's host
VIDEO_HOST = "0345-1400187352-1256635546.cos.ap-shanghai.myqcloud.com"  # the video sample's
IMG_SRC = re.compile(r"<img\b[^>]*\bsrc=\"([^\"]*)\"[^>]*>")

pytestmark = pytest.mark.django_db


def hosts(*listed: str) -> Any:
    return override_settings(
        OFFICIALACCOUNT_WEBHOOK={**OFFICIALACCOUNT_WEBHOOK, "ADMIN_IMAGE_HOSTS": list(listed)}
    )


@pytest.fixture
def message() -> OfficialAccountMessage:
    when = datetime(2024, 6, 1, tzinfo=UTC)
    return OfficialAccountMessage.objects.create(
        sdk_app_id=SIGNED_APP,
        official_account="@TOA#_A",
        msg_key="1_1_1",
        msg_time=when,
        event_time=when,
        msg_body=sample("image")["MsgBody"] + sample("videofile")["MsgBody"],
    )


def page(client: Client, message: OfficialAccountMessage) -> str:
    url = reverse("admin:officialaccount_webhook_officialaccountmessage_change", args=[message.pk])
    response = client.get(url)
    assert response.status_code == 200
    return response.text


def test_an_unlisted_hosts_images_wait_for_a_click(
    admin_client: Client, message: OfficialAccountMessage
) -> None:
    html = page(admin_client, message)
    assert not [src for src in IMG_SRC.findall(html) if VIDEO_HOST in src or IMAGE_HOST in src]
    # The click's button holds the thumbnail's URL, and says whose host it would ask.
    buttons = re.findall(r'<button type="button" class="button officialaccount-reveal"[^>]*>', html)
    assert len(buttons) == 2
    assert 'data-src="https://example.com/' in buttons[0] and buttons[0].count("/198") == 2
    assert f"Show image from {IMAGE_HOST}" in html and f"Show image from {VIDEO_HOST}" in html
    assert "officialaccount_webhook/reveal_images.js" in html
    # The original is still a link the reader may follow, with no referrer.
    assert re.search(
        r'<a href="https://example\.com/[^"]*/0" rel="noopener noreferrer" '
        r'referrerpolicy="no-referrer" target="_blank">',
        html,
    )


def test_a_listed_hosts_image_is_inline_with_no_referrer(
    admin_client: Client, message: OfficialAccountMessage
) -> None:
    with hosts(IMAGE_HOST.upper()):
        html = page(admin_client, message)
    [image] = [tag for tag in IMG_SRC.finditer(html) if IMAGE_HOST in tag.group(1)]
    assert image.group(1).endswith("/198")  # the thumbnail
    assert 'referrerpolicy="no-referrer"' in image.group(0)
    # The video's thumbnail is on another host: still behind its button.
    assert not [src for src in IMG_SRC.findall(html) if VIDEO_HOST in src]
    assert f"Show image from {VIDEO_HOST}" in html
    assert f"Show image from {IMAGE_HOST}" not in html


def test_a_leading_dot_lists_the_subdomains(
    admin_client: Client, message: OfficialAccountMessage
) -> None:
    with hosts(".myqcloud.com"):
        html = page(admin_client, message)
        assert shown_inline("https://myqcloud.com/a.png")
        assert not shown_inline("https://evilmyqcloud.com/a.png")
        assert not shown_inline("javascript:alert(1)")
    [thumbnail] = [tag for tag in IMG_SRC.finditer(html) if VIDEO_HOST in tag.group(1)]
    assert 'referrerpolicy="no-referrer"' in thumbnail.group(0)
    assert not [src for src in IMG_SRC.findall(html) if IMAGE_HOST in src]


def test_every_img_the_page_holds_has_no_referrer(
    admin_client: Client, message: OfficialAccountMessage
) -> None:
    with hosts(IMAGE_HOST, VIDEO_HOST):
        html = page(admin_client, message)
    tags = [tag.group(0) for tag in IMG_SRC.finditer(html) if "https://" in tag.group(1)]
    assert len(tags) == 2
    assert all('referrerpolicy="no-referrer"' in tag for tag in tags)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("example.com", "must be a list of host names"),
        (["https://example.com/"], "must hold host names such as"),
        (["example.com:443"], "must hold host names such as"),
        ([""], "must hold only non-empty strings"),
    ],
)
def test_the_setting_is_checked(value: object, problem: str) -> None:
    setting = {**OFFICIALACCOUNT_WEBHOOK, "ADMIN_IMAGE_HOSTS": value}
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK=setting),
        pytest.raises(ImproperlyConfigured, match="ADMIN_IMAGE_HOSTS") as error,
    ):
        get_settings()
    assert problem in str(error.value)


def test_the_default_lists_no_host() -> None:
    assert get_settings().admin_image_hosts == ()
    with hosts(" CDN.Example.com "):
        assert get_settings().admin_image_hosts == ("cdn.example.com",)
