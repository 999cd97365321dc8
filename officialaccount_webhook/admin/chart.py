"""Message volume per account over the period of the list being viewed, as inline SVG.

The period is the list's: the drill-down's range (or one typed into the query string), else
the last 30 days. Its length picks the bars: hours, days, months or years. The counts come from
the rollup of messages per day where it gives the same answer, else from one grouped query over
that range (``volume.py``), then plain arithmetic. No JavaScript, no build step; the template
escapes every label. An account keeps its colour from view to view: the colour comes from a
hash of its ID, not from its rank in this view.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from ..conf import get_settings
from ..query_budget import QueryTimedOut, query_budget
from . import volume
from .buckets import day as _day
from .buckets import step as _step
from .buckets import truncate as _truncate
from .drilldown import range_bound

DAYS = 30  # the period when the list has none
TOP_ACCOUNTS = 5
MAX_BARS = 100  # a longer crafted range is charted up to its end, this many bars back
# Paul Tol's "muted" scheme: nine colours told apart by colour-blind readers. An account's
# colour is a hash of its ID into it, so two accounts may share one; the legend and each
# bar's tooltip name them, and a white edge parts neighbouring segments.
PALETTE = (
    *("#332288", "#88CCEE", "#44AA99", "#117733", "#999933"),
    *("#DDCC77", "#CC6677", "#882255", "#AA4499"),
)
OTHER_COLOUR = "#BBBBBB"
# The drawing's coordinates: a plot of PLOT_WIDTH x PLOT_HEIGHT, with room for the axes' labels.
LEFT, TOP, PLOT_WIDTH, PLOT_HEIGHT, BOTTOM = 56, 8, 600, 120, 32
BAR_GAP = 1
X_LABELS = 6


@dataclass(frozen=True)
class Segment:
    y: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    segments: list[Segment]


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    total: int


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    label: str


def account_colour(account: str) -> str:
    """The colour of ``account`` in every view: a stable hash of its ID into ``PALETTE``."""
    digest = hashlib.sha256(account.encode("utf-8", "surrogatepass")).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def volume_chart(changelist: ChangeList, field: str = "msg_time") -> dict[str, Any]:
    """The template context of the chart for the list of ``changelist``: its rows (filters,
    search and scope applied) over its period.

    Its queries get a budget of their own (``CHART_TIME_BUDGET``): counting a year of a busy
    app from the messages reads hundreds of thousands of rows, and the page must not wait for
    that. Past the budget the chart says to choose a shorter period instead.
    """
    start = range_bound(changelist.params.get(f"{field}__gte"))
    end = range_bound(changelist.params.get(f"{field}__lt"))
    using = changelist.queryset.db
    # Within the page's own budget, never beyond it; none when the project turned it off.
    page_budget = get_settings().query_timeout
    seconds = min(CHART_TIME_BUDGET, page_budget) if page_budget > 0 else 0
    try:
        with query_budget(using, seconds=seconds):
            try:
                return chart_context(changelist.queryset, start, end, field=field)
            except (ValueError, OverflowError):  # a crafted range at the ends of the calendar
                return chart_context(changelist.queryset, None, None, field=field)
    except QueryTimedOut:
        return {
            "peak": 0,
            "empty": _(
                "Too many messages in this period to chart within the page's time budget: "
                "drill down to a month or a day."
            ),
        }


# Of the admin's 300 ms page budget, what the chart's one query may take.
CHART_TIME_BUDGET = 0.2


def chart_context(
    queryset: QuerySet[Any],
    start: datetime | None,
    end: datetime | None,
    *,
    field: str = "msg_time",
    now: datetime | None = None,
) -> dict[str, Any]:
    """The chart of ``queryset`` from ``start`` to ``end`` (either may be None: the list has
    no such bound), with ``now`` (for tests) ending an open period."""
    now = now or timezone.now()
    unit, buckets, since, until, chosen = _period(start, end, now)
    counts, rollup_days = volume.counts(queryset, unit, since, until, field=field, now=now)
    totals: Counter[str] = Counter()
    for (_bucket, account), messages in counts.items():
        totals[account] += messages
    # Most messages first; equal counts in the order of their IDs, so a view is repeatable.
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    top = [account for account, _count in ranked[:TOP_ACCOUNTS]]
    other = _("other accounts")
    labels = [*top, other] if len(totals) > len(top) else top
    colour = {label: account_colour(label) for label in top} | {other: OTHER_COLOUR}

    per_bucket: dict[datetime, Counter[str]] = {bucket: Counter() for bucket in buckets}
    for (bucket, account), messages in counts.items():
        if bucket in per_bucket:
            per_bucket[bucket][account if account in top else other] += messages
    peak = max((sum(c.values()) for c in per_bucket.values()), default=0)
    return {
        "bars": _bars(per_bucket, labels, colour, peak, unit),
        "series": [
            Series(label, colour[label], sum(c[label] for c in per_bucket.values()))
            for label in labels
        ],
        "peak": peak,
        "unit": unit,
        "rollup_days": rollup_days,  # how many days the rollup gave (the rest: the messages)
        "first": buckets[0],
        "last": buckets[-1],
        "caption": _caption(unit, since, until, peak),
        "empty": _("No messages in the last 30 days.")
        if not chosen
        else _("No messages in this period."),
        "x_ticks": _x_ticks(buckets, unit),
        "y_ticks": _y_ticks(peak),
        "x_title": _("Time (%(zone)s)") % {"zone": timezone.get_current_timezone_name()},
        "y_title": _("Messages"),
        "left": LEFT,
        "top": TOP,
        "plot_width": PLOT_WIDTH,
        "plot_height": PLOT_HEIGHT,
        "plot_bottom": TOP + PLOT_HEIGHT,
        "plot_right": LEFT + PLOT_WIDTH,
        "width": LEFT + PLOT_WIDTH + 8,
        "height": TOP + PLOT_HEIGHT + BOTTOM,
    }


def _period(
    start: datetime | None, end: datetime | None, now: datetime
) -> tuple[str, list[datetime], datetime, datetime, bool]:
    """The bars' unit, their local starts, the range queried, and whether the list chose it."""
    chosen = start is not None or end is not None
    tomorrow = _day(timezone.localtime(now).date() + timedelta(days=1))
    if end is None:
        end = max(tomorrow, start + timedelta(days=1)) if start else tomorrow
    if start is None or start >= end:
        start = end - timedelta(days=DAYS)
    span = end - start
    unit = (
        "hour"
        if span <= timedelta(days=2)
        else "day"
        if span <= timedelta(days=92)
        else "month"
        if span <= timedelta(days=366 * 8)
        else "year"
    )
    first, last = timezone.localtime(start), timezone.localtime(end - timedelta(microseconds=1))
    bucket = _truncate(first.replace(tzinfo=None), unit)
    buckets = []
    while bucket <= last.replace(tzinfo=None):
        buckets.append(bucket)
        bucket = _step(bucket, unit)
    buckets = buckets[-MAX_BARS:]
    if buckets[0] > first.replace(tzinfo=None):  # a range too long, cut to its last bars
        start = timezone.make_aware(buckets[0])
    return unit, buckets, start, end, chosen


