"""The models' shared kinds of field (``models.base``: ``flag``, ``requester``, ``note``,
``moment``) declare the columns the migrations made: no model change is waiting for a
migration."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import models

from officialaccount_webhook.models import (
    KeywordRule,
    ModerationDecision,
    OfficialAccount,
    OfficialAccountMessage,
    ScheduledSend,
)
from officialaccount_webhook.models.base import REQUESTED_BY_LENGTH


@pytest.mark.django_db
def test_the_models_need_no_new_migration() -> None:
    out = StringIO()
    try:
        call_command(
            "makemigrations", "officialaccount_webhook", check=True, dry_run=True, stdout=out
        )
    except SystemExit:  # --check exits 1 when a migration would be made
        pytest.fail(f"a model change needs a migration:\n{out.getvalue()}")


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (OfficialAccount, "is_full"),
        (OfficialAccountMessage, "backfilled"),
        (OfficialAccountMessage, "online_only"),
        (ModerationDecision, "fallback_applied"),
        (ModerationDecision, "dry_run"),
        (KeywordRule, "is_regex"),
        (ScheduledSend, "online_only"),
    ],
)
def test_a_flag_is_off_until_set(model: type[models.Model], name: str) -> None:
    field = model._meta.get_field(name)
    assert isinstance(field, models.BooleanField)
    assert field.default is False
    assert not field.null


@pytest.mark.parametrize(
    ("model", "name"),
    [
        (OfficialAccountMessage, "recall_requested_by"),
        (OfficialAccountMessage, "sent_by"),
        (ScheduledSend, "requested_by"),
        (ScheduledSend, "cancelled_by"),
    ],
)
def test_who_asked_fits_any_username(model: type[models.Model], name: str) -> None:
    field = model._meta.get_field(name)
    assert isinstance(field, models.CharField)
    assert field.max_length == REQUESTED_BY_LENGTH
    assert field.blank and field.default == "" and not field.null
