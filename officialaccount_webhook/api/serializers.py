from __future__ import annotations

from typing import Any, get_args

from django.utils.translation import gettext as _
from rest_framework import serializers

from ..messages.recall import RecallError, Status, check_reason
from ..models import OfficialAccountMessage
from ..values import MAX_SDK_APP_ID_DIGITS
from ..webhook.wire import MAX_ACCOUNT_LENGTH, MAX_MSG_KEY_LENGTH, MAX_RECALL_REASON_BYTES
from .params import NUL_CHARACTER

MAX_SDK_APP_ID = 10**MAX_SDK_APP_ID_DIGITS - 1


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
            "recall_unknown_at",
            "recall_ret_code",
            "recall_reason",
            "recall_requested_by",
        )
        read_only_fields = fields


class RecallCheckRequestSerializer(serializers.Serializer[dict[str, Any]]):
    # An SDKAppID has ten digits; eighteen always fit the database's bigint (values.py).
    sdk_app_id = serializers.IntegerField(min_value=1, max_value=MAX_SDK_APP_ID)
    official_account = serializers.CharField(max_length=MAX_ACCOUNT_LENGTH)
    msg_keys = serializers.ListField(
        child=serializers.CharField(max_length=MAX_MSG_KEY_LENGTH), min_length=1, max_length=100
    )

    def validate_official_account(self, value: str) -> str:
        return _storable(value)

    def validate_msg_keys(self, value: list[str]) -> list[str]:
        return [_storable(key) for key in value]


class RecallRequestSerializer(RecallCheckRequestSerializer):
    reason = serializers.CharField(
        max_length=MAX_RECALL_REASON_BYTES, required=False, allow_blank=True, default=""
    )

    def validate_reason(self, value: str) -> str:
        _storable(value)
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
    # PostgreSQL cannot hold NUL in text, and no database driver can encode a lone surrogate
    # (JSON's "\ud800"): either would fail the query with a 500.
    if "\x00" in value:
        raise serializers.ValidationError(NUL_CHARACTER)
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise serializers.ValidationError(_("Must not contain a lone surrogate."))
    return value
