"""The messages API's query parameters held to what can be answered: anything out of range is a
400 naming the parameter, never a 500 or a silent default.

``sdk_app_id``, ``since`` and ``until`` are parsed in the view (``values``); here: the lengths
of the text parameters, ``page_size``, and the ``cursor``, which the client hands back and can
therefore be anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any, cast

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


def check_params(params: Mapping[str, str]) -> None:
    """A 400 for a text parameter over its length: no stored value is longer (an account ID,
    a MsgKey), or no search is worth it (``text``)."""
    errors = {
        name: f"Ensure this value has at most {limit} characters."
        for name, limit in MAX_LENGTHS.items()
        if len(params.get(name, "")) > limit
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
            raise ValidationError(
                {"page_size": f"Enter a whole number from 1 to {self.max_page_size}."}
            )
        return int(value)

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": "Invalid cursor."}) from None
        if cursor is None or cursor.position is None:
            return cursor
        # The position is a row's msg_time as DRF wrote it, str() of a datetime in UTC (text,
        # whatever DRF's type stubs say): written the same way again, once it is known to be a
        # moment the database can take. In UTC: PostgreSQL refuses offsets over 15:59.
        position = parse_moment(str(cursor.position))
        if position is None:
            raise ValidationError({"cursor": "Invalid cursor."})
        return cursor._replace(position=cast(Any, str(position.astimezone(UTC))))
