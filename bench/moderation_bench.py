"""The keyword hook's matcher with thousands of words: build time and time per message.

Run: ``.venv/bin/python bench/moderation_bench.py [words] [messages]``. The matcher only: the
hook builds it once from its rules and reuses it until a rule changes, so a message costs one
``find`` over its searchable text. Worst cases: no word occurs, so every text is read whole;
Latin words of 4 to 12 letters (9 lengths) in texts up to Tencent's 12 KB, and Chinese words of
2 to 4 characters (3 bytes each in UTF-8: 4,000 of them fill 12 KB).
"""

from __future__ import annotations

import os
import random
import string
import sys
import time

import django

sys.path.insert(0, ".")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
django.setup()

from officialaccount_webhook.elements import searchable_text  # noqa: E402
from officialaccount_webhook.moderation.keywords import KeywordMatcher  # noqa: E402

LATIN = string.ascii_lowercase.replace("q", "")
HAN = [chr(code) for code in range(0x4E00, 0x4E00 + 3000)]


def _body(text: str) -> list[dict[str, object]]:
    return [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": text}},
        {"MsgType": "TIMFileElem", "MsgContent": {"FileName": "report.pdf"}},
        {"MsgType": "TIMCustomElem", "MsgContent": {"Desc": "CustomElement.Card"}},
    ]


def _run(label: str, words: set[str], texts: list[str]) -> None:
    started = time.perf_counter()
    matcher = KeywordMatcher(words)
    built = time.perf_counter() - started
    bodies = [_body(text) for text in texts]
    started = time.perf_counter()
    found = sum(matcher.find(searchable_text(body)) is not None for body in bodies)
    per_message = (time.perf_counter() - started) / len(bodies)
    print(
        f"| {label} | {matcher.size} | {built * 1000:.1f} | {len(texts[0])} | "
        f"{per_message * 1000:.3f} | {found} |"
    )


def main(word_count: int = 5000, messages: int = 200) -> None:
    rng = random.Random(7)
    print("| case | words | build ms | text chars | ms per message | matched |")
    print("|---|---|---|---|---|---|")
    # "q" ends every Latin word and never occurs in the texts: nothing matches.
    latin = {"".join(rng.choices(LATIN, k=rng.randint(3, 11))) + "q" for _ in range(word_count)}
    for size in (200, 2000, 12000):
        texts = [" ".join("".join(rng.choices(LATIN, k=7)) for _ in range(size // 8))[:size]]
        _run("Latin", latin, texts * messages)
    han = {"".join(rng.choices(HAN, k=rng.randint(2, 4))) for _ in range(word_count)}
    for size in (100, 1000, 4000):
        text = "".join(rng.choices(HAN, k=size))
        _run("Chinese", {word for word in han if word not in text}, [text] * messages)


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
