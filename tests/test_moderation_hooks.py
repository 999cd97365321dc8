"""The hooks that ship: keywords (database rules and settings, case, file names, custom
descriptions, patterns, per app, the cache forgetting a changed rule), message shape (size,
element types, custom elements), and the deny list for each before-command; then the keyword
hook through the webhook, its rules read by a worker thread; and the settings' checks."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import override_settings

from officialaccount_webhook.conf import parse_settings
from officialaccount_webhook.models import DenyListEntry, KeywordRule, ModerationDecision
from officialaccount_webhook.moderation import BEFORE_SEND_MSG, HookEvent, keywords
from officialaccount_webhook.moderation.events import parse_before
from officialaccount_webhook.moderation.keywords import KeywordMatcher, refuse_keywords
from officialaccount_webhook.moderation.shipped import refuse_denied, refuse_malformed
from tests.conftest import TOKEN, callback_query, sample
from tests.settings import SIGNED_APP
from tests.test_moderation import BEFORE_CREATE, OK
from tests.test_spool import post

pytestmark = pytest.mark.django_db
OTHER_APP = 1400000009


@pytest.fixture(autouse=True)
def no_cached_rules() -> None:
    # A test's rules vanish with its transaction, which no signal tells the cache.
    keywords.invalidate()


def send_event(*elements: dict[str, Any], sdk_app_id: int = SIGNED_APP) -> HookEvent:
    body = {**sample("oa-before-send"), "MsgBody": list(elements)}
    return HookEvent(parse_before(BEFORE_SEND_MSG, body), sdk_app_id)


def text(value: str) -> dict[str, Any]:
    return {"MsgType": "TIMTextElem", "MsgContent": {"Text": value}}


def test_matcher_finds_words_ignoring_case_and_patterns() -> None:
    matcher = KeywordMatcher(["Red Packet", "red", "casino"], [r"\bwin \d+ prizes?\b"])
    assert matcher.find("A RED PACKET for you") == "red"
    assert matcher.find("no CASINOS here") == "casino"
    assert matcher.find("Win 100 prizes now") == "Win 100 prizes"
    assert matcher.find("reading is fine") is None
    assert matcher.find("all clear") is None
    assert matcher.find("xcasino") is None  # Latin words match where a word starts
    chinese = KeywordMatcher(["红包", "赌", "优惠券"])
    assert chinese.find("今天发红包啦") == "红包"
    assert chinese.find("不要赌博") == "赌"
    assert chinese.find("领取优惠券") == "优惠券"
    assert chinese.find("优惠") is None
    assert KeywordMatcher([]).find("anything") is None


def test_keyword_hook_reads_texts_file_names_and_custom_descriptions() -> None:
    KeywordRule.objects.create(pattern="Forbidden")
    KeywordRule.objects.create(pattern="secret-plan", sdk_app_id=OTHER_APP)
    KeywordRule.objects.create(pattern="disabled", enabled=False)
    file = {"MsgType": "TIMFileElem", "MsgContent": {"FileName": "FORBIDDEN.pdf"}}
    custom = {"MsgType": "TIMCustomElem", "MsgContent": {"Desc": "a forbidden thing"}}
    assert refuse_keywords(send_event(text("hello"))).allows
    for element in (text("so forbidden"), file, custom):
        decision = refuse_keywords(send_event(element))
        assert (decision.action, decision.error_code) == ("refuse", 1)
        assert decision.reason == "blocked word 'forbidden'"
    assert refuse_keywords(send_event(text("disabled"))).allows
    assert refuse_keywords(send_event(text("the secret-plan"))).allows  # another app's rule
    assert not refuse_keywords(send_event(text("the secret-plan"), sdk_app_id=OTHER_APP)).allows


def test_keyword_cache_forgets_saved_and_deleted_rules() -> None:
    assert refuse_keywords(send_event(text("jackpot"))).allows
    rule = KeywordRule.objects.create(pattern="jackpot")
    assert not refuse_keywords(send_event(text("jackpot"))).allows
    rule.pattern = r"jack\w+"
    rule.is_regex = True
    rule.save()
    assert refuse_keywords(send_event(text("JACKPOTS"))).reason == "blocked word 'JACKPOTS'"
    rule.delete()
    assert refuse_keywords(send_event(text("jackpot"))).allows


def test_ascii_words_start_after_chinese_text_too() -> None:
    matcher = KeywordMatcher(["casino", "red_packet"])
    assert matcher.find("买casino") == "casino"  # Python's \b sees no word start after 买
    assert matcher.find("快来 CASINO!") == "casino"
    assert matcher.find("发red_packet吧") == "red_packet"
    assert matcher.find("xcasino") is None
    assert matcher.find("9casino") is None
    assert matcher.find("_casino") is None


@pytest.mark.parametrize(
    "pattern", ["(a+)+", "(.*)*", r"(\w+\s?)*$", "(?:x(a|b)*)+", "(a{1,3}){2,}"]
)
def test_a_pattern_with_nested_quantifiers_is_refused(pattern: str) -> None:
    rule = KeywordRule(pattern=pattern, is_regex=True)
    with pytest.raises(ValidationError) as refused:
        rule.full_clean()
    assert "quantifier inside a repeated group" in str(refused.value.message_dict["pattern"])
    # As a plain word it is harmless: matched as text.
    KeywordRule(pattern=pattern).full_clean()


@pytest.mark.parametrize(
    "pattern", [r"\bwin \d+ prizes?\b", "(?:ab)+", "(a{2})+", "[a+]+", "(a|b)+"]
)
def test_a_pattern_without_nested_quantifiers_is_accepted(pattern: str) -> None:
    KeywordRule(pattern=pattern, is_regex=True).full_clean()


def test_a_nested_pattern_saved_around_the_admin_is_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    KeywordRule.objects.create(pattern="(ab+)+", is_regex=True)  # save() does not clean
    KeywordRule.objects.create(pattern="jack(pot)+", is_regex=True)
    assert refuse_keywords(send_event(text("abbab"))).allows
    assert "'(ab+)+' is skipped" in caplog.text
    assert not refuse_keywords(send_event(text("jackpotpot"))).allows


def test_keyword_hook_reads_the_settings_words() -> None:
    conf = {
        "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}},
        "MODERATION_BLOCKED_WORDS": ["spam"],
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        assert not refuse_keywords(send_event(text("SPAM!"))).allows


def test_shape_hook_refuses_size_types_and_malformed_custom_elements() -> None:
    image = {"MsgType": "TIMImageElem", "MsgContent": {"UUID": "x"}}
    conf = {
        "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}},
        "MODERATION_MAX_MESSAGE_BYTES": 200,
        "MODERATION_ELEMENT_TYPES": ["TIMTextElem", "TIMCustomElem"],
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        assert refuse_malformed(send_event(text("short"))).allows
        assert refuse_malformed(send_event(text("x" * 300))).reason.endswith("over 200")
        assert "'TIMImageElem' is not allowed" in refuse_malformed(send_event(image)).reason
        bad = {"MsgType": "TIMCustomElem", "MsgContent": {"Data": {"not": "a string"}}}
        assert refuse_malformed(send_event(bad)).reason == (
            "MsgBody[0]: a custom element's Data must be a string"
        )
        good = {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "LV1", "Desc": "level"}}
        assert refuse_malformed(send_event(good)).allows
    with pytest.raises(ImproperlyConfigured, match="unknown MsgType"):
        parse_settings({"MODERATION_ELEMENT_TYPES": ["TIMRelayElem"]})


def test_deny_list_for_each_command() -> None:
    deny = DenyListEntry.objects.create
    deny(kind="subscriber", account="leckie", sdk_app_id=SIGNED_APP)
    deny(kind="subscriber", account="jared", sdk_app_id=OTHER_APP)
    subscribe = sample("oa-before-add-subscriber")
    event = HookEvent(parse_before(subscribe["CallbackCommand"], subscribe), SIGNED_APP)
    decision = refuse_denied(event)
    assert (decision.action, decision.refused_subscribers) == ("refuse_some", ("leckie",))
    deny(kind="operator", account="107867")  # every app
    assert refuse_denied(event).action == "refuse"
    create = HookEvent(parse_before(BEFORE_CREATE["CallbackCommand"], BEFORE_CREATE), SIGNED_APP)
    assert refuse_denied(create).reason == "operator 107867 is denied"
    assert refuse_denied(send_event(text("hi"))).allows
    deny(kind="official_account", account="@TOA#_2J4SZEAEL", sdk_app_id=SIGNED_APP)
    assert refuse_denied(send_event(text("hi"))).action == "refuse"
    assert refuse_denied(send_event(text("hi"), sdk_app_id=OTHER_APP)).allows


@pytest.mark.django_db(transaction=True)
def test_keyword_hook_through_the_webhook() -> None:
    # Committed rows: the hook reads them in a worker thread, on a connection of its own.
    KeywordRule.objects.create(pattern="red packet")
    conf = {
        "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}},
        "MODERATION_HOOKS": {
            BEFORE_SEND_MSG: ["officialaccount_webhook.moderation.keywords.refuse_keywords"]
        },
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        response = post(sample("oa-before-send"), callback_query(BEFORE_SEND_MSG))
        assert response.json() == {**OK, "ErrorCode": 1}
        allowed = {**sample("oa-before-send"), "MsgBody": [text("hello")]}
        assert post(allowed, callback_query(BEFORE_SEND_MSG)).json() == OK
    decisions = list(ModerationDecision.objects.order_by("id").values_list("decision", "reason"))
    assert decisions == [("refuse", "blocked word 'red packet'"), ("allow", "")]


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"MODERATION_HOOKS": {"OfficialAccount.CallbackAfterSendMsg": []}}, "not a before"),
        ({"MODERATION_HOOKS": {BEFORE_SEND_MSG: "a.b"}}, "must be a list"),
        ({"MODERATION_FALLBACK": "deny"}, "'allow' or 'refuse'"),
        ({"MODERATION_BUDGET": 0}, "greater than 0"),
        ({"MODERATION_WORKERS": 0}, "at least 1"),
        ({"MODERATION_DRY_RUN": "yes"}, "True or False"),
    ],
)
def test_bad_settings_are_named(raw: dict[str, Any], match: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=match):
        parse_settings(raw)


def test_checks_name_a_hook_that_cannot_be_imported_and_a_long_budget() -> None:
    conf = {
        "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}},
        "MODERATION_HOOKS": {BEFORE_SEND_MSG: ["tests.nowhere.hook"]},
        "MODERATION_BUDGET": 1.9,
    }
    with override_settings(OFFICIALACCOUNT_WEBHOOK=conf):
        ids = {message.id for message in run_checks()}
    assert {"officialaccount_webhook.E004", "officialaccount_webhook.W015"} <= ids
    with override_settings(OFFICIALACCOUNT_WEBHOOK={"APPS": {}}):
        ids = {message.id for message in run_checks()}
    assert not {"officialaccount_webhook.E004", "officialaccount_webhook.W015"} & ids
