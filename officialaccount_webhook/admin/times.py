"""One way to show a moment in the app's admin: to the second, in the project's ``TIME_ZONE``,
with the zone named (``2026-12-07 14:59:38 UTC``); Tencent's ``EventTime`` to the millisecond.

Django's own display follows the locale's ``DATETIME_FORMAT``: minutes, no zone, "5:47 a.m." on
every row of a burst. Every list column and read-only field that shows a moment goes through
``moment``, and a delivery's title (``CallbackDelivery.__str__``) uses ``FORMAT`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.contrib import admin
from django.db.models import DateTimeField, Model
from django.utils import timezone
from django.utils.dateformat import format as date_format

# Django's date format characters: "T" names the zone. Django has none for milliseconds.
FORMAT = "Y-m-d H:i:s T"


def moment(value: datetime | None, with_milliseconds: bool = False) -> str:
    """``value`` in the project's time zone, to the second (or millisecond); "-" when empty."""
    if value is None:
        return "-"
    shown = timezone.localtime(value) if timezone.is_aware(value) else value
    if not with_milliseconds:
        return date_format(shown, FORMAT)
    # FORMAT with the milliseconds after the seconds.
    clock, zone = FORMAT.rsplit(" ", 1)
    return f"{date_format(shown, clock)}.{shown.microsecond // 1000:03d} {date_format(shown, zone)}"


def column(model: type[Model], field: str, *, milliseconds: bool = False) -> Callable[[Any], str]:
    """A column or read-only field showing the model's ``field`` with ``moment``, headed by
    the field's verbose name and sorted by the field. It is set on an admin instance (not its
    class), where Django calls it with the row alone."""

    def show(row: Any) -> str:
        return moment(getattr(row, field), milliseconds)

    show.__name__ = shown(field)
    description = model._meta.get_field(field).verbose_name  # type: ignore[union-attr]  # a column
    return admin.display(description=description, ordering=field)(show)


def shown(name: str) -> str:
    """The name of the column that shows the moment field ``name``."""
    return f"{name}_shown"


def show_moments(model_admin: Any) -> None:
    """Give ``model_admin`` a ``moment`` column for each of its model's date-time fields, and
    put it wherever the admin names the field: list, detail page, sortable columns.

    Done once, when the admin is made, so that no admin can forget a field; ``*event_time``
    fields are Tencent's EventTime, shown to the millisecond."""
    model = model_admin.model
    moments = {
        field.name
        for field in model._meta.get_fields()
        if isinstance(field, DateTimeField) and field.concrete
    }
    if not moments:
        return
    for name in moments:
        setattr(
            model_admin,
            shown(name),
            column(model, name, milliseconds=name.endswith("event_time")),
        )

    def swap(names: Any) -> Any:
        if names is None or isinstance(names, str):
            return names
        return tuple(shown(name) if name in moments else name for name in names)

    model_admin.list_display = swap(model_admin.list_display)
    if model_admin.sortable_by is not None:
        model_admin.sortable_by = swap(model_admin.sortable_by)
    if model_admin.fields is not None:
        model_admin.fields = swap(model_admin.fields)
    if model_admin.fieldsets is not None:
        model_admin.fieldsets = [
            (title, {**options, "fields": swap(options["fields"])})
            for title, options in model_admin.fieldsets
        ]
    # Every detail field is read-only here: the shown ones too, or the form would look for them.
    model_admin.readonly_fields = (*swap(model_admin.readonly_fields), *map(shown, moments))
