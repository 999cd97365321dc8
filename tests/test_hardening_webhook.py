"""The webhook's hardening: it authenticates on the query string before it reads the body,
fails closed without a token, keeps a one-minute window, can limit the source networks
(behind trusted proxies), tells a caller no more than "authentication failed", reads chunked
bodies within the cap, and keeps its spool to itself."""

from __future__ import annotations

import http.client
import io
import ipaddress
import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from django.apps import apps as django_apps
from django.test import Client, override_settings

from officialaccount_webhook.apps import OfficialAccountWebhookConfig
from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from officialaccount_webhook.webhook import spool, views
from officialaccount_webhook.webhook.auth import GENERIC_REFUSAL
from tests import gunicorn_process
from tests.conftest import TOKEN, callback_query, callback_url, sample
from tests.settings import SIGNED_APP, UNSIGNED_APP

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_717_000_000
OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
BODY = json.dumps(sample("text")).encode()

pytestmark = pytest.mark.django_db


class TrackedStream:
    """A wsgi.input that counts what is read from it; endless if given no data."""

    def __init__(self, data: bytes | None = None) -> None:
        self.data = io.BytesIO(data) if data is not None else None
        self.bytes_read = 0
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        if self.data is None:
            chunk = b" " * (65536 if size is None or size < 0 else min(size, 65536))
        else:
            chunk = self.data.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        raise AssertionError("the webhook reads no lines")


def post(
    query: dict[str, str], body: bytes = BODY, *, client: Client | None = None, **environ: Any
) -> Any:
    return (client or Client()).post(
        callback_url(query), data=body, content_type="application/json", **environ
    )


def assert_refused(response: Any, status: int = 403, info: str = GENERIC_REFUSAL) -> None:
    assert response.status_code == status, response.content
    assert response.json() == {"ActionStatus": "FAIL", "ErrorCode": status, "ErrorInfo": info}


def reasons() -> list[str]:
    return list(CallbackDelivery.objects.order_by("id").values_list("reason", flat=True))


# ------------------------------------------------------------------ authenticate first


@pytest.mark.parametrize(
    "query",
    [
        callback_query(token="wrong-token"),
        callback_query(sdk_app_id=1400009999),
        callback_query(token=None),
        callback_query(sdk_app_id=None),
    ],
    ids=["bad-sign", "unknown-app", "no-sign", "no-sdkappid"],
)
def test_an_unauthenticated_request_is_answered_without_reading_the_body(
    query: dict[str, str],
) -> None:
    stream = TrackedStream(BODY)
    response = post(query, **{"wsgi.input": stream})
    assert_refused(response)
    assert stream.reads == 0
    assert reasons()[0]  # the reason is recorded all the same


def test_an_authenticated_request_is_read() -> None:
    """The control for the test above: the same stream, signed, is read and stored."""
    stream = TrackedStream(BODY)
    assert post(callback_query(), **{"wsgi.input": stream}).json() == OK
    assert stream.bytes_read == len(BODY)
    assert OfficialAccountMessage.objects.count() == 1


@override_settings(
    OFFICIALACCOUNT_WEBHOOK={
        "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}},
        "MAX_BODY_SIZE": 64,
    }
)
def test_a_body_over_the_cap_with_a_bad_sign_gets_403_not_413() -> None:
    big = b"{" + b" " * 1000 + b"}"
    assert_refused(post(callback_query(token="wrong-token"), big))
    response = post(callback_query(), big)
    assert response.status_code == 413
    assert reasons() == [
        "Sign does not match any configured token",
        "the body is 1002 bytes; at most 64 are accepted",
    ]


# ------------------------------------------------------------------ fail closed


def test_an_app_without_a_token_refuses_every_callback() -> None:
    conf = {"APPS": {SIGNED_APP: {}}}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        assert_refused(post(callback_query(token=None)))
        # A Sign made with any token proves nothing when the app has none.
        assert_refused(post(callback_query(token="made-up")))
    assert not OfficialAccountMessage.objects.exists()
    assert (
        reasons()
        == [
            f"SdkAppid {SIGNED_APP} has no callback token and does not accept unsigned callbacks "
            "(ACCEPT_UNSIGNED)"
        ]
        * 2
    )


