"""Moderation of the before-callbacks, through the webhook with Tencent's sample bodies: each
decision's answer exactly as Tencent's pages give it (60803, 60799, 60795), the hooks' order,
a hook that raises, one that overruns, no free worker, the fallback both ways, dry run, the
decision on the delivery record and in the admin, and the answer while the database is away."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from officialaccount_webhook.conf import get_settings
from officialaccount_webhook.models import CallbackDelivery, ModerationDecision, OfficialAccount
from officialaccount_webhook.moderation import (
    BEFORE_ADD_SUBSCRIBER,
    BEFORE_CREATE_ACCOUNT,
    BEFORE_SEND_MSG,
    Decision,
    HookEvent,
    hook,
    moderate,
    unregister,
)
from officialaccount_webhook.moderation import records as moderation_records
from officialaccount_webhook.moderation.decisions import ContractError, answer
from officialaccount_webhook.moderation.events import parse_before
from officialaccount_webhook.moderation.moderate import decide
from officialaccount_webhook.moderation.pool import HookPool
from officialaccount_webhook.moderation.runner import run_hooks
from tests.clock import Clock
from tests.conftest import TOKEN, PostCallback, callback_query, sample
from tests.settings import SIGNED_APP
from tests.test_spool import database_unreachable, post

pytestmark = pytest.mark.django_db

HERE = "tests.test_moderation"
# Page 60795 gives no sample body: this one is built from the fields it documents
# (Operator_Account, Owner_Account, Name) and EventTime, which every body ends with; the values
# are made up [inferred].
BEFORE_CREATE = {
    "CallbackCommand": BEFORE_CREATE_ACCOUNT,
    "Operator_Account": "107867",
    "Owner_Account": "107867",
    "Name": "TestOfficialAccount",
    "EventTime": 1670574414123,
}
OK = {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}
BODIES = {
    BEFORE_SEND_MSG: lambda: sample("oa-before-send"),
    BEFORE_ADD_SUBSCRIBER: lambda: sample("oa-before-add-subscriber"),
    BEFORE_CREATE_ACCOUNT: lambda: dict(BEFORE_CREATE),
}
CALLS: list[str] = []
RELEASE = threading.Event()


# ------------------------------------------------------------------ hooks, by dotted path


def allow(event: HookEvent) -> Decision:
    CALLS.append("allow")
    return Decision.allow()


def refuse(event: HookEvent) -> Decision:
    CALLS.append("refuse")
    return Decision.refuse("red packets are not for broadcasts")


def refuse_custom(event: HookEvent) -> Decision:
    return Decision.refuse("account suspended", code=120001)


def discard(event: HookEvent) -> Decision:
    CALLS.append("discard")
    return Decision.discard("spam")


def rewrite(event: HookEvent) -> Decision:
    body = [*event.callback.payload.get("MsgBody", []), LEVEL]
    return Decision.rewrite(body, "rewritten data", reason="level added")


def refuse_leckie(event: HookEvent) -> Decision:
    return Decision.refuse_subscribers(["leckie"], "leckie is blocked")


def raises(event: HookEvent) -> Decision:
    raise RuntimeError("the moderation service is down")


def waits(event: HookEvent) -> Decision:
    RELEASE.wait(5)
    return Decision.refuse("too late")


def returns_none(event: HookEvent) -> Any:
    return None


def logs(event: HookEvent) -> Decision:
    logging.getLogger("officialaccount_webhook.moderation.test_hook").warning("hook ran")
    return Decision.allow()


def sees_account(event: HookEvent) -> Decision:
    return Decision.refuse(f"name {event.account.name if event.account else None}")


LEVEL = {
    "MsgType": "TIMCustomElem",
    "MsgContent": {"Desc": "CustomElement.MemberLevel", "Data": "LV1"},
}


def settings_with(*paths: str, command: str = BEFORE_SEND_MSG, **more: Any) -> Any:
    conf = {
        "APPS": {SIGNED_APP: {"CALLBACK_TOKENS": [TOKEN]}},
        "MODERATION_HOOKS": {command: [f"{HERE}.{path}" for path in paths]},
        **more,
    }
    return override_settings(OFFICIALACCOUNT_WEBHOOK=conf)


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    CALLS.clear()
    RELEASE.clear()
    yield
    RELEASE.set()  # no worker stays stuck after a test


def ask(post_callback: PostCallback, body: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    response = post_callback(body, callback_query(body["CallbackCommand"]))
    assert response.status_code == 200
    return response.json(), ModerationDecision.objects.get()


# ------------------------------------------------------------------ the answers


def test_answer_envelopes_follow_tencents_pages() -> None:
    assert answer(Decision.allow()) == OK
    assert answer(Decision.refuse("why")) == {**OK, "ErrorCode": 1}
    assert answer(Decision.refuse("suspended", 130000)) == {
        **OK,
        "ErrorCode": 130000,
        "ErrorInfo": "suspended",
    }
    assert answer(Decision.discard("spam")) == {**OK, "ErrorCode": 2}
    assert answer(Decision.rewrite([LEVEL], "data")) == {
        **OK,
        "MsgBody": [LEVEL],
        "CloudCustomData": "data",
    }
    assert answer(Decision.rewrite(cloud_custom_data="")) == {**OK, "CloudCustomData": ""}
    assert answer(Decision.refuse_subscribers(["jared", "jared"])) == {
        **OK,
        "RefusedSubscribers_Account": ["jared"],
    }


@pytest.mark.parametrize("code", [0, 2, 3, 120000, 130001])
def test_a_refusal_takes_only_tencents_codes(code: int) -> None:
    with pytest.raises(ContractError):
        Decision.refuse("x", code)


def test_without_hooks_every_before_command_is_allowed(post_callback: PostCallback) -> None:
    for body in (sample("oa-before-send"), sample("oa-before-add-subscriber"), BEFORE_CREATE):
        response = post_callback(body, callback_query(body["CallbackCommand"]))
        assert response.json() == OK
    assert set(ModerationDecision.objects.values_list("decision", flat=True)) == {"allow"}
    # This app's commands keep their bodies.
    assert CallbackDelivery.objects.filter(body__isnull=True).count() == 0


@pytest.mark.parametrize(
    ("hook_path", "expected", "decision"),
    [
        ("refuse", {**OK, "ErrorCode": 1}, "refuse"),
        ("refuse_custom", {**OK, "ErrorCode": 120001, "ErrorInfo": "account suspended"}, "refuse"),
        ("discard", {**OK, "ErrorCode": 2}, "discard"),
    ],
)
def test_before_send_decisions(
    post_callback: PostCallback, hook_path: str, expected: dict[str, Any], decision: str
) -> None:
    with settings_with(hook_path):
        answered, record = ask(post_callback, sample("oa-before-send"))
    assert answered == expected
    assert (record.decision, record.hook) == (decision, f"{HERE}.{hook_path}")
    assert record.error_code == expected["ErrorCode"]
    assert record.answer == expected
    assert record.delivery.body == sample("oa-before-send")
    assert record.official_account == "@TOA#_2J4SZEAEL"


def test_before_send_rewrite(post_callback: PostCallback) -> None:
    with settings_with("rewrite"):
        answered, record = ask(post_callback, sample("oa-before-send"))
    body = sample("oa-before-send")["MsgBody"]
    assert answered == {**OK, "MsgBody": [*body, LEVEL], "CloudCustomData": "rewritten data"}
    assert (record.decision, record.reason) == ("rewrite", "level added")


def test_before_subscribe_refuses_some(post_callback: PostCallback) -> None:
    with settings_with("refuse_leckie", command=BEFORE_ADD_SUBSCRIBER):
        answered, record = ask(post_callback, sample("oa-before-add-subscriber"))
    assert answered == {**OK, "RefusedSubscribers_Account": ["leckie"]}
    assert record.decision == "refuse_some"


def test_before_create_refuses_with_a_code_of_its_own(post_callback: PostCallback) -> None:
    with settings_with("refuse_custom", command=BEFORE_CREATE_ACCOUNT):
        answered, record = ask(post_callback, BEFORE_CREATE)
    assert answered == {**OK, "ErrorCode": 120001, "ErrorInfo": "account suspended"}
    assert record.official_account == ""


def test_hooks_run_in_order_and_the_first_that_does_not_allow_decides(
    post_callback: PostCallback,
) -> None:
    with settings_with("allow", "discard", "refuse"):
        answered, record = ask(post_callback, sample("oa-before-send"))
    assert CALLS == ["allow", "discard"]
    assert answered == {**OK, "ErrorCode": 2}
    assert record.hook == f"{HERE}.discard"


def test_decorated_hooks_run_after_the_settings(post_callback: PostCallback) -> None:
    decorated = hook(BEFORE_SEND_MSG)(refuse)
    try:
        with settings_with("allow"):
            answered, _ = ask(post_callback, sample("oa-before-send"))
    finally:
        unregister(decorated)
    assert CALLS == ["allow", "refuse"]
    assert answered["ErrorCode"] == 1
    with pytest.raises(ValueError, match="not before-commands"):
        hook("OfficialAccount.CallbackAfterSendMsg")


@pytest.mark.django_db(transaction=True)  # the row is read by a worker, on its own connection
def test_the_hook_sees_the_account_row(post_callback: PostCallback) -> None:
    OfficialAccount.objects.create(
        sdk_app_id=SIGNED_APP, official_account="@TOA#_2J4SZEAEL", name="News"
    )
    with settings_with("sees_account"):
        _, record = ask(post_callback, sample("oa-before-send"))
    assert record.reason == "name News"


@pytest.mark.parametrize("command", [BEFORE_SEND_MSG, BEFORE_ADD_SUBSCRIBER, BEFORE_CREATE_ACCOUNT])
def test_dry_run_records_the_decision_and_allows(post_callback: PostCallback, command: str) -> None:
    with settings_with("refuse", command=command, MODERATION_DRY_RUN=True):
        answered, record = ask(post_callback, BODIES[command]())
    assert answered == OK
    assert (record.decision, record.dry_run, record.answer) == ("refuse", True, OK)
    assert record.command == command


def test_before_subscribe_refuses_all_with_1(post_callback: PostCallback) -> None:
    with settings_with("refuse", command=BEFORE_ADD_SUBSCRIBER):
        answered, record = ask(post_callback, sample("oa-before-add-subscriber"))
    assert answered == {**OK, "ErrorCode": 1}
    assert (record.decision, record.fallback_applied) == ("refuse", False)


def test_before_subscribe_with_a_code_of_its_own_gets_the_fallback(
    post_callback: PostCallback,
) -> None:
    # Page 60799 offers 0 and 1 only: 120001 is outside the contract, so the fallback answers.
    conf = settings_with(
        "refuse_custom", command=BEFORE_ADD_SUBSCRIBER, MODERATION_FALLBACK="refuse"
    )
    with conf:
        answered, record = ask(post_callback, sample("oa-before-add-subscriber"))
    assert answered == {**OK, "ErrorCode": 1}
    assert record.fallback_applied
    assert (
        record.failure == f"answered {BEFORE_ADD_SUBSCRIBER} takes no code of the app's own, only 1"
    )


# ------------------------------------------------------------------ failures and the fallback


@pytest.mark.parametrize(("fallback", "code"), [("allow", 0), ("refuse", 1)])
def test_a_hook_that_raises_gets_the_fallback(
    post_callback: PostCallback, fallback: str, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    with settings_with("raises", "refuse", MODERATION_FALLBACK=fallback):
        answered, record = ask(post_callback, sample("oa-before-send"))
    assert answered == {**OK, "ErrorCode": code}
    assert CALLS == []  # abandoned: the next hooks are not asked
    assert record.fallback_applied
    assert record.hook == f"{HERE}.raises"
    assert record.failure == "raised RuntimeError: the moderation service is down"
    assert "the moderation service is down" in caplog.text


def test_a_hook_that_overruns_gets_the_fallback(post_callback: PostCallback) -> None:
    # A few milliseconds of real waiting: the hook is stuck until the test releases it. (An
    # account's creation has no account row to look up first, which would spend the budget.)
    conf = settings_with(
        "waits", command=BEFORE_CREATE_ACCOUNT, MODERATION_BUDGET=0.01, MODERATION_FALLBACK="refuse"
    )
    with conf:
        answered, record = ask(post_callback, BEFORE_CREATE)
    RELEASE.set()
    assert answered == {**OK, "ErrorCode": 1}
    assert record.fallback_applied
    assert record.failure == "overran the budget of 0.01 s and was abandoned"


@pytest.mark.parametrize(
    ("hook_path", "command", "failure"),
    [
        ("returns_none", BEFORE_SEND_MSG, "answered NoneType, not a Decision"),
        ("discard", BEFORE_ADD_SUBSCRIBER, f"answered {BEFORE_ADD_SUBSCRIBER} cannot answer"),
        ("refuse_custom", BEFORE_ADD_SUBSCRIBER, "answered " + BEFORE_ADD_SUBSCRIBER),
        ("rewrite", BEFORE_CREATE_ACCOUNT, f"answered {BEFORE_CREATE_ACCOUNT} cannot answer"),
    ],
)
def test_an_answer_the_contract_cannot_give_gets_the_fallback(
    post_callback: PostCallback, hook_path: str, command: str, failure: str
) -> None:
    with settings_with(hook_path, command=command):
        answered, record = ask(post_callback, BODIES[command]())
    assert answered == OK
    assert record.fallback_applied
    assert record.failure.startswith(failure)


def hook_event(body: dict[str, Any] | None = None) -> HookEvent:
    body = body or sample("oa-before-send")
    return HookEvent(parse_before(body["CallbackCommand"], body), SIGNED_APP)


def test_a_hook_answering_after_the_deadline_counts_as_overrun() -> None:
    clock = Clock(100.0)

    def slow(event: HookEvent) -> Decision:
        clock.sleep(10)  # the injected clock: no real waiting
        return Decision.refuse("late")

    verdict = run_hooks(
        hook_event(), [slow], budget=1.5, fallback=Decision.allow(), pool=HookPool(1), clock=clock
    )
    assert verdict.fallback_applied and verdict.decision.allows
    assert verdict.duration == 10
    assert "overran" in verdict.failure


def test_durations_come_from_the_clock() -> None:
    clock = Clock(5.0)

    def thinks(event: HookEvent) -> Decision:
        clock.sleep(0.25)
        return Decision.discard()

    verdict = run_hooks(
        hook_event(), [thinks], budget=1.5, fallback=Decision.allow(), pool=HookPool(1), clock=clock
    )
    assert (verdict.decision.action, verdict.duration, verdict.fallback_applied) == (
        "discard",
        0.25,
        False,
    )


def test_a_spent_budget_runs_no_further_hook() -> None:
    clock = Clock()

    def spends(event: HookEvent) -> Decision:
        clock.sleep(1.5)
        return Decision.allow()

    verdict = run_hooks(
        hook_event(),
        [spends, refuse],
        budget=1.5,
        fallback=Decision.allow(),
        pool=HookPool(2),
        clock=clock,
    )
    assert CALLS == []
    assert verdict.failure == "not run: the budget was spent"
    assert verdict.hook == f"{HERE}.refuse"


def test_when_every_worker_is_stuck_the_fallback_answers_at_once() -> None:
    pool = HookPool(1)
    event = hook_event()
    fallback = Decision.refuse("fallback")
    first = run_hooks(event, [waits], budget=0.002, fallback=fallback, pool=pool)
    assert "overran" in first.failure
    # The stuck hook keeps the only worker: nothing is queued behind it.
    second = run_hooks(event, [refuse], budget=1.5, fallback=fallback, pool=pool)
    assert second.failure == "not run: all 1 moderation workers are busy"
    assert second.decision == fallback
    assert CALLS == []
    RELEASE.set()
    # The worker comes back once the hook returns, on its own thread: give it up to 10 s on a
    # busy machine (a wait, not a bound on anything measured).
    for _ in range(1000):
        third = run_hooks(event, [refuse], budget=1.5, fallback=fallback, pool=pool)
        if not third.fallback_applied:
            break
        time.sleep(0.01)
    assert third.decision.reason == "red packets are not for broadcasts"


# ------------------------------------------------------------------ records, admin, outage


def test_a_refused_message_is_in_the_admin_with_its_body(
    post_callback: PostCallback, admin_client: Client
) -> None:
    with settings_with("refuse"):
        _, record = ask(post_callback, sample("oa-before-send"))
    changelist = reverse("admin:officialaccount_webhook_moderationdecision_changelist")
    listed = admin_client.get(changelist, {"decision__exact": "refuse"})
    assert listed.status_code == 200
    assert f"{HERE}.refuse" in listed.content.decode()
    others = admin_client.get(changelist, {"decision__exact": "allow"}).content.decode()
    assert f"{HERE}.refuse" not in others
    page = admin_client.get(
        reverse("admin:officialaccount_webhook_moderationdecision_change", args=[record.pk])
    ).content.decode()
    assert "red packet" in page and "refused" in page
    delivery_page = admin_client.get(
        reverse("admin:officialaccount_webhook_callbackdelivery_change", args=[record.delivery_id])
    ).content.decode()
    assert "refused</a> by tests.test_moderation.refuse" in delivery_page


@pytest.mark.django_db(transaction=True)
def test_an_outage_still_answers_the_decision_and_spools(tmp_path: Path) -> None:
    spool_dir = tmp_path / "spool"
    body = sample("oa-before-send")
    with settings_with("refuse", SPOOL_DIR=str(spool_dir)), database_unreachable():
        response = post(body, callback_query(BEFORE_SEND_MSG))
    assert response.status_code == 200
    assert response.json() == {**OK, "ErrorCode": 1}
    assert len(list(spool_dir.glob("*.json"))) == 1


@pytest.mark.django_db(transaction=True)
def test_an_outage_without_a_spool_still_answers() -> None:
    with settings_with("discard"), database_unreachable():
        response = post(sample("oa-before-send"), callback_query(BEFORE_SEND_MSG))
    assert (response.status_code, response.json()) == (200, {**OK, "ErrorCode": 2})


# ------------------------------------------------------------------ no failure reaches the answer


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("no_such_hook", "ImportError"),  # a missing function
        ("LEVEL", "it is not callable"),  # a dict, not a function
    ],
)
def test_a_hook_path_that_cannot_be_loaded_gets_the_fallback(
    post_callback: PostCallback, path: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    with settings_with(path, MODERATION_FALLBACK="refuse"):
        answered, record = ask(post_callback, sample("oa-before-send"))
    assert answered == {**OK, "ErrorCode": 1}
    assert record.fallback_applied
    assert record.hook == f"{HERE}.{path}"
    assert f"{HERE}.{path} could not be loaded" in record.failure
    assert problem in record.failure
    assert f"{HERE}.{path} could not be loaded" in caplog.text


def slow_lookup_after(clock: Clock, seconds: float) -> Any:
    def lookup(sdk_app_id: int, event: Any) -> OfficialAccount:
        clock.sleep(seconds)  # the injected clock: no real waiting
        return OfficialAccount(sdk_app_id=sdk_app_id, official_account="x", name="Late")

    return lookup


@pytest.mark.parametrize(("seconds", "name"), [(0.5, "Late"), (1.0, "None")])
def test_the_account_lookup_has_half_the_budget(seconds: float, name: str) -> None:
    # The lookup may take up to half of the 1.5 s budget; a slower one gives the hooks no row.
    with settings_with("sees_account"):
        app = get_settings().apps[SIGNED_APP]
        clock = Clock(10.0)
        event = parse_before(BEFORE_SEND_MSG, sample("oa-before-send"))
        decided = decide(app, event, clock=clock, lookup=slow_lookup_after(clock, seconds))
    assert decided.verdict is not None
    assert decided.verdict.decision.reason == f"name {name}"
    assert not decided.verdict.fallback_applied


def test_a_hung_account_lookup_is_abandoned_in_time(
    post_callback: PostCallback, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A few milliseconds of real waiting: the lookup is stuck until the test releases it.
    def hangs(sdk_app_id: int, event: Any) -> OfficialAccount | None:
        RELEASE.wait(5)
        return None

    monkeypatch.setattr(moderate, "account_of", hangs)
    with settings_with("sees_account", MODERATION_BUDGET=0.02):
        answered, record = ask(post_callback, sample("oa-before-send"))
    RELEASE.set()
    assert answered == {**OK, "ErrorCode": 1}
    assert (record.reason, record.fallback_applied) == ("name None", False)


def test_a_callback_that_cannot_be_stored_is_kept_as_refused(
    post_callback: PostCallback, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A real IntegrityError from the database: the decision recorded twice for one delivery.
    record_once = moderation_records.record

    def record_twice(using: str, delivery: CallbackDelivery, event: Any) -> Any:
        record_once(using, delivery, event)
        return record_once(using, delivery, event)

    monkeypatch.setattr(moderation_records, "record", record_twice)
    body = sample("oa-before-send")
    with settings_with("refuse"):
        response = post_callback(body, callback_query(BEFORE_SEND_MSG))
    assert (response.status_code, response.json()) == (200, {**OK, "ErrorCode": 1})
    delivery = CallbackDelivery.objects.get()
    assert (delivery.outcome, delivery.status_code) == (CallbackDelivery.Outcome.REFUSED, 200)
    assert delivery.reason == "not stored (IntegrityError)"
    assert json.loads(bytes(delivery.raw_body)) == body
    assert not ModerationDecision.objects.exists()  # rolled back with the delivery


@pytest.mark.parametrize("command", [BEFORE_SEND_MSG, BEFORE_ADD_SUBSCRIBER])
def test_a_before_callback_makes_its_account_known(
    post_callback: PostCallback, command: str
) -> None:
    body = BODIES[command]()
    for _ in range(2):  # known after the first: no second row
        response = post_callback(body, callback_query(command))
        assert response.json() == OK
    account = OfficialAccount.objects.get()
    assert (account.sdk_app_id, account.official_account) == (SIGNED_APP, body["Official_Account"])


def test_an_account_creation_names_no_account_to_make_known(post_callback: PostCallback) -> None:
    ask(post_callback, BEFORE_CREATE)
    assert not OfficialAccount.objects.exists()


def test_a_hooks_log_lines_carry_the_callbacks_fields(
    post_callback: PostCallback, caplog: pytest.LogCaptureFixture
) -> None:
    with settings_with("logs"), caplog.at_level(logging.WARNING):
        ask(post_callback, sample("oa-before-send"))
    (line,) = [record for record in caplog.records if record.getMessage() == "hook ran"]
    assert line.threadName.startswith("moderation-")  # from a worker, not the request
    assert (line.command, line.sdk_app_id) == (BEFORE_SEND_MSG, SIGNED_APP)  # type: ignore[attr-defined]
