"""The keyword hook: refuses a message whose texts, file names or custom (and location)
descriptions contain a blocked word (anywhere, ignoring case: Chinese has no spaces).

Words come from the enabled ``KeywordRule`` rows of the app (and of every app) and from
``MODERATION_BLOCKED_WORDS``. Plain words are matched by ``KeywordMatcher`` at a cost that does
not grow with their number (bench/moderation_bench.py); patterns are regular expressions of
their own, compiled once. The matcher is kept per app until a rule is saved or deleted in this
process; other processes notice a change within ``RECHECK_SECONDS`` by a fingerprint of the
table (count, latest update).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import router
from django.db.models import Count, Max, Q
from django.db.models.signals import post_delete, post_save

from ..conf import get_settings
from ..elements import searchable_text
from ..models import KeywordRule
from .decisions import Decision
from .events import BeforeSend, HookEvent
from .patterns import has_nested_quantifier

logger = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0
# Where an ASCII word starts: after anything but an ASCII letter, digit or underscore. Not
# ``\b``, for which Chinese characters are word characters too: "买casino" must find "casino".
_WORD_START = r"(?<![0-9A-Za-z_])"


class KeywordMatcher:
    """Finds a blocked word or pattern in a text, ignoring case.

    Two kinds of words, each matched at a cost that barely grows with their number
    (bench/moderation_bench.py):

    * ASCII words that start with a letter or digit match where a word of the text starts
      ("casino" finds "Casinos" and "买casino", not "xcasino"): one regular expression shaped
      like a trie,
      tried only at the starts of words;
    * any other word (Chinese has no spaces) matches anywhere: the text's pairs of characters
      are intersected, in C, with the words' first pairs, and only the few shared pairs are
      looked at; one-character words are intersected with the text's characters.
    """

    def __init__(self, words: Iterable[str], patterns: Iterable[str] = ()) -> None:
        folded = {word.strip().casefold() for word in words} - {""}
        spaced = sorted(w for w in folded if w.isascii() and (w[0].isalnum() or w[0] == "_"))
        self.size = len(folded)
        self._spaced = re.compile(_WORD_START + _trie_pattern(spaced)) if spaced else None
        self._chars = frozenset(w for w in folded - set(spaced) if len(w) == 1)
        self._by_pair: dict[str, list[str]] = {}
        for word in sorted(folded - set(spaced) - self._chars):
            self._by_pair.setdefault(word[:2], []).append(word)
        self._pairs = frozenset(self._by_pair)
        self._patterns = [re.compile(pattern, re.IGNORECASE) for pattern in patterns]

    def find(self, text: str) -> str | None:
        """A blocked word (as folded) or pattern match in ``text``, or None."""
        folded = text.casefold()
        if self._spaced is not None and (match := self._spaced.search(folded)):
            return match.group()
        if found := self._chars.intersection(folded):
            return min(found)
        if self._pairs:
            shared = self._pairs.intersection(
                folded[start : start + 2] for start in range(len(folded) - 1)
            )
            for pair in sorted(shared):
                if word := self._at_pair(folded, pair):
                    return word
        for pattern in self._patterns:
            if pattern_match := pattern.search(text):
                return pattern_match.group()
        return None

    def _at_pair(self, folded: str, pair: str) -> str | None:
        position = folded.find(pair)
        while position != -1:
            for word in self._by_pair[pair]:
                if folded.startswith(word, position):
                    return word
            position = folded.find(pair, position + 1)
        return None


def _trie_pattern(words: list[str]) -> str:
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for character in word:
            node = node.setdefault(character, {})
        node[""] = {}  # a word ends here
    return _node_pattern(trie)


def _node_pattern(node: dict[str, Any]) -> str:
    # The shortest word suffices: a node where a word ends matches there, whatever follows.
    if "" in node:
        return ""
    branches = [re.escape(char) + _node_pattern(child) for char, child in sorted(node.items())]
    return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


@dataclass
class _Cached:
    fingerprint: tuple[Any, ...]
    matcher: KeywordMatcher
    checked_at: float


_cache: dict[int, _Cached] = {}
_lock = threading.Lock()


def invalidate(**kwargs: Any) -> None:
    """Forget every compiled matcher (a rule was saved or deleted)."""
    with _lock:
        _cache.clear()


post_save.connect(invalidate, sender=KeywordRule, dispatch_uid="officialaccount_keywords_save")
post_delete.connect(invalidate, sender=KeywordRule, dispatch_uid="officialaccount_keywords_del")


def _rules(sdk_app_id: int) -> Any:
    rules = KeywordRule.objects.using(router.db_for_read(KeywordRule))
    return rules.filter(Q(sdk_app_id=sdk_app_id) | Q(sdk_app_id__isnull=True), enabled=True)


def matcher_for(sdk_app_id: int, clock: Any = time.monotonic) -> KeywordMatcher:
    """The app's matcher, compiled once and rebuilt when the rules change."""
    now = clock()
    extra = get_settings().moderation.blocked_words
    cached = _cache.get(sdk_app_id)
    fresh = cached is not None and now - cached.checked_at < RECHECK_SECONDS
    if cached is not None and fresh and cached.fingerprint[-1] == extra:
        return cached.matcher
    stats = KeywordRule.objects.using(router.db_for_read(KeywordRule)).aggregate(
        count=Count("id"), latest=Max("updated_at")
    )
    fingerprint = (stats["count"], stats["latest"], extra)
    if cached is not None and cached.fingerprint == fingerprint:
        cached.checked_at = now
        return cached.matcher
    rows = list(_rules(sdk_app_id).values_list("pattern", "is_regex"))
    words = [pattern for pattern, is_regex in rows if not is_regex] + list(extra)
    matcher = KeywordMatcher(words, _safe([pattern for pattern, is_regex in rows if is_regex]))
    with _lock:
        _cache[sdk_app_id] = _Cached(fingerprint, matcher, now)
    return matcher


def _safe(patterns: list[str]) -> list[str]:
    # The admin refuses these (KeywordRule.clean); a row saved around it must not hold a worker.
    unsafe = [pattern for pattern in patterns if has_nested_quantifier(pattern)]
    for pattern in unsafe:
        logger.warning("Keyword pattern %r is skipped: it nests quantifiers", pattern)
    return [pattern for pattern in patterns if pattern not in unsafe]


def refuse_keywords(event: HookEvent) -> Decision:
    """Refuse (``ErrorCode`` 1) a message that contains a blocked word; allow anything else."""
    callback = event.callback
    if not isinstance(callback, BeforeSend):
        return Decision.allow()
    found = matcher_for(event.sdk_app_id).find(searchable_text(callback.msg_body))
    return Decision.refuse(f"blocked word {found!r}") if found else Decision.allow()
