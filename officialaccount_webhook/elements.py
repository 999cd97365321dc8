"""Tencent's message elements (``MsgBody``), read the way a person reads them.

Protocol notes, section 4: a message is a list of ``{"MsgType", "MsgContent"}`` elements. This
module turns them into a one-line preview, the text a search looks in, and a view of each
element for the admin. It never trusts a shape: an element that is not what its ``MsgType``
says is shown as its JSON, and a URL that is not http(s) is never a link. Standard library only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

TEXT = "TIMTextElem"
IMAGE = "TIMImageElem"
SOUND = "TIMSoundElem"
FILE = "TIMFileElem"
VIDEO = "TIMVideoFileElem"
LOCATION = "TIMLocationElem"
FACE = "TIMFaceElem"
CUSTOM = "TIMCustomElem"

KNOWN_TYPES = (TEXT, IMAGE, SOUND, FILE, VIDEO, LOCATION, FACE, CUSTOM)

# ImageInfoArray's Type: 1 original, 2 large, 3 thumbnail.
_ORIGINAL, _LARGE, _THUMBNAIL = 1, 2, 3


def _content(element: Any) -> dict[str, Any]:
    content = element.get("MsgContent") if isinstance(element, dict) else None
    return content if isinstance(content, dict) else {}


def _type(element: Any) -> str:
    msg_type = element.get("MsgType") if isinstance(element, dict) else None
    return msg_type if isinstance(msg_type, str) else ""


def _str(content: dict[str, Any], key: str) -> str:
    value = content.get(key)
    return value if isinstance(value, str) else ""


# Beyond this a "size" or "index" is not one: formatting it as bytes would fail outright.
_PLAUSIBLE = 2**53


def _number(content: dict[str, Any], key: str) -> int | float | None:
    value = content.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value if abs(value) < _PLAUSIBLE else None


def _elements(body: Any) -> Iterable[Any]:
    return body if isinstance(body, list) else ()


def element_types(body: Any) -> list[str]:
    """The distinct MsgTypes of a message, in order."""
    return list(dict.fromkeys(t for t in map(_type, _elements(body)) if t))


def known_element_types(body: Any) -> list[str]:
    """The distinct MsgTypes of a message that Tencent documents, in order."""
    return [msg_type for msg_type in element_types(body) if msg_type in KNOWN_TYPES]


def preview(body: Any, limit: int = 120) -> str:
    """One line: the text; ``[Image]``; the file name; ``[Location] <desc>``; a custom Desc."""
    parts = [_preview_one(element) for element in _elements(body)]
    line = " ".join(" ".join(part.split()) for part in parts if part)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _preview_one(element: Any) -> str:
    msg_type, content = _type(element), _content(element)
    if msg_type == TEXT:
        return _str(content, "Text")
    if msg_type == FILE:
        return _str(content, "FileName") or "[File]"
    if msg_type == LOCATION:
        return f"[Location] {_str(content, 'Desc')}".strip()
    if msg_type == CUSTOM:
        return _str(content, "Desc") or "[Custom]"
    placeholders = {IMAGE: "[Image]", SOUND: "[Sound]", VIDEO: "[Video]", FACE: "[Face]"}
    return placeholders.get(msg_type, f"[{msg_type or 'Unknown'}]")


def searchable_text(body: Any) -> str:
    """What a text search looks in: texts, file names, location and custom descriptions."""
    words: list[str] = []
    for element in _elements(body):
        msg_type, content = _type(element), _content(element)
        keys = {TEXT: ("Text",), FILE: ("FileName",), LOCATION: ("Desc",), CUSTOM: ("Desc",)}
        words.extend(_str(content, key) for key in keys.get(msg_type, ()))
    return "\n".join(word for word in words if word)


# ------------------------------------------------------------------ the admin's view


def safe_url(value: Any) -> str:
    """``value`` if it is an http(s) URL, else "": a ``javascript:`` URL must never be a link."""
    if not isinstance(value, str):
        return ""
    try:
        scheme = urlsplit(value.strip()).scheme.lower()
    except ValueError:
        return ""
    return value if scheme in ("http", "https") else ""


def pretty_json(value: Any) -> str:
    """A JSON string pretty-printed, or the string itself when it is not JSON."""
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return text
    return json.dumps(value, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class ElementView:
    """What the admin shows of one element. ``kind`` picks the template; ``raw`` is the JSON."""

    kind: str
    msg_type: str
    raw: str
    fields: dict[str, Any] = field(default_factory=dict)


def view(element: Any) -> ElementView:
    msg_type, content = _type(element), _content(element)
    raw = json.dumps(element, indent=2, ensure_ascii=False)
    builder = _VIEWS.get(msg_type)
    fields = builder(content) if builder else None
    if fields is None:  # unknown type, or not the shape its type promises
        return ElementView("json", msg_type, raw)
    return ElementView(
        msg_type.removeprefix("TIM").removesuffix("Elem").lower(), msg_type, raw, fields
    )


def _text(content: dict[str, Any]) -> dict[str, Any] | None:
    return {"text": content["Text"]} if isinstance(content.get("Text"), str) else None


def _image(content: dict[str, Any]) -> dict[str, Any] | None:
    infos = content.get("ImageInfoArray")
    if not isinstance(infos, list):
        return None
    by_type = {info.get("Type"): info for info in infos if isinstance(info, dict)}
    thumb = next((by_type[t] for t in (_THUMBNAIL, _LARGE, _ORIGINAL) if t in by_type), None)
    original = next((by_type[t] for t in (_ORIGINAL, _LARGE, _THUMBNAIL) if t in by_type), None)
    if thumb is None or original is None:
        return None
    return {
        "thumbnail_url": safe_url(thumb.get("URL")),
        "original_url": safe_url(original.get("URL")),
        "raw_original_url": _str(original, "URL"),
        "width": _number(original, "Width"),
        "height": _number(original, "Height"),
        "size": _number(original, "Size"),
    }


def _sound(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": safe_url(content.get("Url")),
        "raw_url": _str(content, "Url"),
        "size": _number(content, "Size"),
        "seconds": _number(content, "Second"),
    }


def _file(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": safe_url(content.get("Url")),
        "raw_url": _str(content, "Url"),
        "name": _str(content, "FileName") or _str(content, "fileName"),
        "size": _number(content, "FileSize"),
    }


def _video(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": safe_url(content.get("VideoUrl")),
        "raw_url": _str(content, "VideoUrl"),
        "thumbnail_url": safe_url(content.get("ThumbUrl")),
        "size": _number(content, "VideoSize"),
        "seconds": _number(content, "VideoSecond"),
        "format": _str(content, "VideoFormat"),
    }


def _location(content: dict[str, Any]) -> dict[str, Any] | None:
    latitude, longitude = _number(content, "Latitude"), _number(content, "Longitude")
    if latitude is None or longitude is None:
        return None
    return {"description": _str(content, "Desc"), "latitude": latitude, "longitude": longitude}


def _face(content: dict[str, Any]) -> dict[str, Any] | None:
    index = _number(content, "Index")
    return None if index is None else {"index": index, "data": _str(content, "Data")}


def _custom(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": pretty_json(content["Data"]) if isinstance(content.get("Data"), str) else "",
        "description": _str(content, "Desc"),
        "ext": _str(content, "Ext"),
        "sound": _str(content, "Sound"),
    }


_VIEWS = {
    TEXT: _text,
    IMAGE: _image,
    SOUND: _sound,
    FILE: _file,
    VIDEO: _video,
    LOCATION: _location,
    FACE: _face,
    CUSTOM: _custom,
}
