"""Every page of the app's admin, and the browsable API's, in Chinese with data present: each
answers as it should and shows none of our English msgids untranslated.

Each page is rendered twice from the same data, in English then in Chinese. The msgids of our
catalogue that the English page shows must not show in the Chinese page, except those whose
Chinese is the English ("SDKAppID", "MsgKey"). What Django's and DRF's own catalogues say, the
data, and Tencent's wire names are not msgids of ours, so they are left alone.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.test import Client, override_settings
from django.urls import reverse
from pytest_httpserver import HTTPServer

from officialaccount_webhook.admin import chart as chart_module
from officialaccount_webhook.admin.messages import OfficialAccountMessageAdmin
from officialaccount_webhook.models import (
    AppGrant,
    CallbackDelivery,
    DenyListEntry,
    KeywordRule,
    MessageRecall,
    ModerationDecision,
    OfficialAccount,
    OfficialAccountMessage,
    OfficialAccountSubscriber,
    ScheduledSend,
)
from officialaccount_webhook.query_budget import QueryTimedOut
from tests.conftest import PostCallback, callback_query, element_samples, sample
from tests.fake_tencent_oa import FakeTencentOA
from tests.settings import SIGNED_APP, UNSIGNED_APP
from tests.tencent import RECALL_PATH, calling_app, recall_reply
from tests.test_i18n import PACKAGE, catalogue, parse_po
from tests.test_recall_budget import HISTORY_PATH, history, store_unknown
from tests.test_send import SEND_PATH, send_reply
from tests.test_send_admin import DB_TASKS, signed_random

pytestmark = pytest.mark.django_db

APP = "officialaccount_webhook"
LANGUAGES = ("en", "zh-hans")
NEWS = "@TOA#_news"
KEYWORDS = "officialaccount_webhook.moderation.keywords.refuse_keywords"
# What people read besides the text: tooltips, labels for assistive technology, buttons.
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "label", "data-alt")
# Not prose: scripts, and identifiers and JSON (MsgKeys, parameter names, bodies).
UNREAD = ("script", "style", "code", "pre")
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
MAX_VALUE = 200
# What may surround a single word that is a whole piece of text: "[Image]", "Reason:".
EDGES = " []():,.;|*-\u00b7\u2039\u203a"


# ------------------------------------------------------------------ reading a page


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.segments: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in UNREAD
        values = dict(attrs)
        self.segments += [values[name] or "" for name in READ_ATTRIBUTES if values.get(name)]
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.segments.append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in UNREAD

    def handle_data(self, data: str) -> None:
        if not self.hidden and data.strip():
            self.segments.append(" ".join(data.split()))


def segments(html: str) -> list[str]:
    """What a person reads on the page, piece by piece: texts (the chart's SVG ones too) and
    the attributes above; not code."""
    reader = _Reader()
    reader.feed(html)
    return reader.segments


@dataclass(frozen=True)
class Shown:
    """What a page shows: its pieces of text, joined (a sentence may run across a link), and
    each stripped of what surrounds a word ("[Image]", "Reason:")."""

    pieces: list[str]
    joined: str
    words: set[str]

    @classmethod
    def of(cls, pieces: list[str]) -> Shown:
        return cls(pieces, " ".join(pieces), {piece.strip(EDGES) for piece in pieces})


@dataclass(frozen=True)
class Msgid:
    """One of our msgids, as found on a page: a single word as a whole piece of text (a label,
    a column, a button), longer ones anywhere, a short value in place of each placeholder."""

    text: str
    parts: tuple[str, ...]
    """Its words between placeholders, whitespace as a page shows it."""

    @classmethod
    def of(cls, text: str) -> Msgid | None:
        parts = [re.sub(r"\s+", " ", part) for part in PLACEHOLDER.split(text.replace("%%", "%"))]
        parts[0], parts[-1] = parts[0].lstrip(), parts[-1].rstrip()
        parts = [part for index, part in enumerate(parts) if part or 0 < index < len(parts) - 1]
        if len(re.findall(r"[A-Za-z]", "".join(parts))) < 3:
            return None  # "%(seconds)s s", "at": no words of their own to find
        return cls(text, tuple(parts))

    def on(self, page: Shown) -> bool:
        first, *rest = self.parts
        # The admin capitalises labels and column titles ("state" is "State").
        starts = {first, first[:1].upper() + first[1:]}
        if not rest and " " not in first:
            return bool(starts & page.words)
        if max(self.parts, key=len)[1:] not in page.joined:
            return False  # the quick answer, for most
        return any(_in_order(page.joined, [start, *rest]) for start in starts)


def _in_order(text: str, parts: list[str]) -> bool:
    """The parts in this order, a value of at most MAX_VALUE characters between each two."""
    at = text.find(parts[0])
    while at >= 0:
        end = at + len(parts[0])
        for part in parts[1:]:
            found = text.find(part, end + 1, end + 1 + MAX_VALUE + len(part))
            if found < 0:
                break
            end = found + len(part)
        else:
            return True
        at = text.find(parts[0], at + 1)
    return False


def our_msgids() -> list[Msgid]:
    """Our catalogue's msgids whose Chinese is not the English itself."""
    found = []
    for entry in parse_po(catalogue("zh_Hans")):
        chinese = set(entry.msgstr.values())
        for text in filter(None, (entry.msgid, entry.plural)):
            msgid = Msgid.of(text) if chinese != {text} else None
            if msgid is not None:
                found.append(msgid)
    return found


# English of ours that the pages still show, and where it comes from: pieces of the Chinese
# page matched by these are not checked. Each must still show somewhere (the walk fails on one
# that no longer does, to be removed): drop it once its source is translated.
KNOWN_ENGLISH: dict[str, str] = {}
# Another framework's words, which its own catalogue does not translate.
NOT_OURS = {"Content:": "the label of DRF's raw data form (rest_framework.renderers)"}


def known(piece: str) -> str | None:
    """The KNOWN_ENGLISH pattern ``piece`` is, if any."""
    return next((p for p in KNOWN_ENGLISH if re.fullmatch(p, piece)), None)


def untranslated(english: Shown, chinese: Shown, msgids: list[Msgid]) -> list[str]:
    """The msgids the English page shows that the Chinese page shows too, in English."""
    return sorted({m.text for m in msgids if m.on(chinese) and m.on(english)})


def test_the_reader_tells_an_untranslated_msgid() -> None:
    texts = ("Recall selected messages", "state", "%(n)d sent", "%(what)s by %(who)s in %(ms)s ms")
    msgids = [m for m in map(Msgid.of, texts) if m]
    english = Shown.of(
        segments(
            '<p title="Recall selected messages">State:</p><b>3 sent</b>'
            '<a href="/d/">refused</a> by hook.refuse in 5.2 ms'
            '<code>state</code><script>"3 sent"</script>'
        )
    )
    assert untranslated(english, english, msgids) == sorted(texts)
    chinese = Shown.of(
        segments(
            '<p title="撤回所选消息">状态:</p><b>3 条已发送</b><i>statement</i>'
            '<a href="/d/">已拒绝</a>，由 hook.refuse 判定，耗时 5.2 毫秒<code>state</code>'  # noqa: RUF001
        )
    )
    assert untranslated(english, chinese, msgids) == []


# ------------------------------------------------------------------ the data


@dataclass
class World:
    clients: dict[str, Client]
    """The operator who may do everything ("lin"); one who may act on app B only ("zhao"),
    and one whose only app is configured nowhere ("qian")."""
    fake: FakeTencentOA
    news: OfficialAccount
    other: OfficialAccount
    gone: OfficialAccount
    unknown: list[OfficialAccountMessage]


@pytest.fixture
def world(post_callback: PostCallback, httpserver: HTTPServer) -> Iterator[World]:
    """Messages of every element type and their deliveries (accepted, refused), a moderation
    decision, accounts in each state with subscribers, scheduled sends in each status, rules,
    grants, recalls; a Tencent that answers; an operator who may do everything, and two who
    may act on some apps only."""
    conf = {
        "APPS": {
            SIGNED_APP: calling_app(httpserver.url_for("/")),
            UNSIGNED_APP: {"ACCEPT_UNSIGNED": True},  # it cannot call Tencent
        },
        "MODERATION_HOOKS": {"OfficialAccount.CallbackBeforeSendMsg": [KEYWORDS]},
        "REST_RETRY_BACKOFF": 0,
        "QUERY_TIMEOUT": 0,  # no page turns into the budget's page on a slow machine
        "DETAIL_MAX_ELEMENTS": 3,  # a long message's page says it shows the first few
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf, TASKS=DB_TASKS):
        fake = FakeTencentOA().install(httpserver)
        fake.add_account(NEWS, name="Morning News", owner_account="lin").subscribe("alice", "bob")
        httpserver.expect_request(RECALL_PATH).respond_with_json(recall_reply({"71_1_1": 0}))
        httpserver.expect_request(HISTORY_PATH).respond_with_handler(history([5], [3]))
        httpserver.expect_request(SEND_PATH).respond_with_json(send_reply("91_1_1717000000"))
        for name in element_samples():
            post_callback(campaign(sample(name)))
        post_callback(sample("text"), callback_query(token="wrong"))
        KeywordRule.objects.create(pattern="red packet", comment="no red packets")
        before = campaign(sample("oa-before-send"))
        post_callback(before, callback_query(before["CallbackCommand"]))
        for name in ("oa-after-create", "oa-after-add-subscriber", "oa-after-full"):
            post_callback(sample(name), callback_query(sample(name)["CallbackCommand"]))
        yield build(fake)


def campaign(body: dict[str, Any]) -> dict[str, Any]:
    """A sample with data that no msgid of ours says (its "your cloud custom data" is one)."""
    return {**body, "CloudCustomData": "campaign-7"} if "CloudCustomData" in body else body


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def scoped(name: str, sdk_app_id: int) -> Client:
    user = User.objects.create_user(name, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label=APP))
    AppGrant.objects.create(sdk_app_id=sdk_app_id, user=user)
    return logged_in(user)


