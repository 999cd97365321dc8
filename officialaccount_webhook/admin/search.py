"""The admin's search box, bounded so that an index serves every word of it.

On PostgreSQL the text search (a "contains" match on ``text_content``) uses a trigram index
(migration 0003). The index finds a word by the runs of three letters or digits in it: a word
without one ("ab", "a.b") cannot use it, and matches by reading every row of the table, once
for each query of the page (the count, the rows, the chart). Ten such words took seconds; fifty
outlived the worker. So a search takes at most ``MAX_TERMS`` words, each with ``MIN_RUN``
letters or digits in a row; another search is refused with a message saying why.
"""

from __future__ import annotations

from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext, ngettext

from ..elements import MIN_RUN, indexable

MAX_TERMS = 5
# How many refused words the message names: a pasted paragraph must not become the message.
_NAMED = 3


def terms(search: str) -> list[str]:
    """The words of a search as Django's admin searches for them: split on spaces, a quoted
    phrase one word (``ModelAdmin.get_search_results``)."""
    found = []
    for bit in smart_split(search):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
            bit = unescape_string_literal(bit)
        found.append(bit)
    return found


def refusal(search: str) -> str | None:
    """Why the admin will not run this search, or None when it will."""
    words = terms(search)
    if len(words) > MAX_TERMS:
        return ngettext(
            "Search for at most %(max)d word at a time (%(count)d were given).",
            "Search for at most %(max)d words at a time (%(count)d were given).",
            MAX_TERMS,
        ) % {"max": MAX_TERMS, "count": len(words)}
    short = [word for word in words if not indexable(word)]
    if short:
        named = ", ".join(f"“{word}”" for word in short[:_NAMED])
        return gettext(
            "Each search word needs at least %(min)d letters or digits in a row, which the "
            "search index can find: %(words)s is too short. For an exact official account, "
            "use the official account filter."
        ) % {"min": MIN_RUN, "words": named + (", …" if len(short) > _NAMED else "")}
    return None