def test_an_app_that_accepts_unsigned_callbacks_takes_them() -> None:
    assert post(callback_query(sdk_app_id=UNSIGNED_APP, token=None)).json() == OK
    assert OfficialAccountMessage.objects.get().sdk_app_id == UNSIGNED_APP


def test_a_token_overrides_accept_unsigned() -> None:
    conf = {"APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN], "ACCEPT_UNSIGNED": True}}}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        assert_refused(post(callback_query(token=None)))
        assert post(callback_query()).json() == OK
    assert reasons() == ["Sign is missing", ""]


def test_start_up_warns_once_per_process_about_each_unsigned_app(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    config = django_apps.get_app_config("officialaccount_webhook")
    apps = {
        1: {"ACCEPT_UNSIGNED": True},
        2: {"ACCEPT_UNSIGNED": True, "CALLBACK_TOKENS": ["t"]},  # the token wins: signed
        3: {},
        4: {"ACCEPT_UNSIGNED": True},
    }
    monkeypatch.setattr(OfficialAccountWebhookConfig, "unsigned_apps_logged", False)
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK={"APPS": apps}),
        caplog.at_level(logging.WARNING, logger="officialaccount_webhook"),
    ):
        config.ready()
        config.ready()
    logged = [r.getMessage() for r in caplog.records if "unsigned" in r.getMessage()]
    assert [message.split()[3] for message in logged] == ["1", "4"]
    assert all("accepts unsigned callbacks" in message for message in logged)


