from __future__ import annotations

from typing import Any, get_args

from rest_framework import serializers

from ..messages.recall import RecallError, Status, check_reason
from ..models import OfficialAccountMessage
from ..webhook.wire import MAX_ACCOUNT_LENGTH, MAX_MSG_KEY_LENGTH, MAX_RECALL_REASON_BYTES


class MessageSerializer(serializers.ModelSerializer[OfficialAccountMessage]):
    class Meta:
        model = OfficialAccountMessage
        fields = (
            "id",
            "sdk_app_id",
            "official_account",
            "msg_key",
            "msg_time",
            "online_only",
            "msg_body",
            "cloud_custom_data",
            "event_time",
            "client_ip",
            "opt_platform",
            "extra",
            "repairs",
            "received_at",
            "recalled_at",
            "recall_ret_code",
            "recall_reason",
            "recall_requested_by",
        )
        read_only_fields = fields


class RecallRequestSerializer(serializers.Serializer[dict[str, Any]]):
    sdk_app_id = serializers.IntegerField(min_value=1)
    official_account = serializers.CharField(max_length=MAX_ACCOUNT_LENGTH)
    msg_keys = serializers.ListField(
        child=serializers.CharField(max_length=MAX_MSG_KEY_LENGTH), min_length=1, max_length=100
    )
    reason = serializers.CharField(
        max_length=MAX_RECALL_REASON_BYTES, required=False, allow_blank=True, default=""
    )

    def validate_official_account(self, value: str) -> str:
        return _storable(value)

    def validate_msg_keys(self, value: list[str]) -> list[str]:
        return [_storable(key) for key in value]

    def validate_reason(self, value: str) -> str:
        try:
            check_reason(value)
        except RecallError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


class RecallOutcomeSerializer(serializers.Serializer[Any]):
    official_account = serializers.CharField()
    msg_key = serializers.CharField()
    status = serializers.ChoiceField(choices=get_args(Status))
    ret_code = serializers.IntegerField(allow_null=True)
    detail = serializers.CharField(allow_blank=True)


class RecallResponseSerializer(serializers.Serializer[Any]):
    results = RecallOutcomeSerializer(many=True)


def _storable(value: str) -> str:
    # PostgreSQL cannot hold NUL in text; it would fail the query with a 500.
    if "\x00" in value:
        raise serializers.ValidationError("Must not contain a NUL character.")
    return value
