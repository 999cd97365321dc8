"""The budget, shown where it matters: the example project under gunicorn, with a hook that
sleeps 10 s and one that raises. Tencent gets its answer, the fallback's, while the sleeping
hook still sleeps, and the failure is recorded. No wall-clock bound is asserted: the proof is
that the answer came before the hook woke (its mark is not there yet), and the duration the
app recorded for the decision."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from officialaccount_webhook.models import CallbackDelivery, ModerationDecision
from tests.conftest import callback_query, sample, with_other_processes
from tests.gunicorn_process import ASGI, CALLBACK_PATH, PRELOAD, gunicorn, project_environment

pytestmark = with_other_processes("gunicorn serving the example project")


def post(port: int, body: dict[str, Any]) -> dict[str, Any]:
    query = callback_query(command=body["CallbackCommand"])
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{CALLBACK_PATH}?{urlencode(query)}",
        data=json.dumps(body).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def test_a_sleeping_hook_and_a_raising_hook_get_the_fallback_in_time(tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    environment = project_environment(
        tmp_path,
        DJANGO_SETTINGS_MODULE="tests.gunicorn_moderation_settings",
        MODERATION_TEST_MARKS=str(marks),
    )
    with gunicorn((*ASGI, *PRELOAD, "--workers", "1"), environment) as port:
        send_answer = post(port, sample("oa-before-send"))
        # The hook sleeps on: the answer did not wait for it.
        assert not (marks / "woke").exists()
        subscribe_answer = post(port, sample("oa-before-add-subscriber"))
    # The fallback (allow, the default) answered both, in Tencent's envelope.
    assert send_answer["ActionStatus"] == subscribe_answer["ActionStatus"] == "OK"
    assert send_answer["ErrorCode"] == subscribe_answer["ErrorCode"] == 0
    decisions = {
        decision.command: decision
        for decision in ModerationDecision.objects.select_related("delivery")
    }
    slept = decisions["OfficialAccount.CallbackBeforeSendMsg"]
    raised = decisions["OfficialAccount.CallbackBeforeAddSubscriber"]
    for decision in (slept, raised):
        assert decision.fallback_applied
        assert decision.decision == ModerationDecision.Decision.ALLOW
        assert decision.delivery.outcome == CallbackDelivery.Outcome.MODERATED
    assert slept.hook == raised.hook.replace("raises", "sleeps")
    assert "budget" in slept.failure or "overran" in slept.failure, slept.failure
    assert "a hook that fails" in raised.failure
    # The app recorded how long the decision took; that the answer did not wait for the hook
    # is shown above by its mark, not by a bound on a measured time.
    assert slept.duration_ms > 0