def build(fake: FakeTencentOA) -> World:
    clients = {
        "lin": logged_in(User.objects.create_superuser("lin")),
        "zhao": scoped("zhao", UNSIGNED_APP),
        "qian": scoped("qian", 1400009999),
    }
    news = OfficialAccount.objects.create(
        sdk_app_id=SIGNED_APP, official_account=NEWS, name="Morning News", subscriber_count=2
    )
    OfficialAccountSubscriber.objects.create(account=news, subscriber_account="alice")
    other = OfficialAccount.objects.create(sdk_app_id=UNSIGNED_APP, official_account="@TOA#_b")
    gone = OfficialAccount.objects.create(
        sdk_app_id=SIGNED_APP, official_account="@TOA#_gone", destroyed_at="2024-06-01T00:00Z"
    )
    unknown = store_unknown()
    first = OfficialAccountMessage.objects.order_by("id").first()
    assert first is not None
    when = first.msg_time
    first.recalled_at = first.receiver_failed_at = when
    first.receiver_error = "ValueError: no such order"
    first.save()
    odd = {"MsgType": "TIMNewElem", "MsgContent": {"Data": "?"}}
    for index, body in enumerate(([], [odd], *([] for _ in range(5)))):
        # No elements, an element type Tencent may add, and more accounts than the chart names.
        OfficialAccountMessage.objects.create(
            sdk_app_id=UNSIGNED_APP if index == 0 else SIGNED_APP,
            official_account=f"@TOA#_shop{index}",
            msg_key=f"{index}_2_2",
            msg_time=when,
            event_time=when,
            msg_body=body,
        )
    MessageRecall.objects.create(
        sdk_app_id=SIGNED_APP,
        official_account=first.official_account,
        msg_key=first.msg_key,
        source=MessageRecall.Source.ADMIN,
        requested_by="admin:lin",
        result=MessageRecall.Result.FAILED,
        ret_code=20004,
        message=first,
        applied_at=when,
    )
    ModerationDecision.objects.update(fallback_applied=True, dry_run=True)
    for status in ScheduledSend.Status.values:
        ScheduledSend.objects.create(
            sdk_app_id=SIGNED_APP,
            official_account=NEWS,
            msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "spring sale"}}],
            random=7,
            send_at="2030-01-01T09:00Z",
            status=status,
        )
    DenyListEntry.objects.create(kind=DenyListEntry.Kind.values[0], account="spammer-42")
    AppGrant.objects.create(sdk_app_id=SIGNED_APP, user=User.objects.create_user("wu"))
    AppGrant.objects.create(sdk_app_id=UNSIGNED_APP, group=Group.objects.create(name="ops"))
    return World(clients, fake, news, other, gone, unknown)


