"""What the admin shows of each message element, and of JSON.

An element that is not what its ``MsgType`` says is shown as its JSON, and a URL that is not
http(s) is never a link. The template (``message_body.html``) escapes every value.

An image from a message is fetched by the reader's browser only when the reader asks (a click),
or when its host is one the project trusts (``ADMIN_IMAGE_HOSTS``), and never with a referrer:
otherwise merely opening a message would tell whoever sent its URL that, and when, someone
looked, and from which admin.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext

from ..conf import get_settings
from ..elements import (
    CUSTOM,
    FACE,
    FILE,
    IMAGE,
    LOCATION,
    SOUND,
    TEXT,
    VIDEO,
    content_of,
    number_field,
    string_field,
    type_of,
)

# ImageInfoArray's Type: 1 original, 2 large, 3 thumbnail.
_ORIGINAL, _LARGE, _THUMBNAIL = 1, 2, 3


def safe_url(value: Any) -> str:
    """``value`` if it is an http(s) URL, else "": a ``javascript:`` URL must never be a link."""
    if not isinstance(value, str):
        return ""
    try:
        scheme = urlsplit(value.strip()).scheme.lower()
    except ValueError:
        return ""
    return value if scheme in ("http", "https") else ""


def host_of(url: str) -> str:
    """The host name of an http(s) URL, lower case; "" when it has none."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def shown_inline(url: str) -> bool:
    """Whether the admin may show the image at ``url`` without being asked: its host is in
    ``ADMIN_IMAGE_HOSTS`` (an entry starting with "." also takes the subdomains)."""
    host = host_of(url)
    if not host:
        return False
    return any(
        host == entry or (entry.startswith(".") and (host.endswith(entry) or host == entry[1:]))
        for entry in get_settings().admin_image_hosts
    )


# What one JSON block of an admin page shows at most: a body may be 1 MB (MAX_BODY_SIZE), and
# every field of it (extra, CloudCustomData) could be most of that. The raw JSON view has all.
PRETTY_JSON_MAX_CHARS = 64 * 1024


def pretty_json(value: Any) -> str:
    """A JSON string pretty-printed, or the string itself when it is not JSON; cut at
    ``PRETTY_JSON_MAX_CHARS``, saying how much more there is."""
    if isinstance(value, str):
        text = value
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            return _cut(text)
    return _cut(json.dumps(value, indent=2, ensure_ascii=False))


def _cut(text: str) -> str:
    if len(text) <= PRETTY_JSON_MAX_CHARS:
        return text
    more = len(text) - PRETTY_JSON_MAX_CHARS
    return (
        text[:PRETTY_JSON_MAX_CHARS] + "\n" + gettext("… %(more)d more characters") % {"more": more}
    )


@dataclass(frozen=True)
class ElementView:
    """What the admin shows of one element. ``kind`` picks the template; ``raw`` is the JSON."""

    kind: str
    msg_type: str
    raw: str
    fields: dict[str, Any] = field(default_factory=dict)


def view(element: Any) -> ElementView:
    msg_type, content = type_of(element), content_of(element)
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
    thumbnail_url = safe_url(thumb.get("URL"))
    return {
        "thumbnail_url": thumbnail_url,
        "inline": shown_inline(thumbnail_url),
        "host": host_of(thumbnail_url),
        "original_url": safe_url(original.get("URL")),
        "raw_original_url": string_field(original, "URL"),
        "width": number_field(original, "Width"),
        "height": number_field(original, "Height"),
        "size": number_field(original, "Size"),
    }


def _link(content: dict[str, Any], key: str) -> dict[str, str]:
    """A URL field: a link only if it is http(s), and its text as sent either way."""
    return {"url": safe_url(content.get(key)), "raw_url": string_field(content, key)}


def _sound(content: dict[str, Any]) -> dict[str, Any]:
    return {
        **_link(content, "Url"),
        "size": number_field(content, "Size"),
        "seconds": number_field(content, "Second"),
    }


def _file(content: dict[str, Any]) -> dict[str, Any]:
    return {
        **_link(content, "Url"),
        "name": string_field(content, "FileName") or string_field(content, "fileName"),
        "size": number_field(content, "FileSize"),
    }


def _video(content: dict[str, Any]) -> dict[str, Any]:
    thumbnail_url = safe_url(content.get("ThumbUrl"))
    return {
        **_link(content, "VideoUrl"),
        "thumbnail_url": thumbnail_url,
        "thumbnail_inline": shown_inline(thumbnail_url),
        "thumbnail_host": host_of(thumbnail_url),
        "size": number_field(content, "VideoSize"),
        "seconds": number_field(content, "VideoSecond"),
        "format": string_field(content, "VideoFormat"),
    }


def _location(content: dict[str, Any]) -> dict[str, Any] | None:
    latitude, longitude = number_field(content, "Latitude"), number_field(content, "Longitude")
    if latitude is None or longitude is None:
        return None
    return {
        "description": string_field(content, "Desc"),
        "latitude": latitude,
        "longitude": longitude,
    }


def _face(content: dict[str, Any]) -> dict[str, Any] | None:
    index = number_field(content, "Index")
    return None if index is None else {"index": index, "data": string_field(content, "Data")}


def _custom(content: dict[str, Any]) -> dict[str, Any]:
    return {
        "data": pretty_json(content["Data"]) if isinstance(content.get("Data"), str) else "",
        "description": string_field(content, "Desc"),
        "ext": string_field(content, "Ext"),
        "sound": string_field(content, "Sound"),
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
