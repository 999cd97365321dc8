"""Every Python example in the docs runs, so the docs cannot rot.

Each ```python block of docs/*.md and README.md runs in a namespace of its own, in a test
database that holds the message the examples name, with a local server playing Tencent's REST
API for the recall example. A block that defines OFFICIALACCOUNT_WEBHOOK must be a valid
setting. Relative links between the pages must point at files that exist.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from officialaccount_webhook.conf import parse_settings
from officialaccount_webhook.models import OfficialAccountMessage
from tests.conftest import sample
from tests.tencent import RECALL_PATH, SECRET_KEY, recall_reply

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)


def examples() -> list[Any]:
    found = []
    for page in PAGES:
        for number, match in enumerate(BLOCK.finditer(page.read_text()), start=1):
            code = textwrap.dedent(match.group(2))
            found.append(pytest.param(code, id=f"{page.name}#{number}"))
    return found


@pytest.fixture
def tencent(httpserver: HTTPServer) -> Iterator[None]:
    def recall_all(request: Request) -> Response:
        keys = json.loads(request.get_data())["MsgKeyList"]
        return Response(
            json.dumps(recall_reply(dict.fromkeys(keys, 0))), content_type="application/json"
        )

    httpserver.expect_request(RECALL_PATH).respond_with_handler(recall_all)
    conf = {
        "APPS": {1400000000: {"SECRET_KEY": SECRET_KEY, "API_BASE_URL": httpserver.url_for("/")}},
        "SPOOL_DIR": "/nonexistent/spool",
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        yield


def test_the_docs_have_examples() -> None:
    assert len(examples()) >= 8


@pytest.mark.django_db
@pytest.mark.parametrize("code", examples())
def test_example_runs(code: str, tencent: None) -> None:
    doc = sample("doc-example")
    OfficialAccountMessage.objects.create(
        sdk_app_id=1400000000,
        official_account=doc["Official_Account"],
        msg_key=doc["MsgKey"],
        msg_time="2017-03-28T07:30:22Z",
        event_time="2022-12-09T08:26:54Z",
        msg_body=doc["MsgBody"],
    )
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(code, "<docs example>", "exec"), namespace)  # noqa: S102  (our own docs)
    if "OFFICIALACCOUNT_WEBHOOK" in namespace:
        parse_settings(namespace["OFFICIALACCOUNT_WEBHOOK"])


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_links_between_pages_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
        assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