# ------------------------------------------------------------------ the pages

Fetch = Callable[[Client, dict[str, str]], Any]
COMPOSE = "admin:officialaccount_webhook_scheduledsend_compose"
API = "/api/officialaccount/"


@dataclass
class Page:
    name: str
    fetch: Fetch
    status: int = 200
    speaks: bool = True
    """Whether the page has words of the app's (the API docs page is Swagger UI's only)."""
    user: str = "lin"


def url(name: str, *args: Any) -> str:
    return reverse(f"admin:{APP}_{name}", args=args)


def get(path: str, params: dict[str, Any] | None = None, **extra: str) -> Fetch:
    return lambda client, headers: client.get(path, params, follow=True, **headers, **extra)


def post(path: str, data: dict[str, Any]) -> Fetch:
    return lambda client, headers: client.post(path, data, follow=True, **headers)


def action(model: str, name: str, rows: list[Any], **more: Any) -> Fetch:
    selected = {"action": name, ACTION_CHECKBOX_NAME: [row.pk for row in rows], **more}
    return post(url(f"{model}_changelist"), selected)


def confirmed(fields: dict[str, Any], button: str) -> Fetch:
    """Compose: the preview, then its confirmation (it carries the preview's signed Random)."""

    def fetch(client: Client, headers: dict[str, str]) -> Any:
        preview = client.post(reverse(COMPOSE), {**fields, "preview": "Preview"}, **headers)
        confirm = {**fields, "signed_random": signed_random(preview), "confirm": button}
        return client.post(reverse(COMPOSE), confirm, follow=True, **headers)

    return fetch


