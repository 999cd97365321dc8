"""Refusing keyword patterns that can backtrack without end.

A regular expression with a quantifier inside a repeated group (``(a+)+``, ``(.*)*``,
``(\\w+\\s?)*``) can take exponential time on a text that almost matches, and Python cannot stop
it: the hook's worker would be held until it finishes, which may be never. Such patterns are
refused when a rule is saved (``KeywordRule.clean``) and skipped, loudly, if one is found in the
table anyway. Alternations of overlapping branches (``(a|aa)+``) can also backtrack long; they
are not detected (docs/moderation.md says so).

Standard library only: the models' validation imports it.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

# The parser that ``re`` itself uses; its public alias ``sre_parse`` warns of deprecation.
_parser: Any = importlib.import_module("re._parser")
_constants: Any = importlib.import_module("re._constants")
_REPEATS = {_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT}


def has_nested_quantifier(pattern: str) -> bool:
    """Whether a repeated part of ``pattern`` holds a quantifier of its own that can match a
    varying number of times. ``pattern`` must compile."""
    return any(
        high > 1 and any(inner_low != inner_high for inner_low, inner_high, _ in _repeats(body))
        for _low, high, body in _repeats(_parser.parse(pattern))
    )


def _repeats(subpattern: Any) -> Iterator[tuple[int, int, Any]]:
    """Every repeat in ``subpattern``, at any depth: (minimum, maximum, what is repeated)."""
    for op, argument in subpattern:
        if op in _REPEATS:
            low, high, body = argument
            yield low, high, body
            yield from _repeats(body)
        else:
            for child in _subpatterns(argument):
                yield from _repeats(child)


def _subpatterns(argument: Any) -> Iterator[Any]:
    if isinstance(argument, _parser.SubPattern):
        yield argument
    elif isinstance(argument, list | tuple):
        for item in argument:
            yield from _subpatterns(item)
