"""Tencent's message elements (``MsgBody``), read the way a person reads them.

Protocol notes, section 4: a message is a list of ``{"MsgType", "MsgContent"}`` elements. This
module reads their types, a one-line preview and the text a search looks in; the admin's view
of each element is ``admin.rendering``. It never trusts a shape: a field that is not what its
``MsgType`` promises reads as empty. Standard library only, but for the placeholders' gettext.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext, gettext_noop

TEXT = "TIMTextElem"
IMAGE = "TIMImageElem"
SOUND = "TIMSoundElem"
FILE = "TIMFileElem"
VIDEO = "TIMVideoFileElem"
LOCATION = "TIMLocationElem"
FACE = "TIMFaceElem"
CUSTOM = "TIMCustomElem"

KNOWN_TYPES = (TEXT, IMAGE, SOUND, FILE, VIDEO, LOCATION, FACE, CUSTOM)


def content_of(element: Any) -> dict[str, Any]:
    content = element.get("MsgContent") if isinstance(element, dict) else None
    return content if isinstance(content, dict) else {}


def type_of(element: Any) -> str:
    msg_type = element.get("MsgType") if isinstance(element, dict) else None
    return msg_type if isinstance(msg_type, str) else ""


def string_field(content: dict[str, Any], key: str) -> str:
    value = content.get(key)
    return value if isinstance(value, str) else ""


# Beyond this a "size" or "index" is not one: formatting it as bytes would fail outright.
_PLAUSIBLE = 2**53


def number_field(content: dict[str, Any], key: str) -> int | float | None:
    value = content.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if abs(value) < _PLAUSIBLE else None


def _elements(body: Any) -> Iterable[Any]:
    return body if isinstance(body, list) else ()


def element_types(body: Any) -> list[str]:
    """The distinct MsgTypes of a message, in order."""
    return list(dict.fromkeys(t for t in map(type_of, _elements(body)) if t))


def known_element_types(body: Any) -> list[str]:
    """The distinct MsgTypes of a message that Tencent documents, in order."""
    return [msg_type for msg_type in element_types(body) if msg_type in KNOWN_TYPES]


def preview(body: Any, limit: int = 120) -> str:
    """One line: the text; ``[Image]``; the file name; ``[Location] <desc>``; a custom Desc."""
    parts = [_preview_one(element) for element in _elements(body)]
    line = " ".join(" ".join(part.split()) for part in parts if part)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _preview_one(element: Any) -> str:
    msg_type, content = type_of(element), content_of(element)
    if msg_type == TEXT:
        return string_field(content, "Text")
    # In the reader's language: only the admin shows a preview, at request time.
    if msg_type == FILE:
        return string_field(content, "FileName") or gettext("[File]")
    if msg_type == LOCATION:
        desc = string_field(content, "Desc")
        return (gettext("[Location] %(desc)s") % {"desc": desc}).strip()
    if msg_type == CUSTOM:
        return string_field(content, "Desc") or gettext("[Custom]")
    placeholders = {
        IMAGE: gettext_noop("[Image]"),
        SOUND: gettext_noop("[Sound]"),
        VIDEO: gettext_noop("[Video]"),
        FACE: gettext_noop("[Face]"),
    }
    if msg_type in placeholders:
        return gettext(placeholders[msg_type])
    return f"[{msg_type}]" if msg_type else gettext("[Unknown]")


def searchable_text(body: Any) -> str:
    """What a text search looks in: texts, file names, location and custom descriptions."""
    words: list[str] = []
    for element in _elements(body):
        msg_type, content = type_of(element), content_of(element)
        keys = {TEXT: ("Text",), FILE: ("FileName",), LOCATION: ("Desc",), CUSTOM: ("Desc",)}
        words.extend(string_field(content, key) for key in keys.get(msg_type, ()))
    return "\n".join(word for word in words if word)


# A text search finds a word through a trigram index (migration 0003) only by the runs of three
# letters or digits in it: a word without one reads every row. The admin and the API refuse it.
MIN_RUN = 3


def indexable(term: str) -> bool:
    """Whether ``term`` has a run of ``MIN_RUN`` letters or digits, as a trigram needs."""
    run = 0
    for character in term:
        run = run + 1 if character.isalnum() else 0
        if run >= MIN_RUN:
            return True
    return False
