"""The developer's tool: real HTTP requests to a real server running the webhook."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from officialaccount_webhook.models import CallbackDelivery, OfficialAccountMessage
from tests.conftest import element_samples

pytestmark = pytest.mark.django_db(transaction=True)

ONE_SIGNED_APP = {"APPS": {1400000000: {"CALLBACK_TOKENS": ["live-token"]}}}


def run(*args: str) -> str:
    out = StringIO()
    call_command("officialaccount_send_test_callback", *args, stdout=out)
    return out.getvalue()


def webhook(live_server: Any) -> str:
    return f"{live_server.url}/webhooks/tencent-chat/"


@override_settings(OFFICIALACCOUNT_WEBHOOK=ONE_SIGNED_APP)
def test_sends_every_sample_signed_with_the_configured_token(live_server: Any) -> None:
    before = timezone.now().replace(microsecond=0)
    output = run(webhook(live_server))
    after = timezone.now()
    names = element_samples()
    assert len(names) == 9
    for name in names:
        assert f"after-send-{name}: 200 " in output
    assert f"All {len(names)} callbacks were answered with 200." in output
    assert OfficialAccountMessage.objects.count() == len(names)
    assert set(OfficialAccountMessage.objects.values_list("client_ip", "opt_platform")) == {
        ("127.0.0.1", "RESTAPI")
    }
    assert set(CallbackDelivery.objects.values_list("outcome", flat=True)) == {"accepted"}
    # Stamped as sent now, so they show among today's messages, not in the samples' 2017.
    for msg_time, event_time in OfficialAccountMessage.objects.values_list(
        "msg_time", "event_time"
    ):
        assert before <= msg_time <= event_time <= after


@override_settings(OFFICIALACCOUNT_WEBHOOK=ONE_SIGNED_APP)
def test_second_run_is_acknowledged_as_duplicates(live_server: Any) -> None:
    run(webhook(live_server))
    run(webhook(live_server))
    assert OfficialAccountMessage.objects.count() == 9
    assert CallbackDelivery.objects.filter(outcome="duplicate").count() == 9


@override_settings(OFFICIALACCOUNT_WEBHOOK=ONE_SIGNED_APP)
def test_wrong_token_fails_loudly(live_server: Any) -> None:
    with pytest.raises(CommandError, match="9 of 9 callbacks were not answered with 200"):
        run(webhook(live_server), "--token", "wrong")
    assert OfficialAccountMessage.objects.count() == 0


@override_settings(
    OFFICIALACCOUNT_WEBHOOK={"APPS": {1: {"ACCEPT_UNSIGNED": True}, 2: {"ACCEPT_UNSIGNED": True}}}
)
def test_several_apps_need_a_choice(live_server: Any) -> None:
    with pytest.raises(CommandError, match="2 apps are configured"):
        run(webhook(live_server))
    assert "All 9" in run(webhook(live_server), "--sdkappid", "2")
    assert set(OfficialAccountMessage.objects.values_list("sdk_app_id", flat=True)) == {2}


def test_only_http_urls() -> None:
    with pytest.raises(CommandError, match="URL must start with http"):
        run("file:///etc/passwd", "--sdkappid", "1400000000")


def test_unreachable_server_is_reported() -> None:
    with pytest.raises(CommandError):
        run(
            "http://127.0.0.1:9/webhooks/tencent-chat/",
            "--sdkappid",
            "1400000000",
            "--timeout",
            "2",
        )
