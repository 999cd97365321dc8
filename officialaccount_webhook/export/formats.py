"""The rows of an export, one message at a time, in CSV or JSON Lines.

Streamed: rows are read from the database in chunks (``QuerySet.iterator``) and written as they
come, so a million messages cost the memory of one chunk. Each row is the message's columns
under their Python names, times in ISO 8601 UTC, the body as JSON.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) are prefixed with an apostrophe, as OWASP advises for CSV
injection: the text of a message is anyone's, and an export is opened by someone else. JSON
Lines keeps every value exactly, since nothing evaluates it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from ..models import OfficialAccountMessage

FORMATS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
COLUMNS = (
    "sdk_app_id",
    "official_account",
    "msg_key",
    "msg_time",
    "event_time",
    "online_only",
    "cloud_custom_data",
    "text_content",
    "msg_body",
    "recalled_at",
    "received_at",
    "client_ip",
    "opt_platform",
    "backfilled",
)
# Large enough that a million rows are a few hundred queries; small enough to stay a few MB.
CHUNK_SIZE = 2000
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def rows(queryset: QuerySet[OfficialAccountMessage]) -> Iterator[dict[str, Any]]:
    """Each message as a dict of JSON values, in the queryset's order, read in chunks."""
    for values in queryset.values_list(*COLUMNS).iterator(chunk_size=CHUNK_SIZE):
        yield {name: _json_value(value) for name, value in zip(COLUMNS, values, strict=True)}


def as_jsonl(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    for record in records:
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"


def as_csv(records: Iterable[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: Iterable[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()

    yield line(COLUMNS)
    for record in records:
        yield line(_cell(record[name]) for name in COLUMNS)


def export(queryset: QuerySet[OfficialAccountMessage], fmt: str) -> Iterator[str]:
    """The export of ``queryset`` in ``fmt`` (a key of :data:`FORMATS`), as text chunks."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    records = rows(queryset)
    return as_csv(records) if fmt == "csv" else as_jsonl(records)


def neutralise(text: str) -> str:
    """``text`` as a CSV cell that no spreadsheet runs as a formula."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return neutralise(str(value))


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value
