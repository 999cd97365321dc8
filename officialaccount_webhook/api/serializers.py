from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import OfficialAccountMessage
from ..protocol import MAX_ACCOUNT_LENGTH, MAX_MSG_KEY_LENGTH
from ..recall import MAX_REASON_BYTES, RecallError, check_reason


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
        max_length=MAX_REASON_BYTES, required=False, allow_blank=True, default=""
    )

    def validate_reason(self, value: str) -> str:
        try:
            check_reason(value)
        except RecallError as exc:
            raise serializers.ValidationError(str(exc)) from None
        return value


class RecallOutcomeSerializer(serializers.Serializer[Any]):
    official_account = serializers.CharField()
    msg_key = serializers.CharField()
    status = serializers.ChoiceField(choices=("recalled", "already_recalled", "failed"))
    ret_code = serializers.IntegerField(allow_null=True)
    detail = serializers.CharField()


class RecallResponseSerializer(serializers.Serializer[Any]):
    results = RecallOutcomeSerializer(many=True)
