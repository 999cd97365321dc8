"""The browsable API's title and description of each view, in the request's language.

DRF would take them from the class (``MessageViewSet`` is "Message List") and its docstring, in
English whatever the language; the OPTIONS answer's ``name`` and ``description`` are the same.
The schema (drf-spectacular) still reads the docstrings, and stays English.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rest_framework.utils.formatting import markup_description

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise


class Titled:
    """A view's ``title`` (of a list, or of the only page of a view that is no list),
    ``item_title`` (one row of a viewset) and ``summary``: lazy translations, shown in the
    request's language."""

    title: _StrOrPromise
    item_title: _StrOrPromise = ""
    summary: _StrOrPromise

    def get_view_name(self) -> str:
        # A viewset's router says "detail" for one row's page; other views have no rows.
        one_row = getattr(self, "detail", False) and self.item_title
        return str(self.item_title if one_row else self.title)

    def get_view_description(self, html: bool = False) -> str:
        text = str(self.summary)
        return markup_description(text) if html else text