def after(prepare: Callable[[], Any], fetch: Fetch) -> Fetch:
    def run(client: Client, headers: dict[str, str]) -> Any:
        prepare()
        return fetch(client, headers)

    return run


def failing(fetch: Fetch) -> Fetch:
    """``fetch`` with every query of the messages' admin past its time budget."""

    def too_slow(*args: Any, **kwargs: Any) -> Any:
        raise QueryTimedOut(0.3)

    def run(client: Client, headers: dict[str, str]) -> Any:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(OfficialAccountMessageAdmin, "get_queryset", too_slow)
            return fetch(client, headers)

    return run


def chart_too_slow(fetch: Fetch) -> Fetch:
    def too_slow(*args: Any, **kwargs: Any) -> Any:
        raise QueryTimedOut(chart_module.CHART_TIME_BUDGET)

    def run(client: Client, headers: dict[str, str]) -> Any:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(chart_module, "chart_context", too_slow)
            return fetch(client, headers)

    return run


MODELS = {
    "officialaccountmessage": OfficialAccountMessage,
    "callbackdelivery": CallbackDelivery,
    "officialaccount": OfficialAccount,
    "officialaccountsubscriber": OfficialAccountSubscriber,
    "scheduledsend": ScheduledSend,
    "moderationdecision": ModerationDecision,
    "keywordrule": KeywordRule,
    "denylistentry": DenyListEntry,
    "appgrant": AppGrant,
}


