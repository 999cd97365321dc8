"""Message volume per day and official account, drawn on the server as inline SVG.

One grouped query over the last 30 days (the message-time index bounds it), then plain
arithmetic. No JavaScript, no build step; the template escapes every label.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

DAYS = 30
TOP_ACCOUNTS = 5
# Colour-blind-safe (Okabe-Ito), one per account; the last is "other accounts".
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#999999")
WIDTH, HEIGHT, BAR_GAP = 600, 120, 2


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


def volume_chart(queryset: QuerySet[Any], *, today: date | None = None) -> dict[str, Any]:
    """The template context of the chart for the messages of ``queryset``."""
    today = today or timezone.localdate()
    first = today - timedelta(days=DAYS - 1)
    since = timezone.make_aware(datetime(first.year, first.month, first.day))
    until = since + timedelta(days=DAYS)
    rows = (
        queryset.order_by()
        .filter(msg_time__gte=since, msg_time__lt=until)
        .annotate(day=TruncDate("msg_time"))
        .values("day", "official_account")
        .annotate(messages=Count("pk"))
    )
    counts: Counter[tuple[date, str]] = Counter()
    totals: Counter[str] = Counter()
    for row in rows:
        counts[(row["day"], row["official_account"])] += row["messages"]
        totals[row["official_account"]] += row["messages"]
    top = [account for account, _count in totals.most_common(TOP_ACCOUNTS)]
    other = _("other accounts")
    labels = [*top, other] if len(totals) > len(top) else top
    colour = {label: COLOURS[index] for index, label in enumerate(top)} | {other: COLOURS[-1]}

    per_day: dict[date, Counter[str]] = {first + timedelta(days=n): Counter() for n in range(DAYS)}
    for (day, account), messages in counts.items():
        if day in per_day:
            per_day[day][account if account in colour else other] += messages
    peak = max((sum(day_counts.values()) for day_counts in per_day.values()), default=0)
    scale = HEIGHT / peak if peak else 0
    width = WIDTH / DAYS
    bars = []
    for index, (day, day_counts) in enumerate(per_day.items()):
        y = float(HEIGHT)
        segments = []
        for label in labels:
            if day_counts[label]:
                height = day_counts[label] * scale
                y -= height
                segments.append(
                    Segment(
                        y, height, colour[label], f"{day:%Y-%m-%d} {label}: {day_counts[label]}"
                    )
                )
        bars.append(Bar(index * width, width - BAR_GAP, segments))
    series = [
        Series(label, colour[label], sum(per_day[d][label] for d in per_day)) for label in labels
    ]
    return {
        "bars": bars,
        "series": series,
        "peak": peak,
        "first": first,
        "last": today,
        "width": WIDTH,
        "height": HEIGHT,
    }
