"""A date drill-down for the admin that stays fast on a table of millions of rows.

Django's ``date_hierarchy`` lists the years (then months, then days) that hold rows with
``SELECT DISTINCT date_trunc(...)``, which reads every row, and filters with ``__month`` and
``__day`` lookups, which no index serves. This drill-down filters with ranges
(``<field>__gte``/``<field>__lt``), which the field's index serves, and finds the years, months
and days that hold rows with index lookups only: "the first row at or after this moment".

It looks at the whole table, not at the list as filtered or searched: asked of a search that no
index serves, the same question would read every row. So it lists the dates that hold any row,
and following a link keeps the other filters and the search. It renders with Django's own
``admin/date_hierarchy.html``.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet, Subquery
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from ..values import LAST_YEAR, parse_moment

# At most this many years are listed, the newest: a real table rarely spans more.
MAX_YEARS = 30


def drill_down(changelist: ChangeList, field: str) -> dict[str, Any]:
    """The context of ``admin/date_hierarchy.html`` for ``field`` of ``changelist``."""
    # Django 6's template labels the links with the field's name.
    field_name = getattr(changelist.model._meta.get_field(field), "verbose_name", field)
    try:
        levels = _levels(changelist, field)
    except (ValueError, OverflowError):  # a crafted range at the ends of the calendar
        levels = {"show": False}
    return {"field_name": field_name, **levels}


def range_bound(value: Any) -> datetime | None:
    """A drill-down range bound from the query string, or None if it is not one we wrote."""
    if isinstance(value, list):
        value = value[-1] if value else None
    return parse_moment(value) if isinstance(value, str) else None


def _levels(changelist: ChangeList, field: str) -> dict[str, Any]:
    rows = changelist.root_queryset.order_by()
    params = changelist.params
    start, end = range_bound(params.get(f"{field}__gte")), range_bound(params.get(f"{field}__lt"))

    def link(first: date | None = None, after: date | None = None) -> str:
        new = {}
        if first is not None and after is not None:
            new = {
                f"{field}__gte": _moment(first).isoformat(),
                f"{field}__lt": _moment(after).isoformat(),
            }
        return changelist.get_query_string(new, [f"{field}__", "p"])

    if start is None or end is None:
        years = _years(rows, field)
        if not years:
            return {"show": False}
        if len(years) > 1:
            return {
                "show": True,
                "back": None,
                "choices": [
                    {
                        "link": link(date(year, 1, 1), _next_year(date(year, 1, 1))),
                        "title": str(year),
                    }
                    for year in years
                ],
            }
        start, end = _moment(date(years[0], 1, 1)), _moment(_next_year(date(years[0], 1, 1)))
    first_day, after_day = timezone.localtime(start).date(), timezone.localtime(end).date()
    if (after_day - first_day).days <= 1:
        return {
            "show": True,
            "back": {
                "link": link(first_day.replace(day=1), _next_month(first_day)),
                "title": capfirst(formats.date_format(first_day, "YEAR_MONTH_FORMAT")),
            },
            "choices": [{"title": capfirst(formats.date_format(first_day, "MONTH_DAY_FORMAT"))}],
        }
    if first_day.day == 1 and after_day == _next_month(first_day):
        days = calendar.monthrange(first_day.year, first_day.month)[1]
        spans = [(first_day + timedelta(n), first_day + timedelta(n + 1)) for n in range(days)]
        return {
            "show": True,
            "back": {
                "link": link(date(first_day.year, 1, 1), _next_year(first_day)),
                "title": str(first_day.year),
            },
            "choices": [
                {"link": link(a, b), "title": capfirst(formats.date_format(a, "MONTH_DAY_FORMAT"))}
                for a, b in _with_rows(changelist, rows, field, spans)
            ],
        }
    months = [date(first_day.year, month, 1) for month in range(1, 13)]
    spans = [(month, _next_month(month)) for month in months]
    return {
        "show": True,
        "back": {"link": link(), "title": _("All dates")},
        "choices": [
            {"link": link(a, b), "title": capfirst(formats.date_format(a, "YEAR_MONTH_FORMAT"))}
            for a, b in _with_rows(changelist, rows, field, spans)
        ],
    }


def _years(rows: QuerySet[Any], field: str) -> list[int]:
    """The years that hold rows, newest first: one index lookup per year found."""
    years: list[int] = []
    newest = rows.order_by(f"-{field}").values_list(field, flat=True).first()
    while newest is not None and len(years) < MAX_YEARS:
        year = timezone.localtime(newest).year
        years.append(year)
        if year <= 1:
            break
        # The newest row before this year.
        newest = (
            rows.filter(**{f"{field}__lt": _moment(date(year, 1, 1))})
            .order_by(f"-{field}")
            .values_list(field, flat=True)
            .first()
        )
    return years


def _with_rows(
    changelist: ChangeList, rows: QuerySet[Any], field: str, spans: list[tuple[date, date]]
) -> list[tuple[date, date]]:
    """The spans that hold a row, asked in one query of index lookups (one per span)."""
    probes = {
        f"span_{index}": Subquery(
            rows.filter(**{f"{field}__gte": _moment(first), f"{field}__lt": _moment(after)})
            .order_by(field)
            .values(field)[:1]
        )
        for index, (first, after) in enumerate(spans)
    }
    # Any one row carries the answers, which do not depend on it.
    answer = rows.annotate(**probes).values(*probes).first()
    return [span for span, name in zip(spans, probes, strict=True) if answer and answer[name]]


def _moment(day: date) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day))


def _next_month(day: date) -> date:
    if day.year > LAST_YEAR:
        raise ValueError("past the end of the calendar")
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _next_year(day: date) -> date:
    if day.year > LAST_YEAR:
        raise ValueError("past the end of the calendar")
    return date(day.year + 1, 1, 1)