def admin_pages(world: World) -> Iterator[Page]:
    yield Page("index", get(reverse("admin:index")))
    yield Page("app", get(reverse("admin:app_list", args=[APP])))
    for model, rows in MODELS.items():
        yield Page(f"{model} list", get(url(f"{model}_changelist")))
        for row in rows.objects.all():  # every row: each element type, outcome, status
            yield Page(f"{model} {row.pk}", get(url(f"{model}_change", row.pk)))
    for model in ("keywordrule", "denylistentry", "appgrant"):
        yield Page(f"{model} add", get(url(f"{model}_add")))
        yield Page(f"{model} add refused", post(url(f"{model}_add"), {"pattern": "(a+)+"}))
    yield Page("delete page", get(url("keywordrule_delete", KeywordRule.objects.get().pk)))
    yield Page("history page", get(url("officialaccount_history", world.news.pk)))


def list_pages(world: World) -> Iterator[Page]:
    messages = url("officialaccountmessage_changelist")
    year = {
        "msg_time__gte": "2024-01-01T00:00:00+00:00",
        "msg_time__lt": "2025-01-01T00:00:00+00:00",
    }
    yield Page("empty list", get(messages, {"official_account": "@TOA#_nobody"}))
    yield Page("filtered", get(messages, {"element_type": "TIMImageElem", "recalled": "no"}))
    yield Page("a year", get(messages, year))
    yield Page(
        "a month",
        get(
            messages,
            {
                "msg_time__gte": "2024-05-01T00:00:00+00:00",
                "msg_time__lt": "2024-06-01T00:00:00+00:00",
            },
        ),
    )
    day = {
        "msg_time__gte": "2024-05-29T00:00:00+00:00",
        "msg_time__lt": "2024-05-30T00:00:00+00:00",
    }
    yield Page("a day", get(messages, day))
    yield Page("years", get(messages, {**year, "msg_time__gte": "1990-01-01T00:00:00+00:00"}))
    yield Page("too many to chart", chart_too_slow(get(messages, year)))
    yield Page("query budget, list", failing(get(messages)))
    first = OfficialAccountMessage.objects.order_by("id").first()
    assert first is not None
    yield Page("query budget, detail", failing(get(url("officialaccountmessage_change", first.pk))))
    yield Page("search refused", get(messages, {"q": "ab"}))
    yield Page("too many words", get(messages, {"q": "spring sale in every store now"}))
    deliveries = url("callbackdelivery_changelist")
    yield Page("deliveries refused", get(deliveries, {"outcome__exact": "refused"}))
    yield Page("deliveries search", get(deliveries, {"q": "203.0.113.7"}))
    subscribers = url("officialaccountsubscriber_changelist")
    yield Page("subscribers of one", get(subscribers, {"official_account": NEWS}))
    yield Page(
        "raw JSON", get(reverse(f"admin:{APP}_officialaccountmessage_raw_json", args=[first.pk]))
    )


def action_pages(world: World) -> Iterator[Page]:
    model = "officialaccountmessage"
    some = list(OfficialAccountMessage.objects.filter(recall_unknown_at__isnull=True)[:3])
    yield Page("recall confirmation", action(model, "recall_selected", some))
    yield Page("recall confirmation, one", action(model, "recall_selected", some[:1]))
    yield Page(
        "recall refused reason",
        action(model, "recall_selected", some, confirm="yes", reason="x" * 999),
    )
    yield Page(
        "recall result", action(model, "recall_selected", some, confirm="yes", reason="typo")
    )
    yield Page("recall check", action(model, "check_recall_again", world.unknown))
    yield Page("recall check, none", action(model, "check_recall_again", some))
    yield Page("export CSV", action(model, "export_csv", some))
    yield Page("export JSON Lines", action(model, "export_jsonl", some))
    yield Page(
        "cancel scheduled",
        action("scheduledsend", "cancel_selected", list(ScheduledSend.objects.all())),
    )
    yield Page(
        "delete selected", action("keywordrule", "delete_selected", list(KeywordRule.objects.all()))
    )
    # A user limited to app B: a selection with rows of app A is refused whole.
    mixed = [*OfficialAccountMessage.objects.filter(sdk_app_id=UNSIGNED_APP), *some]
    yield Page("out of scope", action(model, "recall_selected", mixed), user="zhao")
    rule = {"pattern": "jackpot", "enabled": "on", "sdk_app_id": SIGNED_APP}
    yield Page("a rule out of scope", post(url("keywordrule_add"), rule), user="zhao")


