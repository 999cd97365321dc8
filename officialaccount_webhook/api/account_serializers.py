"""The JSON of the accounts API: the mirror's rows with Python names, as the messages API has
them; Tencent's names stay on the wire to Tencent."""

from __future__ import annotations

from typing import Literal, get_args

from django.db.models import Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..models import OfficialAccount, OfficialAccountSubscriber

State = Literal["active", "full", "destroyed"]
STATES: tuple[State, ...] = get_args(State)


def account_state(account: OfficialAccount) -> State:
    """One word for where an account stands: destroyed outranks full, and an account that is
    neither is active. ``STATE_LOOKUPS`` is the same rule for the ``state`` filter."""
    if account.destroyed_at is not None:
        return "destroyed"
    return "full" if account.is_full else "active"


STATE_LOOKUPS: dict[str, Q] = {
    "destroyed": Q(destroyed_at__isnull=False),
    "full": Q(destroyed_at__isnull=True, is_full=True),
    "active": Q(destroyed_at__isnull=True, is_full=False),
}


class AccountSerializer(serializers.ModelSerializer[OfficialAccount]):
    state = serializers.SerializerMethodField()

    class Meta:
        model = OfficialAccount
        # The EventTime bookkeeping (profile_event_time, removal_event_time) is how the mirror
        # orders late callbacks, not a fact about the account: left out.
        fields = (
            "id",
            "sdk_app_id",
            "official_account",
            "name",
            "state",
            "owner_account",
            "face_url",
            "introduction",
            "organization",
            "custom_string",
            "subscriber_count",
            "max_subscriber_count",
            "is_full",
            "created_at",
            "destroyed_at",
            "full_at",
            "synced_at",
            "first_seen_at",
        )
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=STATES))
    def get_state(self, account: OfficialAccount) -> State:
        return account_state(account)


class SubscriberSerializer(serializers.ModelSerializer[OfficialAccountSubscriber]):
    is_current = serializers.BooleanField(
        read_only=True, help_text="Subscribed now: no unsubscribed_at."
    )

    class Meta:
        model = OfficialAccountSubscriber
        fields = (
            "id",
            "account",
            "subscriber_account",
            "is_current",
            "subscribed_at",
            "unsubscribed_at",
            "custom_string",
            "msg_flag",
            "synced_at",
        )
        read_only_fields = fields
