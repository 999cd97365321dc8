"""The claims of docs/security.md that no other test covers, and a check that every test the
document cites exists."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from officialaccount_webhook.models import OfficialAccountMessage
from tests.conftest import callback_query, callback_url, sample

ROOT = Path(__file__).resolve().parent.parent


def post(query: dict[str, str], body: dict[str, Any]) -> Any:
    return Client().post(
        callback_url(query), data=json.dumps(body), content_type="application/json"
    )


@pytest.mark.django_db
def test_a_captured_url_carries_any_body_inside_the_window() -> None:
    """The documented limit of Tencent's scheme: the Sign does not cover the body."""
    captured = callback_query()
    assert post(captured, sample("text")).status_code == 200
    forged = sample("text") | {"MsgKey": "999_1_1717000000"}
    forged["MsgBody"] = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "not from Tencent"}}]
    assert post(captured, forged).status_code == 200
    assert OfficialAccountMessage.objects.count() == 2


@pytest.mark.django_db
def test_a_captured_url_is_refused_after_the_window() -> None:
    captured = callback_query(request_time=int(time.time()) - 301)
    response = post(captured, sample("text"))
    assert response.status_code == 403
    assert not OfficialAccountMessage.objects.exists()


def test_every_test_the_security_document_cites_exists() -> None:
    document = (ROOT / "docs" / "security.md").read_text()
    cited = re.findall(r"(test_[a-z_]+\.py)(?:::(test_[a-z_0-9]+))?", document)
    assert len(cited) > 20
    for module, name in cited:
        source = (ROOT / "tests" / module).read_text()
        if name:
            assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{module}::{name}"