def compose_pages(world: World) -> Iterator[Page]:
    compose = reverse(COMPOSE)
    fields = {
        "sdk_app_id": SIGNED_APP,
        "account": NEWS,
        "text": "Spring sale",
        "image_url": "https://example.com/a.png",
        "image_width": 640,
        "image_height": 480,
        "custom_data": '{"sku": 7}',
        "custom_desc": "In store",
        "online_only": "on",
        "cloud_custom_data": "campaign-7",
    }
    later = {**fields, "send_at": "2030-01-01 09:00"}
    yield Page("compose", get(compose))
    yield Page("compose refused", post(compose, {"sdk_app_id": SIGNED_APP, "preview": "Preview"}))
    yield Page(
        "compose bad element", post(compose, {**fields, "custom_data": "{", "preview": "Preview"})
    )
    yield Page("compose preview", post(compose, {**fields, "preview": "Preview"}))
    yield Page("compose preview, later", post(compose, {**later, "preview": "Preview"}))
    yield Page(
        "compose, no size", post(compose, {**fields, "image_width": "", "preview": "Preview"})
    )
    yield Page("compose, not previewed", post(compose, {**fields, "confirm": "Send it"}))
    yield Page("compose, no app", get(compose), user="qian")
    yield Page("compose, app B only", get(compose), user="zhao")
    yield Page("compose sent", confirmed(fields, "Send it"))
    yield Page("compose scheduled", confirmed(later, "Schedule it"))


def account_pages(world: World) -> Iterator[Page]:
    def on(name: str, account: OfficialAccount | None = None) -> str:
        args = [] if account is None else [account.pk]
        return reverse(f"admin:{APP}_officialaccount_{name}", args=args)

    new = {"sdk_app_id": SIGNED_APP, "owner_account": "lin", "name": "Evening News"}
    yield Page("create", get(on("create")))
    yield Page("create refused", post(on("create"), {"sdk_app_id": SIGNED_APP}))
    yield Page("create confirmation", post(on("create"), new))
    yield Page("create, bad ID", post(on("create"), {**new, "official_account": "news"}))
    yield Page("create, no app", get(on("create")), user="qian")
    yield Page("create done", post(on("create"), {**new, "confirm": "yes"}))
    yield Page("modify", get(on("modify", world.news)))
    yield Page("modify confirmation", post(on("modify", world.news), {"name": "Daily News"}))
    yield Page("modify, unchanged", post(on("modify", world.news), {"name": "Morning News"}))
    yield Page(
        "modify done", post(on("modify", world.news), {"name": "Daily News", "confirm": "yes"})
    )
    yield Page("destroy confirmation", get(on("destroy", world.news)))
    yield Page("destroy done", post(on("destroy", world.news), {"confirm": "yes"}))
    subscribers = {"subscriber_accounts": "carol\ndave"}
    yield Page("add subscribers", get(on("add_subscribers", world.news)))
    yield Page("add subscribers confirmation", post(on("add_subscribers", world.news), subscribers))
    yield Page(
        "add subscribers, none",
        post(on("add_subscribers", world.news), {"subscriber_accounts": ""}),
    )
    yield Page(
        "remove subscribers confirmation",
        post(on("remove_subscribers", world.news), {"subscriber_accounts": "alice"}),
    )
    yield Page(
        "add subscribers done",
        post(on("add_subscribers", world.news), {**subscribers, "confirm": "yes"}),
    )
    yield Page(
        "remove subscribers done",
        post(
            on("remove_subscribers", world.news), {"subscriber_accounts": "alice", "confirm": "yes"}
        ),
    )
    refuse = lambda: world.fake.fail("modify_official_account_base_info", 10004, "invalid")  # noqa: E731
    yield Page(
        "Tencent refused",
        after(refuse, post(on("modify", world.news), {"name": "N", "confirm": "yes"})),
    )
    yield Page("cannot call Tencent", get(on("modify", world.other)))
    yield Page("destroyed account", get(on("modify", world.gone)))


