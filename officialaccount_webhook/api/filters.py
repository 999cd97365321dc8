"""The messages list's query parameters as a filter backend: it narrows the list, and offers the
same parameters as a form on the browsable API's page (``to_html``).

The parameters are checked here too: a value that cannot be parsed is a 400 naming it, never a
500 or a silent default (``params.py`` holds their lengths).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request
from rest_framework.views import APIView

from ..elements import MIN_RUN, indexable
from ..models import OfficialAccountMessage, OfficialAccountMessageQuerySet
from ..values import parse_moment, parse_sdk_app_id
from .params import MAX_LENGTHS, NUL_CHARACTER, WHOLE_NUMBER

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise

TEMPLATE = "officialaccount_webhook/api/message_filters.html"
_DATETIME_HINT = _("Enter an ISO 8601 date and time, e.g. 2024-06-01T00:00:00Z.")
# Each parameter as the form shows it: name, label, input type, hint.
FORM_FIELDS = (
    ("sdk_app_id", _("SDKAppID"), "number", _("exact")),
    ("official_account", _("Official account ID"), "text", _("exact")),
    ("msg_key", _("MsgKey"), "text", _("exact")),
    ("since", _("Message time from"), "text", _("ISO 8601, inclusive")),
    ("until", _("Message time before"), "text", _("ISO 8601, exclusive")),
    ("text", _("Text in the message"), "text", _("contains these words")),
)
_Value = TypeVar("_Value")


class MessageFilters(BaseFilterBackend):
    """``sdk_app_id``, ``official_account``, ``msg_key``, ``since``, ``until`` and ``text``."""

    def filter_queryset(
        self, request: Request, queryset: QuerySet[Any], view: APIView
    ) -> QuerySet[Any]:
        params = request.query_params
        for name, value in params.items():
            if "\x00" in value:  # PostgreSQL cannot compare text with NUL: a 500 otherwise
                raise ValidationError({name: NUL_CHARACTER})
        text = params.get("text")
        if text is not None and not indexable(text):
            # Otherwise a read of every row, each request (elements.MIN_RUN says why).
            hint = gettext("Needs %(count)d letters or digits in a row.") % {"count": MIN_RUN}
            raise ValidationError({"text": hint})
        messages = cast(OfficialAccountMessageQuerySet, queryset)
        return messages.matching(
            sdk_app_id=_parsed(params, "sdk_app_id", parse_sdk_app_id, WHOLE_NUMBER),
            official_account=params.get("official_account"),
            msg_key=params.get("msg_key"),
            since=_parsed(params, "since", parse_moment, _DATETIME_HINT),
            until=_parsed(params, "until", parse_moment, _DATETIME_HINT),
            text=text,
        )

    def to_html(
        self, request: Request, queryset: QuerySet[OfficialAccountMessage], view: APIView
    ) -> str:
        """The parameters as a GET form, filled with the request's values."""
        params = request.query_params
        fields = [
            {
                "name": name,
                "label": label,
                "type": kind,
                "hint": hint,
                "value": params.get(name, ""),
                "max_length": MAX_LENGTHS.get(name),
            }
            for name, label, kind, hint in FORM_FIELDS
        ]
        return render_to_string(TEMPLATE, {"fields": fields}, request=request)


def _parsed(
    params: Mapping[str, str],
    name: str,
    parse: Callable[[str], _Value | None],
    hint: _StrOrPromise,
) -> _Value | None:
    """``params[name]`` parsed, None if absent; a 400 naming the parameter if it cannot be."""
    if name not in params:
        return None
    value = parse(params[name])
    if value is None:
        raise ValidationError({name: hint})
    if isinstance(value, datetime):
        # The same moment in UTC: PostgreSQL refuses a UTC offset over 15:59 (a 500), which ISO
        # 8601 allows up to 23:59. Years 2 to 9998 (values.py) cannot overflow on the way.
        return cast(_Value, value.astimezone(UTC))
    return value
