"""Triage on the delivery list: what happened lately at a glance, and a search by kind of word.

The summary counts each outcome over the last hour, day and week, each count capped like the
list's own (``pagination.capped_count``) on the (outcome, -received_at) index; and groups the
reasons of the latest refusals, read newest first from the same index. At a million deliveries
it is a few dozen short index reads, whatever the week held.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from ..models import CallbackDelivery, OfficialAccountMessage
from . import pagination, times
from .search import MAX_TERMS

Outcome = CallbackDelivery.Outcome
LIST_URL = "admin:officialaccount_webhook_callbackdelivery_changelist"
WINDOWS = (
    ("hour", _("last hour"), timedelta(hours=1)),
    ("day", _("last day"), timedelta(days=1)),
    ("week", _("last week"), timedelta(days=7)),
)
# The outcomes a reader should look at: the webhook said no. Migration 0013's trigram index on
# the reasons is partial to these two: a change here needs a new index there.
REFUSALS = (Outcome.REJECTED, Outcome.REFUSED)
# How many of the latest refusals of each kind the reasons are grouped from, and how many
# reasons the summary names.
REASON_SAMPLE = 200
REASONS_SHOWN = 8
# What a search word is taken for, by its shape (anything else is looked for in the reasons).
_MSG_KEY = re.compile(r"^\d+_\d+_\d+$")
_COMMAND = re.compile(r"^[A-Za-z]+(\.[A-Za-z]+)+$")


def summary(deliveries: QuerySet[CallbackDelivery], now: datetime) -> dict[str, Any]:
    """Counts by outcome for each window (outcomes seen in the week only) and the latest
    refusal reasons, of ``deliveries`` (the user's, unfiltered)."""
    url = reverse(LIST_URL)
    rows = []
    for outcome in Outcome:
        cells = []
        count = 0
        for key, _label, span in WINDOWS:
            since = now - span
            # The windows nest: past the cap in a shorter one, the longer ones are too.
            if count <= pagination.COUNT_CAP:
                # Counting a column the (outcome, -received_at) index holds reads the index alone.
                recent = deliveries.filter(outcome=outcome, received_at__gte=since)
                count = pagination.capped_count(recent, column="outcome")
            query = {"outcome__exact": outcome.value, "received_at__gte": since.isoformat()}
            cells.append(
                {
                    "window": key,
                    "count": min(count, pagination.COUNT_CAP),
                    "more": count > pagination.COUNT_CAP,
                    "url": f"{url}?{urlencode(query)}",
                }
            )
        if cells[-1]["count"]:
            rows.append({"outcome": outcome, "cells": cells})
    return {
        "windows": [label for _key, label, _span in WINDOWS],
        "rows": rows,
        "reasons": latest_reasons(deliveries, url),
        "sample": REASON_SAMPLE,
    }


def latest_reasons(deliveries: QuerySet[CallbackDelivery], url: str) -> list[dict[str, Any]]:
    """The reasons of the latest ``REASON_SAMPLE`` refusals of each kind, grouped: how many,
    the newest, and a link to the list of them; the most recent first."""
    counts: Counter[tuple[str, str]] = Counter()
    newest: dict[tuple[str, str], datetime] = {}
    for outcome in REFUSALS:
        latest = (
            deliveries.filter(outcome=outcome)
            .order_by("-received_at")
            .values_list("reason", "received_at")[:REASON_SAMPLE]
        )
        for reason, at in latest:
            key = (outcome.value, reason)
            counts[key] += 1
            newest[key] = max(newest.get(key, at), at)
    ordered = sorted(counts, key=lambda key: newest[key], reverse=True)[:REASONS_SHOWN]
    return [
        {
            "outcome": Outcome(outcome),
            "reason": reason,
            "count": counts[(outcome, reason)],
            "newest": newest[(outcome, reason)],
            "newest_shown": times.moment(newest[(outcome, reason)]),
            "url": f"{url}?{urlencode({'outcome__exact': outcome, 'reason__exact': reason})}",
        }
        for outcome, reason in ordered
    ]


def search(
    deliveries: QuerySet[CallbackDelivery], term: str
) -> tuple[QuerySet[CallbackDelivery], str | None]:
    """The deliveries matching every word of ``term``, and a message when the search is refused.

    Each word is taken for what its shape says: an IP address is a remote address (the
    (remote_addr, -received_at) index), a MsgKey (``<seq>_<random>_<time>``) is a message's (its
    index finds the messages, their deliveries by the message link), ``Word.Word`` is a command
    (the (command, -received_at) index); anything else is looked for in the reasons of the
    refusals, the only deliveries that have one. On PostgreSQL a trigram index on the refusals'
    ``UPPER(reason)`` finds them (migration 0013: its condition is ``REFUSALS``, and this
    query's must stay the same for it to serve); elsewhere the (outcome, -received_at) index
    finds the refusals and their reasons are read."""
    words = term.split()
    if len(words) > MAX_TERMS:
        return deliveries.none(), ngettext(
            "Search for at most %(max)d word at a time (%(count)d were given).",
            "Search for at most %(max)d words at a time (%(count)d were given).",
            MAX_TERMS,
        ) % {"max": MAX_TERMS, "count": len(words)}
    # (A NUL, which PostgreSQL refuses, never comes here: Django's search form refuses it.)
    for word in words:
        deliveries = deliveries.filter(_match(word))
    return deliveries, None


def _match(word: str) -> Q:
    try:
        return Q(remote_addr=str(ip_address(word)))
    except ValueError:
        pass
    if _MSG_KEY.match(word):
        messages = OfficialAccountMessage.objects.filter(msg_key=word).values("pk")
        return Q(message__in=messages)
    if _COMMAND.match(word):
        return Q(command=word)
    # Only a refusal has a reason: the outcome index narrows the search to them.
    return Q(outcome__in=REFUSALS, reason__icontains=word)