def api_pages(world: World) -> Iterator[Page]:
    html = {"HTTP_ACCEPT": "text/html"}
    message = OfficialAccountMessage.objects.order_by("id").first()
    assert message is not None
    yield Page("API messages", get(f"{API}messages/", **html))
    yield Page("API message", get(f"{API}messages/{message.pk}/", **html))
    yield Page("API messages refused", get(f"{API}messages/", {"since": "soon"}, **html), 400)
    yield Page("API accounts", get(f"{API}accounts/", **html))
    yield Page("API account", get(f"{API}accounts/{world.news.pk}/", **html))
    yield Page("API subscribers", get(f"{API}accounts/{world.news.pk}/subscribers/", **html))
    # The endpoints that take a POST only: their page, with the form to send one.
    for path in ("send/", "recall/", "recall/check/"):
        yield Page(f"API {path}", get(f"{API}{path}", **html), 405)
    yield Page("API docs", get("/api/docs/"), speaks=False)


def every_page(world: World) -> Iterator[Page]:
    for pages in (admin_pages, list_pages, action_pages, compose_pages, account_pages, api_pages):
        yield from pages(world)


# ------------------------------------------------------------------ the walk

CJK = re.compile(r"[\u4e00-\u9fff]")


def render(world: World, page: Page, language: str) -> tuple[int, str, str]:
    """The page in ``language``: its status, its type and its text. Whatever it changed (the
    database, the fake Tencent's accounts) is undone, so that both languages see the same."""
    accounts = copy.deepcopy(world.fake.accounts)
    with transaction.atomic():
        response = page.fetch(world.clients[page.user], {"HTTP_ACCEPT_LANGUAGE": language})
        body = b"".join(response.streaming_content) if response.streaming else response.content
        transaction.set_rollback(True)
    world.fake.accounts = accounts
    return response.status_code, response["Content-Type"], body.decode()


def test_every_page_speaks_chinese(world: World) -> None:
    msgids = our_msgids()
    problems: list[str] = []
    shown: set[str] = set()
    still_english: set[str] = set()
    pages = list(every_page(world))
    for page in pages:
        english, chinese = (render(world, page, language) for language in LANGUAGES)
        for language, (status, _type, _text) in zip(LANGUAGES, (english, chinese), strict=True):
            if status != page.status:
                problems.append(f"{page.name} ({language}): status {status}, not {page.status}")
        if "html" not in chinese[1]:
            continue  # an export, the raw JSON
        if page.speaks and CJK.search(chinese[2]) is None:
            problems.append(f"{page.name}: no Chinese at all")
        pieces = segments(chinese[2])
        still_english.update(filter(None, map(known, pieces)))
        pieces = [piece for piece in pieces if known(piece) is None and piece not in NOT_OURS]
        in_english = Shown.of(segments(english[2]))
        shown.update(m.text for m in msgids if m.on(in_english))
        left = untranslated(in_english, Shown.of(pieces), msgids)
        if left:
            problems.append(f"{page.name}: {left}")
    assert problems == [], "\n".join(problems)
    assert set(KNOWN_ENGLISH) <= still_english, "translated now: drop them from KNOWN_ENGLISH"
    # The walk read real pages: most of our catalogue showed on them, in English.
    assert len(pages) > 100 and len(shown) > 300, (len(pages), len(shown))


def test_every_module_marks_its_strings_by_names_makemessages_reads() -> None:
    """makemessages finds ``_("…")`` and ``gettext_lazy("…")``, never a string marked through
    another name (``gettext_lazy as _lazy``): such a string is in no catalogue, and every
    language shows it in English."""
    aliased = [
        f"{path.relative_to(PACKAGE)}: {name.name} as {name.asname}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation"
        for name in node.names
        if name.asname not in (None, "_")
    ]
    assert aliased == []
