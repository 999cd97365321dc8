"""The REST API under hostile input: every out-of-range query parameter or recall body is a 400
naming what is wrong, never a 500; the schema needs the API's permission; and HTTP Basic
authentication, where it is on, stops hashing passwords for an address or a username that
keeps failing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from officialaccount_webhook.api.authentication import ThrottledBasicAuthentication
from officialaccount_webhook.api.parsers import MAX_RECALL_BODY_BYTES
from officialaccount_webhook.models import OfficialAccountMessage
from tests.clock import Clock
from tests.settings import SIGNED_APP
from tests.tencent import ACCOUNT

pytestmark = pytest.mark.django_db

MESSAGES = "/api/officialaccount/messages/"
RECALL = "/api/officialaccount/recall/"
CHECK = "/api/officialaccount/recall/check/"
HYPOTHESIS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def api_client(*codenames: str) -> Client:
    user = User.objects.create_user("service", password="pw")
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def reader() -> Client:
    when = datetime(2024, 6, 1, tzinfo=UTC)
    for index in range(5):
        OfficialAccountMessage.objects.create(
            sdk_app_id=SIGNED_APP,
            official_account=ACCOUNT,
            msg_key=f"{index}_1_1",
            msg_time=when + timedelta(minutes=index),
            msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"hello {index}"}}],
            event_time=when,
        )
    return api_client("view_officialaccountmessage")


def cursor(**tokens: str) -> str:
    return base64.b64encode(urlencode(tokens).encode()).decode()


# ------------------------------------------------------------------ the messages API


@HYPOTHESIS
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "sdk_app_id",
                    "official_account",
                    "msg_key",
                    "since",
                    "until",
                    "text",
                    "page_size",
                    "cursor",
                ]
            ),
            st.one_of(
                st.text(max_size=40),
                st.from_regex(r"-?[0-9]{1,25}", fullmatch=True),
                # Dates at and past the calendar's edges, with any offset Python can read.
                st.from_regex(
                    r"(0000|0001|0002|9998|9999|[0-9]{4})-[0-9]{2}-[0-9]{2}"
                    r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
                    r"(Z|[+-][0-9]{2}(:?[0-9]{2}(:[0-9]{2})?)?)?",
                    fullmatch=True,
                ),
                # Cursors: junk, and well-formed ones whose tokens are junk.
                st.binary(max_size=60).map(lambda raw: base64.b64encode(raw).decode()),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "o": st.text(max_size=12),
                        "r": st.text(max_size=3),
                        "p": st.text(max_size=40)
                        | st.datetimes().map(lambda moment: f"{moment}+23:59"),
                    },
                ).map(lambda tokens: cursor(**tokens)),
            ),
        ),
        max_size=5,
    )
)
def test_any_query_is_answered_200_or_400(reader: Client, params: list[tuple[str, str]]) -> None:
    response = reader.get(f"{MESSAGES}?{urlencode(params)}")
    assert response.status_code in (200, 400), (params, response.content)
    if response.status_code == 400:
        # The answer names a parameter that was sent.
        assert set(response.json()) <= {name for name, _value in params}


@pytest.mark.parametrize(
    ("params", "status"),
    [
        # since/until at the calendar's edges, and with extreme offsets
        ({"since": "9999-12-31T23:59:59-23:59"}, 400),
        ({"until": "9999-12-31T23:59:59+23:59"}, 400),
        ({"since": "0001-01-01T00:00:00+23:59"}, 400),
        ({"since": "0002-01-01T00:00:00+23:59"}, 200),
        ({"until": "9998-12-31T23:59:59-23:59"}, 200),
        ({"since": "2024-06-01T00:00:00+24:00"}, 400),
        ({"since": "2024-06-01T00:00:00+23:59:59.999999"}, 200),
        ({"since": "2024-06-01T00:00:00-16:00"}, 200),  # PostgreSQL's own limit is 15:59
        ({"since": "2024-02-30T00:00:00Z"}, 400),
        # sdk_app_id
        ({"sdk_app_id": "9" * 18}, 200),
        ({"sdk_app_id": "9" * 19}, 400),
        ({"sdk_app_id": "-1"}, 400),
        ({"sdk_app_id": "١٢"}, 400),
        # page_size
        ({"page_size": "1"}, 200),
        ({"page_size": "500"}, 200),
        ({"page_size": "501"}, 400),
        ({"page_size": "0"}, 400),
        ({"page_size": "-5"}, 400),
        ({"page_size": "abc"}, 400),
        ({"page_size": "9" * 5000}, 400),
        # lengths
        ({"text": "x" * 200}, 200),
        ({"text": "x" * 201}, 400),
        ({"official_account": "a" * 129}, 400),
        ({"msg_key": "k" * 129}, 400),
        # cursors: garbage, crafted base64, positions no database can take
        ({"cursor": "!!!"}, 200),  # decodes to nothing: the first page, as DRF reads it
        ({"cursor": "é"}, 400),
        ({"cursor": cursor(o="-1")}, 400),
        ({"cursor": cursor(o="9" * 5000)}, 400),
        ({"cursor": cursor(r="x")}, 400),
        ({"cursor": cursor(p="yesterday")}, 400),
        ({"cursor": cursor(p="a\x00b")}, 400),
        ({"cursor": cursor(p="9999-12-31 23:59:59-23:59")}, 400),
        ({"cursor": cursor(p="0001-01-01 00:00:00+23:59")}, 400),
        ({"cursor": cursor(p="2024-06-01 00:02:00+00:00")}, 200),
        ({"cursor": cursor(p="2024-06-01 23:59:00+23:59")}, 200),  # PostgreSQL takes ±15:59
        ({"cursor": cursor(o="100000", p="2024-06-01 00:02:00+00:00")}, 200),
        ({"cursor": "x" * 501}, 400),
    ],
)
def test_query_parameter_edges(reader: Client, params: dict[str, str], status: int) -> None:
    response = reader.get(MESSAGES, params)
    assert response.status_code == status, response.content
    if status == 400:
        assert list(response.json()) == list(params)


def test_a_crafted_cursor_position_pages_from_there(reader: Client) -> None:
    page = reader.get(MESSAGES, {"cursor": cursor(p="2024-06-01 00:02:00+00:00")})
    assert [row["msg_key"] for row in page.json()["results"]] == ["1_1_1", "0_1_1"]


def test_the_cursors_the_api_hands_out_work(reader: Client) -> None:
    seen: list[str] = []
    url: str | None = f"{MESSAGES}?page_size=2"
    while url:
        response = reader.get(url)
        assert response.status_code == 200
        seen += [row["msg_key"] for row in response.json()["results"]]
        url = response.json()["next"]
    assert seen == [f"{index}_1_1" for index in reversed(range(5))]
    back = reader.get(response.json()["previous"])
    assert [row["msg_key"] for row in back.json()["results"]] == ["2_1_1", "1_1_1"]


def test_a_message_id_out_of_range_is_a_404(reader: Client) -> None:
    for pk in ("9" * 30, "-1", "abc", "0x10"):
        assert reader.get(f"{MESSAGES}{pk}/").status_code == 404


def test_anonymous_callers_get_no_hint_about_parameters() -> None:
    response = Client().get(MESSAGES, {"page_size": "0"})
    assert response.status_code in (401, 403)


# ------------------------------------------------------------------ the recall body


def recall_payload(**changes: Any) -> dict[str, Any]:
    return {"sdk_app_id": SIGNED_APP, "official_account": ACCOUNT, "msg_keys": ["k"]} | changes


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (recall_payload(sdk_app_id=10**18), "sdk_app_id"),
        (recall_payload(sdk_app_id=10**40), "sdk_app_id"),
        (recall_payload(sdk_app_id=0), "sdk_app_id"),
        (recall_payload(sdk_app_id=True), "sdk_app_id"),
        (recall_payload(sdk_app_id=1.5), "sdk_app_id"),
        (recall_payload(sdk_app_id="1e3"), "sdk_app_id"),
        (recall_payload(official_account="a" * 129), "official_account"),
        (recall_payload(official_account="\ud800"), "official_account"),
        (recall_payload(msg_keys="k"), "msg_keys"),
        (recall_payload(msg_keys=["k"] * 101), "msg_keys"),
        (recall_payload(msg_keys=["k" * 129]), "msg_keys"),
        (recall_payload(msg_keys=["\udfff"]), "msg_keys"),
        (recall_payload(msg_keys=[{"k": 1}]), "msg_keys"),
        (recall_payload(reason="\ud800"), "reason"),
        (recall_payload(reason="x" * 101), "reason"),
        ([], "non_field_errors"),
        ("k", "non_field_errors"),
    ],
)
def test_recall_body_out_of_range(body: Any, field: str) -> None:
    client = api_client("recall_officialaccountmessage")
    raw = json.dumps(body)  # escapes lone surrogates as JSON does: \ud800
    for url in (RECALL, CHECK):
        if url == CHECK and field == "reason":
            continue  # a check sends no reason
        response = client.post(url, raw, content_type="application/json")
        assert response.status_code == 400, response.content
        assert field in response.json()


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 20_000 + b"]" * 20_000,  # nested past Python's recursion limit
        b'{"sdk_app_id": NaN}',
        b"\xff\xfe{}",
        b'{"a": 1' + b" " * MAX_RECALL_BODY_BYTES + b"}",
        b"",
        b"{" + b'"k": 1, ' * 10 + b"}",
    ],
    ids=["deep", "nan", "not-utf8", "too-large", "empty", "broken"],
)
def test_recall_bodies_that_are_no_json_are_400(raw: bytes) -> None:
    response = api_client("recall_officialaccountmessage").post(
        RECALL, raw, content_type="application/json"
    )
    assert response.status_code == 400, response.content


def test_recall_body_charset_is_never_used_to_decode() -> None:
    """A bytes-to-bytes codec named as the charset would decompress the body, past any cap."""
    import bz2

    body = bz2.compress(json.dumps(recall_payload()).encode())
    response = api_client("recall_officialaccountmessage").generic(
        "POST", RECALL, body, content_type="application/json; charset=bz2_codec"
    )
    assert response.status_code == 400


def test_recall_accepts_json_only() -> None:
    response = api_client("recall_officialaccountmessage").post(RECALL, recall_payload())
    assert response.status_code == 415


# ------------------------------------------------------------------ the schema


def test_schema_needs_the_view_permission() -> None:
    assert Client().get("/api/schema/").status_code in (401, 403)
    assert api_client().get("/api/schema/").status_code == 403
    User.objects.get().user_permissions.add(
        Permission.objects.get(codename="view_officialaccountmessage")
    )
    client = Client()
    client.force_login(User.objects.get())
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert "/api/officialaccount/recall/check/" in json.loads(response.content)["paths"]


# ------------------------------------------------------------------ throttled Basic auth


class CountingHasher(MD5PasswordHasher):
    """MD5, counting every password it hashes: the work a guesser makes the server do."""

    hashed = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.hashed += 1
        return super().encode(password, salt)


class Who(APIView):
    authentication_classes = (ThrottledBasicAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        return Response({"user": request.user.get_username()})


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    clock = Clock(1_716_999_900.0)  # the start of a window: 300 divides it
    monkeypatch.setattr(ThrottledBasicAuthentication, "clock", staticmethod(clock))
    cache.clear()
    with override_settings(PASSWORD_HASHERS=["tests.test_api_hardening.CountingHasher"]):
        User.objects.create_user("alice", password="right")
        User.objects.create_user("bob", password="right")
        CountingHasher.hashed = 0
        yield clock
    cache.clear()


def basic(username: str, password: str, address: str = "192.0.2.1") -> Response:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    request = APIRequestFactory().get("/", HTTP_AUTHORIZATION=f"Basic {token}", REMOTE_ADDR=address)
    response: Response = Who.as_view()(request)
    return response


LIMIT = ThrottledBasicAuthentication.max_failures


def test_basic_auth_works(clock: Clock) -> None:
    response = basic("alice", "right")
    assert (response.status_code, response.data) == (200, {"user": "alice"})


def test_a_username_that_keeps_failing_is_refused_before_hashing(clock: Clock) -> None:
    for index in range(LIMIT):
        assert basic("alice", "wrong", address=f"192.0.2.{index}").status_code == 401
    hashed = CountingHasher.hashed
    assert hashed >= LIMIT
    refused = basic("alice", "right", address="198.51.100.1")
    assert refused.status_code == 429
    assert "Too many failed sign-ins" in str(refused.data["detail"])
    assert 0 < int(refused["Retry-After"]) <= ThrottledBasicAuthentication.window
    assert CountingHasher.hashed == hashed  # refused without hashing the password
    # Another user from another address is not affected.
    assert basic("bob", "right", address="198.51.100.1").status_code == 200


def test_an_address_that_keeps_failing_is_refused_before_hashing(clock: Clock) -> None:
    for index in range(LIMIT):
        assert basic(f"nobody{index}", "wrong").status_code == 401
    hashed = CountingHasher.hashed
    assert basic("bob", "right").status_code == 429
    assert basic("carol", "guess").status_code == 429
    assert CountingHasher.hashed == hashed
    assert basic("bob", "right", address="192.0.2.200").status_code == 200


def test_the_window_slides(clock: Clock) -> None:
    window = ThrottledBasicAuthentication.window
    for _ in range(LIMIT):
        basic("alice", "wrong")
    assert basic("alice", "right").status_code == 429
    clock.now += window  # the failures are a window old: they still weigh in, in full
    assert basic("alice", "right").status_code == 429
    clock.now += window / 2  # half of that window still overlaps: half of them count
    assert basic("alice", "right").status_code == 200
    clock.now += window * 2
    assert basic("alice", "right").status_code == 200


def test_successes_are_not_counted(clock: Clock) -> None:
    for _ in range(LIMIT * 2):
        assert basic("alice", "right").status_code == 200
