"""The ingest benchmark's audit (bench/ingest_bench.py): it must catch a lost or doubled
MsgKey, or an answer that was not a 2xx, or it proves nothing. Only its logic is tested here;
no timing."""

from __future__ import annotations

import re

import pytest

from bench.ingest_bench import WRK_SCRIPT, Run, key_pattern, key_problems


def run(
    acknowledged: set[str],
    stored: list[str],
    *,
    answers: int | None = None,
    socket_errors: int = 0,
) -> Run:
    return Run(
        name="webhook",
        wrk_run=2,
        connections=2,
        rate=1.0,
        p50=1.0,
        p99=1.0,
        answers=len(acknowledged) if answers is None else answers,
        answers_2xx=len(acknowledged),
        socket_errors=socket_errors,
        keys_made=len(acknowledged),
        acknowledged=acknowledged,
        stored=stored,
    )


def test_every_acknowledged_key_stored_once_passes() -> None:
    # Two stored keys whose answers were not counted: the requests in flight at the end.
    assert key_problems(run({"a", "b"}, ["a", "b", "c", "d"])) == []


@pytest.mark.parametrize(
    ("checked", "problem"),
    [
        (run({"a", "b"}, ["a"]), "1 acknowledged MsgKeys not stored, e.g. b"),
        (run({"a", "b"}, ["a", "b", "b"]), "1 MsgKeys stored more than once"),
        (run({"a"}, ["a", "b", "c", "d"]), "3 MsgKeys stored that were never acknowledged"),
        (run({"a"}, ["a"], answers=4), "3 answers were not 2xx"),
        # Every answer a redirect, say: nothing acknowledged, nothing stored.
        (run(set(), [], answers=100), "no answer was a 2xx"),
        (run({"a"}, ["a"], socket_errors=2), "2 requests got no answer"),
    ],
)
def test_a_lost_doubled_or_unexplained_key_is_reported(checked: Run, problem: str) -> None:
    assert any(found.startswith(problem) for found in key_problems(checked))


def test_key_pattern_matches_every_thread_of_its_run_only() -> None:
    # The keys request() makes in the Lua script, and only those.
    formula = "(run * 100 + id) * 10000000 + counter"
    assert formula in WRK_SCRIPT

    def key(wrk_run: int, thread: int, counter: int) -> str:
        return f"{(wrk_run * 100 + thread) * 10000000 + counter}_1_1717000000"

    pattern = re.compile(key_pattern(2))
    assert all(pattern.match(key(2, thread, 1)) for thread in (1, 9, 10, 16, 99))
    assert not pattern.match(key(52, 1, 1))  # its warm-up
    assert not pattern.match(key(3, 1, 1))
