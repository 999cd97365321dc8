"""The API's docs page (/api/docs/): Swagger UI from the site's own static files, behind the
schema's permission and linked from the admin; and the browsable API's filter form."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from officialaccount_webhook.models import OfficialAccountMessage
from tests.settings import SIGNED_APP
from tests.test_api_hardening import api_client

DOCS = "/api/docs/"
MESSAGES_API = "/api/officialaccount/messages/"
# Any URL with a scheme or a network path ("//cdn..."): none may be on the page.
FOREIGN = re.compile(r"""(?:src|href)\s*=\s*["'](?:[a-z][a-z0-9+.-]*:|//)""", re.IGNORECASE)
ASSET = re.compile(r"""(?:src|href)="([^"]+)\"""")

pytestmark = pytest.mark.django_db


def test_the_docs_page_needs_the_schemas_permission() -> None:
    assert Client().get(DOCS).status_code in (401, 403)
    assert api_client().get(DOCS).status_code == 403


def test_the_docs_page_uses_only_local_files() -> None:
    response = api_client("view_officialaccountmessage").get(DOCS)
    assert response.status_code == 200
    html = response.text
    assert "swagger-ui" in html and reverse("schema") in html
    assert not FOREIGN.findall(html), FOREIGN.findall(html)
    assets = ASSET.findall(html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in assets
    # The page's settings: no validator, which would send the schema's URL elsewhere.
    assert '"validatorUrl": null' in html


def test_collectstatic_gathers_every_file_the_page_names(tmp_path: Path) -> None:
    html = api_client("view_officialaccountmessage").get(DOCS).text
    with override_settings(STATIC_ROOT=tmp_path):
        call_command("collectstatic", interactive=False, verbosity=0)
    named = [url.removeprefix("/static/") for url in ASSET.findall(html)]
    assert len(named) >= 4  # the css, the favicon, the bundle and its preset
    for path in named:
        assert (tmp_path / path).is_file(), path
    # The admin's image button's script too.
    assert (tmp_path / "officialaccount_webhook" / "reveal_images.js").is_file()


def test_the_message_list_links_to_the_docs(admin_client: Client) -> None:
    html = admin_client.get(
        reverse("admin:officialaccount_webhook_officialaccountmessage_changelist")
    ).text
    assert f'<a href="{DOCS}" class="officialaccount-api-docs">REST API docs</a>' in html


@pytest.fixture
def stored() -> None:
    when = datetime(2024, 6, 1, tzinfo=UTC)
    for index, account in enumerate(("@TOA#_A", "@TOA#_B")):
        OfficialAccountMessage.objects.create(
            sdk_app_id=SIGNED_APP,
            official_account=account,
            msg_key=f"{index}_1_1",
            msg_time=when,
            event_time=when,
            msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"hello {index}"}}],
        )


@pytest.mark.usefixtures("stored")
def test_the_browsable_api_offers_the_filters_as_a_form() -> None:
    client = api_client("view_officialaccountmessage")
    response = client.get(MESSAGES_API, {"official_account": "@TOA#_B"}, HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    html = response.text
    form = re.search(
        r'<form method="get" class="officialaccount-api-filters">.*?</form>', html, re.S
    )
    assert form is not None
    for name in ("sdk_app_id", "official_account", "msg_key", "since", "until", "text"):
        assert f'name="{name}"' in form.group(0)
    # Filled with the request's values, and the list filtered by them.
    assert 'name="official_account" type="text" value="@TOA#_B"' in form.group(0)
    assert "1_1_1" in html and "0_1_1" not in html


@pytest.mark.usefixtures("stored")
def test_the_filters_still_narrow_the_json_list_and_refuse_what_they_cannot_parse() -> None:
    client = api_client("view_officialaccountmessage")
    answer = client.get(MESSAGES_API, {"official_account": "@TOA#_A"}).json()
    assert [row["msg_key"] for row in answer["results"]] == ["0_1_1"]
    refused = client.get(MESSAGES_API, {"since": "yesterday"})
    assert refused.status_code == 400 and "since" in refused.json()
