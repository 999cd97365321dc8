"""Export speed and memory: every stored message as CSV and as JSON Lines, on PostgreSQL.

    .venv/bin/python bench/export_bench.py [--messages 1000000]

It uses the admin benchmark's database (BENCH_DATABASE_URL, or the same default; filled by
the same bulk COPY up to --messages), then runs ``export.formats.export`` over every message,
writing to a sink that counts bytes and keeps nothing, as a download or
``officialaccount_export -o`` would stream them. It prints rows per second and how much the
process's peak resident memory grew during the export (``ru_maxrss``), which stays the size of
a chunk whatever the row count, since rows are read with a server-side cursor in chunks of
``CHUNK_SIZE``. (tracemalloc would measure the heap more precisely, but slows every allocation
several times over.)
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.admin_bench import DEFAULT_URL, analyze, fill  # noqa: E402
from bench.database import start_django  # noqa: E402


def peak_rss() -> int:
    """The process's peak resident memory so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(fmt: str) -> tuple[int, int, float, int]:
    """Rows, bytes, seconds, and the growth of the peak resident memory, for one export."""
    from officialaccount_webhook.export.formats import export
    from officialaccount_webhook.models import OfficialAccountMessage

    messages = OfficialAccountMessage.objects.order_by("-msg_time", "-id")
    rows = messages.count()
    size = 0
    before = peak_rss()
    began = time.perf_counter()
    for chunk in export(messages, fmt):
        size += len(chunk.encode())
    return rows, size, time.perf_counter() - began, peak_rss() - before


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    args = parser.parse_args()
    start_django(DEFAULT_URL, 1400000000)
    fill(args.messages)
    analyze()
    print("| format | rows | MB written | seconds | rows/s | peak memory growth |")
    print("|---|---|---|---|---|---|")
    for fmt in ("csv", "jsonl"):
        rows, size, seconds, peak = measure(fmt)
        print(
            f"| {fmt} | {rows:,} | {size / 1e6:,.0f} | {seconds:.1f} | "
            f"{rows / seconds:,.0f} | {peak / 1e6:.1f} MB |"
        )


if __name__ == "__main__":
    main()
