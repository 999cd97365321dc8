"""The baseline of bench/ingest_bench.py: the plain Django view most teams would write first."""

import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from .models import BaselineMessage


@csrf_exempt
def ingest(request):  # type: ignore[no-untyped-def]  # deliberately plain
    data = json.loads(request.body)
    BaselineMessage.objects.create(
        sdk_app_id=int(request.GET["SdkAppid"]),
        official_account=data["Official_Account"],
        msg_key=data["MsgKey"],
        msg_time=data["MsgTime"],
        online_only=data.get("OnlineOnlyFlag") == 1,
        msg_body=data["MsgBody"],
        cloud_custom_data=data.get("CloudCustomData", ""),
        event_time=data["EventTime"],
    )
    return JsonResponse({"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""})