def _bars(
    per_bucket: dict[datetime, Counter[str]],
    labels: list[str],
    colour: dict[str, str],
    peak: int,
    unit: str,
) -> list[Bar]:
    scale = PLOT_HEIGHT / peak if peak else 0
    width = PLOT_WIDTH / len(per_bucket)
    bars = []
    for index, (bucket, bucket_counts) in enumerate(per_bucket.items()):
        y = float(TOP + PLOT_HEIGHT)
        segments = []
        for label in labels:
            if bucket_counts[label]:
                height = bucket_counts[label] * scale
                y -= height
                title = f"{_bucket_label(bucket, unit, full=True)} {label}: {bucket_counts[label]}"
                segments.append(Segment(y, height, colour[label], title))
        bars.append(Bar(LEFT + index * width, max(width - BAR_GAP, 0.5), segments))
    return bars


def _x_ticks(buckets: list[datetime], unit: str) -> list[Tick]:
    """Up to X_LABELS labels under the bars, evenly spread, the first and last included."""
    width = PLOT_WIDTH / len(buckets)
    step = max(1, -(-(len(buckets) - 1) // (X_LABELS - 1)))
    chosen = sorted({*range(0, len(buckets), step), len(buckets) - 1})
    y = TOP + PLOT_HEIGHT + 14
    return [
        Tick(LEFT + (n + 0.5) * width, y, _bucket_label(buckets[n], unit, full=False))
        for n in chosen
        if n == len(buckets) - 1 or len(buckets) - 1 - n >= step / 2  # no overlap at the end
    ]


def _y_ticks(peak: int) -> list[Tick]:
    """0, the middle and the peak, on the left of the plot."""
    if not peak:
        return []
    values = sorted({0, peak // 2, peak}) if peak > 1 else [0, peak]
    return [Tick(LEFT - 4, TOP + PLOT_HEIGHT - v * PLOT_HEIGHT / peak + 4, str(v)) for v in values]


def _caption(unit: str, since: datetime, until: datetime, peak: int) -> str:
    texts = {
        "hour": _("Messages per hour in this list, %(first)s to %(last)s (highest: %(peak)s)"),
        "day": _("Messages per day in this list, %(first)s to %(last)s (highest: %(peak)s)"),
        "month": _("Messages per month in this list, %(first)s to %(last)s (highest: %(peak)s)"),
        "year": _("Messages per year in this list, %(first)s to %(last)s (highest: %(peak)s)"),
    }
    first = timezone.localtime(since)
    last = timezone.localtime(until - timedelta(microseconds=1))
    style = "SHORT_DATETIME_FORMAT" if unit == "hour" else "SHORT_DATE_FORMAT"
    return texts[unit] % {
        "first": formats.date_format(first, style),
        "last": formats.date_format(last, style),
        "peak": peak,
    }


def _bucket_label(bucket: datetime, unit: str, *, full: bool) -> str:
    if unit == "hour":
        return f"{bucket:%Y-%m-%d %H:00}" if full else f"{bucket:%H:00}"
    if unit == "day":
        return f"{bucket:%Y-%m-%d}" if full else f"{bucket:%m-%d}"
    return f"{bucket:%Y-%m}" if unit == "month" else f"{bucket:%Y}"
