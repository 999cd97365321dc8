"""The API's query parameters held to what can be answered: anything out of range is a 400
naming the parameter, never a 500 or a silent default.

``sdk_app_id``, ``since`` and ``until`` are parsed in the view (``values``); here: NUL
characters and the lengths of the text parameters, ``page_size``, and the ``cursor``, which the
client hands back and can therefore be anything; and the parameters both lists share, as the
schema describes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any, cast

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from ..values import parse_moment
from ..webhook.wire import MAX_ACCOUNT_LENGTH, MAX_MSG_KEY_LENGTH

# Words a person looks for. A longer text cannot be in a 12 KB message often enough to be
# worth a scan, and each character costs the trigram search work.
MAX_TEXT_LENGTH = 200
# DRF's own cursors are well under 100 characters.
MAX_CURSOR_LENGTH = 500
MAX_LENGTHS = {
    "official_account": MAX_ACCOUNT_LENGTH,
    "msg_key": MAX_MSG_KEY_LENGTH,
    "text": MAX_TEXT_LENGTH,
    "cursor": MAX_CURSOR_LENGTH,
}
# Translated when DRF renders the error, in the request's language.
NUL_CHARACTER = gettext_lazy("Must not contain a NUL character.")
INVALID_CURSOR = gettext_lazy("Invalid cursor.")
WHOLE_NUMBER = gettext_lazy("Enter a whole number.")

# The parameters both lists take, as the schema describes them (the texts stay English there).
APP_PARAMETERS = [
    OpenApiParameter("sdk_app_id", OpenApiTypes.INT, description="SDKAppID"),
    OpenApiParameter("official_account", OpenApiTypes.STR, description="Official account ID"),
]


def text_search_parameter(name: str, where: str) -> OpenApiParameter:
    """A search in text, bounded by :data:`MAX_TEXT_LENGTH` (``where``: "the name", ...)."""
    return OpenApiParameter(
        name,
        OpenApiTypes.STR,
        description=f"Text in {where}, at most {MAX_TEXT_LENGTH} characters",
    )


def check_params(params: Mapping[str, str], lengths: Mapping[str, int] = MAX_LENGTHS) -> None:
    """A 400 for a NUL character in any parameter (PostgreSQL cannot compare text holding one)
    or a text parameter over its length in ``lengths``: no stored value is longer (an account
    ID, a MsgKey), or no search is worth it (``text``, ``name``)."""
    errors = {name: str(NUL_CHARACTER) for name, value in params.items() if "\x00" in value}
    errors |= {
        name: _("Ensure this value has at most %(limit)d characters.") % {"limit": limit}
        for name, limit in lengths.items()
        if len(params.get(name, "")) > limit and name not in errors
    }
    if errors:
        raise ValidationError(errors)


class NewestFirst(CursorPagination):
    """Newest first, by cursor; a ``page_size`` or ``cursor`` it cannot use is a 400.

    DRF would fall back to the default page size for a bad ``page_size``, answer a bad cursor
    with a 404, and hand a cursor's position to the database unchecked, where text that is no
    date, or a date that overflows when converted to UTC, fails the query with a 500.
    """

    # A cursor stays fast on a large table, where OFFSET would scan every skipped row.
    ordering = ("-msg_time", "-id")
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        # The length first: int() refuses more than 4300 digits with a ValueError.
        digits = len(str(self.max_page_size))
        if not (
            value.isascii()
            and value.isdigit()
            and len(value) <= digits
            and 1 <= int(value) <= self.max_page_size
        ):
            message = _("Enter a whole number from 1 to %(max)d.") % {"max": self.max_page_size}
            raise ValidationError({"page_size": message})
        return int(value)

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": INVALID_CURSOR}) from None
        if cursor is None or cursor.position is None:
            return cursor
        # The position is a row's msg_time as DRF wrote it, str() of a datetime in UTC (text,
        # whatever DRF's type stubs say): written the same way again, once it is known to be a
        # moment the database can take. In UTC: PostgreSQL refuses offsets over 15:59.
        position = parse_moment(str(cursor.position))
        if position is None:
            raise ValidationError({"cursor": INVALID_CURSOR})
        return cursor._replace(position=cast(Any, str(position.astimezone(UTC))))
