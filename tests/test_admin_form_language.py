"""The admin forms' help texts that carry a number or a prefix are shown in the request's
language: their values go in when the text is shown, not once when the module is imported (in
the project's language, whatever the user reads)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest
from django import forms
from django.utils import translation

from officialaccount_webhook.admin.account_forms import (
    ACCOUNT_PREFIX,
    MAX_SUBSCRIBERS_PER_ACTION,
    CreateAccountForm,
    SubscribersForm,
)
from officialaccount_webhook.admin.recall import RecallForm
from officialaccount_webhook.webhook.wire import MAX_RECALL_REASON_BYTES

CASES = [
    pytest.param(
        RecallForm,
        "reason",
        "Optional; sent to Tencent. At most %(bytes)d bytes.",
        {"bytes": MAX_RECALL_REASON_BYTES},
        id="recall-reason",
    ),
    pytest.param(
        lambda: CreateAccountForm(apps=[1]),
        "official_account",
        "Optional; must start with %(prefix)s. Without one Tencent chooses it.",
        {"prefix": ACCOUNT_PREFIX},
        id="account-id",
    ),
    pytest.param(
        lambda: CreateAccountForm(apps=[1]),
        "introduction",
        "At most %(limit)d bytes.",
        {"limit": 400},
        id="profile-limit",
    ),
    pytest.param(
        SubscribersForm,
        "subscriber_accounts",
        "User IDs, one a line (or separated by spaces or commas); at most %(max)d.",
        {"max": MAX_SUBSCRIBERS_PER_ACTION},
        id="subscribers",
    ),
]


@pytest.mark.parametrize(("form", "field", "message", "values"), CASES)
@pytest.mark.parametrize("language", ["zh-hans", "ja", "en"])
def test_a_help_text_with_a_value_is_in_the_active_language(
    form: Callable[[], forms.Form],
    field: str,
    message: str,
    values: Mapping[str, object],
    language: str,
) -> None:
    with translation.override(language):
        expected = translation.gettext(message) % values
        shown = str(form().fields[field].help_text)
    assert shown == expected
    if language != "en":  # the catalogue translates it, so the English text would be wrong
        assert shown != message % values