def test_start_up_survives_malformed_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Check E001 reports them; ready() must not stop the process first."""
    monkeypatch.setattr(OfficialAccountWebhookConfig, "unsigned_apps_logged", False)
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"APPS": {1: {"ACCEPT_UNSIGNED": "yes"}}}):
        django_apps.get_app_config("officialaccount_webhook").ready()


def test_the_real_start_up_logs_the_unsigned_test_app() -> None:
    """django.setup() in a process of its own, on the test settings (one signed app, one that
    accepts unsigned callbacks)."""
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "tests.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("accepts unsigned callbacks") == 1
    assert f"Tencent Chat app {UNSIGNED_APP} accepts unsigned callbacks" in done.stderr


# ------------------------------------------------------------------ the window


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "time", SimpleNamespace(time=lambda: float(NOW)))


@pytest.mark.usefixtures("clock")
def test_the_default_window_is_tencents_minute_edges_included() -> None:
    for offset in (-60, 60):
        body = sample("text") | {"MsgKey": f"{offset + 100}_1_1"}
        assert (
            post(callback_query(request_time=NOW + offset), json.dumps(body).encode()).json() == OK
        )
    assert_refused(
        post(callback_query(request_time=NOW - 61)),
        info="RequestTime is 61 s in the past, outside the 60 s window: this server's clock is "
        "61 s ahead of RequestTime",
    )
    assert_refused(
        post(callback_query(request_time=NOW + 75)),
        info="RequestTime is 75 s in the future, outside the 60 s window: this server's clock is "
        "75 s behind RequestTime",
    )
    assert OfficialAccountMessage.objects.count() == 2


# ------------------------------------------------------------------ source networks


def networks(allowed: list[str], trusted_proxies: int = 0, **app: Any) -> dict[str, Any]:
    return {
        "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN], "ALLOWED_NETWORKS": allowed, **app}},
        "TRUSTED_PROXIES": trusted_proxies,
    }


ALLOWED = ["203.0.113.0/24", "2001:db8::/32"]


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "accepted"),
    [
        ("203.0.113.9", None, True),
        ("2001:db8::7", None, True),
        ("::ffff:203.0.113.9", None, True),  # an IPv4 client on a dual-stack socket
        ("198.51.100.1", None, False),
        ("2001:db9::1", None, False),
        # With no trusted proxy, X-Forwarded-For is whatever the sender wrote: ignored.
        ("198.51.100.1", "203.0.113.9", False),
    ],
)
def test_allowed_networks_without_proxies(
    remote_addr: str, forwarded_for: str | None, accepted: bool
) -> None:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=networks(ALLOWED)):
        response = post(callback_query(), REMOTE_ADDR=remote_addr, **headers)
    if accepted:
        assert response.json() == OK
    else:
        assert_refused(response)
        assert "is not in ALLOWED_NETWORKS" in reasons()[0]
    recorded = CallbackDelivery.objects.get().remote_addr
    assert ipaddress.ip_address(recorded) == ipaddress.ip_address(remote_addr)


@pytest.mark.parametrize(
    ("trusted", "forwarded_for", "client", "accepted"),
    [
        (1, "203.0.113.9", "203.0.113.9", True),
        # The client wrote the left entry itself; the proxy appended the real one.
        (1, "203.0.113.9, 198.51.100.1", "198.51.100.1", False),
        (1, "198.51.100.1, 203.0.113.9", "203.0.113.9", True),
        (2, "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9", True),
        (2, "203.0.113.9, 198.51.100.1, 10.0.0.2", "198.51.100.1", False),
        # Fewer entries than proxies: not through them all, so the address is unknown.
        (2, "203.0.113.9", None, False),
        (1, None, None, False),
        (1, "not-an-address", None, False),
    ],
)
def test_allowed_networks_behind_trusted_proxies(
    trusted: int, forwarded_for: str | None, client: str | None, accepted: bool
) -> None:
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    with override_settings(OFFICIALACCOUNT_WEBHOOK=networks(ALLOWED, trusted)):
        # REMOTE_ADDR is the nearest proxy's, inside the allowed networks: it must not count.
        response = post(callback_query(), REMOTE_ADDR="203.0.113.1", **headers)
    if accepted:
        assert response.json() == OK
    else:
        assert_refused(response)
        assert f"source address {client or 'unknown'} is not in ALLOWED_NETWORKS" in reasons()[0]
    assert CallbackDelivery.objects.get().remote_addr == client


def test_without_allowed_networks_any_source_is_accepted_and_the_client_recorded() -> None:
    with override_settings(OFFICIALACCOUNT_WEBHOOK=networks([], 1)):
        response = post(callback_query(), REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="192.0.2.8")
    assert response.json() == OK
    assert CallbackDelivery.objects.get().remote_addr == "192.0.2.8"


def test_allowed_networks_apply_to_unsigned_apps_too() -> None:
    conf = {"APPS": {UNSIGNED_APP: {"ACCEPT_UNSIGNED": True, "ALLOWED_NETWORKS": ALLOWED}}}
    query = callback_query(sdk_app_id=UNSIGNED_APP, token=None)
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        assert_refused(post(query, REMOTE_ADDR="198.51.100.1"))
        assert post(query, REMOTE_ADDR="203.0.113.5").json() == OK


# ------------------------------------------------------------------ one answer, many reasons


def test_every_refusal_before_the_sign_matches_says_the_same(
    caplog: pytest.LogCaptureFixture,
) -> None:
    conf = {
        "APPS": {
            SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]},
            1400000002: {},
            1400000003: {"CALLBACK_TOKENS": [TOKEN], "ALLOWED_NETWORKS": ["192.0.2.0/24"]},
        }
    }
    queries = [
        callback_query(sdk_app_id=1400009999),
        callback_query(token="wrong-token"),
        callback_query(sdk_app_id=1400000002),
        callback_query(sdk_app_id=1400000003),
    ]
    with (
        override_settings(OFFICIALACCOUNT_WEBHOOK=conf),
        caplog.at_level(logging.WARNING, logger="officialaccount_webhook.webhook.views"),
    ):
        answers = {post(query).content for query in queries}
    assert len(answers) == 1
    assert json.loads(answers.pop())["ErrorInfo"] == GENERIC_REFUSAL
    expected = [
        "SdkAppid 1400009999 is not configured",
        "Sign does not match any configured token",
        "SdkAppid 1400000002 has no callback token and does not accept unsigned callbacks "
        "(ACCEPT_UNSIGNED)",
        "source address 127.0.0.1 is not in ALLOWED_NETWORKS of SdkAppid 1400000003",
    ]
    assert reasons() == expected
    logged = [r.getMessage() for r in caplog.records if r.name == views.logger.name]
    assert len(logged) == len(expected)
    for line, reason in zip(logged, expected, strict=True):
        assert repr(reason) in line
    assert not any(query["Sign"] in line for query in queries for line in logged)


# ------------------------------------------------------------------ chunked bodies


def chunked(stream: Any, **more: Any) -> dict[str, Any]:
    """The WSGI environment a server gives a chunked request: no Content-Length."""
    return {
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
        "wsgi.input": stream,
        "wsgi.input_terminated": True,
        **more,
    }


def test_a_chunked_body_is_read() -> None:
    response = post(callback_query(), b"", **chunked(io.BytesIO(BODY)))
    assert response.json() == OK
    assert OfficialAccountMessage.objects.get().msg_body == sample("text")["MsgBody"]


@override_settings(
    OFFICIALACCOUNT_WEBHOOK={
        "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}},
        "MAX_BODY_SIZE": 1000,
    }
)
def test_a_chunked_body_over_the_cap_is_refused_after_cap_plus_one_bytes() -> None:
    endless = TrackedStream()
    assert_refused(
        post(callback_query(), b"", **chunked(endless)), 413, "the body is over 1000 bytes"
    )
    assert endless.bytes_read == 1001
    exact = json.dumps(sample("text")).encode().ljust(1000)
    assert post(callback_query(), b"", **chunked(io.BytesIO(exact))).json() == OK


def test_a_chunked_body_the_server_does_not_decode_is_refused_unread() -> None:
    """Without wsgi.input_terminated (runserver, wsgiref) the stream is the raw connection."""
    stream = TrackedStream(BODY)
    response = post(callback_query(), b"", **chunked(stream, **{"wsgi.input_terminated": False}))
    assert_refused(
        response,
        411,
        "a chunked body needs a server that decodes it (gunicorn, for one); send Content-Length",
    )
    assert stream.reads == 0


@pytest.fixture
def gunicorn(transactional_db: None, tmp_path: Path) -> Iterator[int]:
    """The example project under gunicorn (one sync worker), on the test database."""
    arguments = (*gunicorn_process.SYNC, "--workers", "1", "--log-level", "warning")
    with gunicorn_process.gunicorn(
        arguments, gunicorn_process.project_environment(tmp_path)
    ) as port:
        yield port


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_under_gunicorn(gunicorn: int) -> None:
    pieces = [BODY[:10], BODY[10:100], BODY[100:]]
    connection_ = http.client.HTTPConnection("127.0.0.1", gunicorn, timeout=30)
    try:
        # An iterable body and no Content-Length: http.client sends it chunked.
        path = f"/webhooks/tencent-chat/?{urlencode(callback_query())}"
        connection_.request(
            "POST",
            path,
            body=iter(pieces),
            encode_chunked=True,
            headers={"Transfer-Encoding": "chunked"},
        )
        response = connection_.getresponse()
        assert (response.status, json.loads(response.read())) == (200, OK)
    finally:
        connection_.close()
    assert OfficialAccountMessage.objects.get().msg_body == sample("text")["MsgBody"]


# ------------------------------------------------------------------ the spool's privacy


def test_the_spool_directory_is_private(tmp_path: Path) -> None:
    directory = tmp_path / "var" / "spool"
    callback = spool.SpooledCallback(
        sdk_app_id=1, command="C", payload={}, query_string="", remote_addr=None, spooled_at=0.0
    )
    record = spool.write(directory, callback)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    (directory / "damaged.json").write_bytes(b"not a record")
    spool.drain(directory, lambda callback: None)
    assert stat.S_IMODE((directory / spool.BROKEN_DIR).stat().st_mode) == 0o700
