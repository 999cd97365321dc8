"""Detail pages of any message size: at most ``DETAIL_MAX_ELEMENTS`` elements rendered.

A 1 MB message can hold 70,000 elements; rendering each (and its JSON, twice) made an 18.7 MB
page in seconds. A page shows the first elements, says how many there are, and links to the
raw JSON view, which gives the whole ``msg_body`` as it is stored.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models.fields.json import KeyTransform
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from .. import elements
from ..conf import get_settings
from ..models import OfficialAccountMessage
from .rendering import pretty_json, view

RAW_JSON_URL_NAME = "officialaccount_webhook_officialaccountmessage_raw_json"
# The key of a callback body that holds the elements (Tencent's name, as stored).
_MSG_BODY = "MsgBody"
# A list row's preview reads at most this many elements: its 120 characters come from the first.
PREVIEW_ELEMENTS = 120
# The message list reads fewer, in the database (HeadsChangeList): a column each.
LIST_ELEMENTS = 12
_HEAD = "_preview_head_"


def first_elements(body: Any) -> tuple[list[Any], int]:
    """The elements a page shows, and how many the body has."""
    if not isinstance(body, list):
        return [], 0
    return body[: get_settings().detail_max_elements], len(body)


def preview(body: Any) -> str:
    """A list row's one line (``elements.preview``), from the first elements only."""
    if isinstance(body, list) and len(body) > PREVIEW_ELEMENTS:
        return _with_more(elements.preview(body[:PREVIEW_ELEMENTS]))
    return elements.preview(body)


class HeadsChangeList(ChangeList):
    """The message list, reading of each row's body only its first ``LIST_ELEMENTS`` elements,
    in the database: a page of 1 MB bodies would otherwise be fetched and decoded
    whole, fifty times, for a line each."""

    def get_results(self, request: HttpRequest) -> None:
        whole = self.queryset
        heads = {
            f"{_HEAD}{index}": KeyTransform(str(index), "msg_body")
            for index in range(LIST_ELEMENTS + 1)
        }
        # Only the page's rows: the chart and the drill-down read self.queryset, unchanged.
        self.queryset = whole.defer("msg_body").annotate(**heads)
        try:
            super().get_results(request)
        finally:
            self.queryset = whole


def head_preview(message: Any) -> str:
    """``preview`` of a row the list read through ``HeadsChangeList``."""
    if not hasattr(message, f"{_HEAD}0"):
        return preview(message.msg_body)
    heads = [getattr(message, f"{_HEAD}{index}") for index in range(LIST_ELEMENTS + 1)]
    line = elements.preview([head for head in heads[:LIST_ELEMENTS] if head is not None])
    return _with_more(line) if heads[LIST_ELEMENTS] is not None else line


def _with_more(line: str) -> str:
    return line if line.endswith("…") else f"{line} …".lstrip()  # more, unread


def raw_json_url(message: OfficialAccountMessage) -> str:
    return reverse(f"admin:{RAW_JSON_URL_NAME}", args=[message.pk])


def content(message: OfficialAccountMessage) -> str:
    """The message's elements as a person reads them (``message_body.html``), the first few."""
    shown, total = first_elements(message.msg_body)
    return render_to_string(
        "admin/officialaccount_webhook/message_body.html",
        {
            "elements": [view(element) for element in shown],
            "shown": len(shown),
            "total": total,
            "raw_url": raw_json_url(message),
        },
    )


def raw_body(message: OfficialAccountMessage) -> str:
    """``msg_body`` as pretty JSON, cut to the elements a page shows, and the link to all of it."""
    shown, total = first_elements(message.msg_body)
    body = shown if len(shown) < total else message.msg_body
    return format_html(
        '{}<pre style="white-space: pre-wrap">{}</pre>',
        _more(len(shown), total, raw_json_url(message)),
        pretty_json(body),
    )


def callback_body(body: Any, message: OfficialAccountMessage | None) -> str:
    """A callback body as pretty JSON, its ``MsgBody`` cut like a message's (a refused body as
    its text, when it is not JSON)."""
    if isinstance(body, str):
        parsed = _json_or_none(body)
        if parsed is None:
            return format_html('<pre style="white-space: pre-wrap">{}</pre>', body)
        body = parsed
    note = ""
    if isinstance(body, dict):
        shown, total = first_elements(body.get(_MSG_BODY))
        if len(shown) < total:
            body = {**body, _MSG_BODY: shown}
            note = _more(len(shown), total, raw_json_url(message) if message else "")
    return format_html('{}<pre style="white-space: pre-wrap">{}</pre>', note, pretty_json(body))


def raw_json_view(model_admin: Any, request: HttpRequest, object_id: str) -> HttpResponse:
    """The message's whole ``msg_body`` as JSON, for whoever may see its detail page."""
    # Permission before the lookup: a user who may not view messages learns nothing of them.
    if not model_admin.has_view_or_change_permission(request):
        raise PermissionDenied
    # The admin's own queryset: a message outside the user's apps is missing, as on its page.
    message = model_admin.get_object(request, object_id)
    if message is None:
        raise Http404
    if not model_admin.has_view_or_change_permission(request, message):
        raise PermissionDenied
    return JsonResponse(message.msg_body, safe=False, json_dumps_params={"ensure_ascii": False})


def _more(shown: int, total: int, url: str) -> str:
    if shown >= total:
        return format_html('<p><a href="{}">{}</a></p>', url, _("MsgBody as JSON")) if url else ""
    text = _("The first %(shown)d of %(total)d elements are shown.") % {
        "shown": shown,
        "total": total,
    }
    if not url:
        return format_html('<p class="help">{}</p>', text)
    return format_html(
        '<p class="help">{} <a href="{}">{}</a></p>', text, url, _("All of MsgBody as JSON")
    )


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
