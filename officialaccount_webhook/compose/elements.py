"""Typed builders for the elements of a message to send (protocol notes, section 4).

One frozen dataclass per ``MsgType``: Python names inside, Tencent's names on the wire
(``as_wire()``). Each refuses at construction what Tencent would refuse, with an
:class:`ElementError` naming the element and the field, so that a send fails before any call:
a field missing, of the wrong type, a number out of its documented range, a download flag
other than 2. ``from_wire`` reads an element given as JSON (a command's file, the REST API)
through the same checks; an unknown field is refused there, as a misspelt one would otherwise
be sent and ignored.

Which fields Tencent requires of a message sent by REST is not spelled out per type: here,
what identifies and shows an element is required, the rest optional [inferred].
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from django.utils.translation import gettext as _

from ..elements import CUSTOM, FACE, FILE, IMAGE, LOCATION, SOUND, TEXT, VIDEO
from .wire import Element, ElementError, Kind, Wire, Wired, not_one_of

# What the package (``compose``) offers of this module; BUILDERS stays here.
__all__ = [
    "Custom",
    "Element",
    "ElementError",
    "Face",
    "File",
    "Image",
    "ImageInfo",
    "Location",
    "Sound",
    "Text",
    "Video",
    "from_wire",
]


# Tencent's flag for a resource to download from its URL: the only value documented.
DOWNLOAD_FLAG = 2
# ImageFormat: JPG 1, GIF 2, PNG 3, BMP 4, other 255; ImageInfoArray's Type: original 1,
# large 2, thumbnail 3.
IMAGE_FORMATS = (1, 2, 3, 4, 255)
IMAGE_TYPES = (1, 2, 3)


def _id() -> str:
    # Tencent's UUID names a resource; one sent by URL has none of Tencent's, any unique
    # string does [inferred].
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Text(Element):
    text: str
    MSG_TYPE, LABEL = TEXT, TEXT
    WIRE = (Wire("Text", "text", Kind.TEXT),)


@dataclass(frozen=True)
class Face(Element):
    index: int
    data: str = ""
    MSG_TYPE, LABEL = FACE, FACE
    WIRE = (Wire("Index", "index", Kind.COUNT), Wire("Data", "data", Kind.TEXT, required=False))


@dataclass(frozen=True)
class Location(Element):
    latitude: float
    longitude: float
    desc: str = ""
    MSG_TYPE, LABEL = LOCATION, LOCATION
    WIRE = (
        Wire("Desc", "desc", Kind.TEXT, required=False),
        Wire("Latitude", "latitude", Kind.NUMBER, bounds=(-90, 90)),
        Wire("Longitude", "longitude", Kind.NUMBER, bounds=(-180, 180)),
    )


@dataclass(frozen=True)
class Custom(Element):
    """``Desc`` is the offline push's text: without it (or ``OfflinePushInfo.Desc``) a message
    of one custom element is pushed to nobody offline."""

    data: str
    desc: str = ""
    ext: str = ""
    sound: str = ""
    MSG_TYPE, LABEL = CUSTOM, CUSTOM
    WIRE = (
        Wire("Data", "data", Kind.TEXT),
        Wire("Desc", "desc", Kind.TEXT, required=False),
        Wire("Ext", "ext", Kind.TEXT, required=False),
        Wire("Sound", "sound", Kind.TEXT, required=False),
    )


@dataclass(frozen=True)
class ImageInfo(Wired):
    """One of an image's sizes: ``type`` 1 original, 2 large, 3 thumbnail."""

    type: int
    url: str
    width: int
    height: int
    size: int = 0
    LABEL = "ImageInfo"
    WIRE = (
        Wire("Type", "type", Kind.CHOICE, choices=IMAGE_TYPES),
        Wire("Size", "size", Kind.COUNT),
        Wire("Width", "width", Kind.COUNT),
        Wire("Height", "height", Kind.COUNT),
        Wire("URL", "url", Kind.TEXT),  # upper-case here, "Url" elsewhere: Tencent's spelling
    )


@dataclass(frozen=True)
class Image(Element):
    images: tuple[ImageInfo, ...]
    image_format: int = 255
    uuid: str = field(default_factory=_id)
    MSG_TYPE, LABEL = IMAGE, IMAGE
    WIRE = (
        Wire("UUID", "uuid", Kind.TEXT),
        Wire("ImageFormat", "image_format", Kind.CHOICE, choices=IMAGE_FORMATS),
    )

    @classmethod
    def of_url(cls, url: str, width: int, height: int, size: int = 0, **kwargs: Any) -> Image:
        """One picture at ``url`` for every size Tencent asks for (original, large, thumbnail)."""
        infos = tuple(ImageInfo(kind, url, width, height, size) for kind in IMAGE_TYPES)
        return cls(images=infos, **kwargs)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.images, tuple | list) or not self.images:
            raise ElementError(
                _("%(element)s.ImageInfoArray needs at least one ImageInfo.") % {"element": IMAGE}
            )
        if not all(isinstance(info, ImageInfo) for info in self.images):
            raise ElementError(
                _("%(element)s.ImageInfoArray holds ImageInfo items only.") % {"element": IMAGE}
            )

    def content(self) -> dict[str, Any]:
        infos = [info.content() for info in self.images]
        return {**super().content(), "ImageInfoArray": infos}

    @classmethod
    def from_content(cls, content: object) -> Self:
        attributes = cls.attributes(content, also=("ImageInfoArray",))
        infos = content.get("ImageInfoArray") if isinstance(content, Mapping) else None
        if not isinstance(infos, list):
            raise ElementError(_("%(element)s needs ImageInfoArray, a list.") % {"element": IMAGE})
        build: Callable[..., Self] = cls
        return build(images=tuple(ImageInfo.from_content(info) for info in infos), **attributes)


@dataclass(frozen=True)
class Download(Element):
    """An element whose file Tencent downloads from ``url``: a sound or a file. ``uuid`` names
    it, made up when not given; ``download_flag`` 2 is the only value Tencent documents."""

    url: str
    uuid: str = field(default_factory=_id, kw_only=True)
    download_flag: int = field(default=DOWNLOAD_FLAG, kw_only=True)
    WIRE: ClassVar[tuple[Wire, ...]] = (
        Wire("Url", "url", Kind.TEXT),
        Wire("UUID", "uuid", Kind.TEXT),
        Wire("Download_Flag", "download_flag", Kind.CHOICE, choices=(DOWNLOAD_FLAG,)),
    )


@dataclass(frozen=True)
class Sound(Download):
    size: int
    second: int
    MSG_TYPE, LABEL = SOUND, SOUND
    WIRE = (*Download.WIRE, Wire("Size", "size", Kind.COUNT), Wire("Second", "second", Kind.COUNT))


@dataclass(frozen=True)
class File(Download):
    file_size: int
    file_name: str
    MSG_TYPE, LABEL = FILE, FILE
    WIRE = (
        *Download.WIRE,
        Wire("FileSize", "file_size", Kind.COUNT),
        Wire("FileName", "file_name", Kind.TEXT),
    )


@dataclass(frozen=True)
class Video(Element):
    video_url: str
    video_size: int
    video_second: int
    video_format: str
    thumb_url: str
    thumb_size: int
    thumb_width: int
    thumb_height: int
    thumb_format: str
    video_uuid: str = field(default_factory=_id)
    thumb_uuid: str = field(default_factory=_id)
    video_download_flag: int = DOWNLOAD_FLAG
    thumb_download_flag: int = DOWNLOAD_FLAG
    MSG_TYPE, LABEL = VIDEO, VIDEO
    WIRE = (
        Wire("VideoUrl", "video_url", Kind.TEXT),
        Wire("VideoUUID", "video_uuid", Kind.TEXT),
        Wire("VideoSize", "video_size", Kind.COUNT),
        Wire("VideoSecond", "video_second", Kind.COUNT),
        Wire("VideoFormat", "video_format", Kind.TEXT),
        Wire("VideoDownloadFlag", "video_download_flag", Kind.CHOICE, choices=(DOWNLOAD_FLAG,)),
        Wire("ThumbUrl", "thumb_url", Kind.TEXT),
        Wire("ThumbUUID", "thumb_uuid", Kind.TEXT),
        Wire("ThumbSize", "thumb_size", Kind.COUNT),
        Wire("ThumbWidth", "thumb_width", Kind.COUNT),
        Wire("ThumbHeight", "thumb_height", Kind.COUNT),
        Wire("ThumbFormat", "thumb_format", Kind.TEXT),
        Wire("ThumbDownloadFlag", "thumb_download_flag", Kind.CHOICE, choices=(DOWNLOAD_FLAG,)),
    )


_ALL = (Text, Face, Location, Custom, Image, Sound, File, Video)
BUILDERS: dict[str, type[Element]] = {builder.MSG_TYPE: builder for builder in _ALL}


def from_wire(element: object) -> Element:
    """An element given as JSON (``{"MsgType": ..., "MsgContent": {...}}``), checked."""
    if not isinstance(element, Mapping):
        raise ElementError(_("An element must be a JSON object with MsgType and MsgContent."))
    unknown = sorted(str(key) for key in element if key not in ("MsgType", "MsgContent"))
    if unknown:
        raise ElementError(
            _("An element has MsgType and MsgContent only, not %(fields)s.")
            % {"fields": ", ".join(unknown)}
        )
    msg_type = element.get("MsgType")
    builder = BUILDERS.get(msg_type) if isinstance(msg_type, str) else None
    if builder is None:
        raise not_one_of("MsgType", tuple(BUILDERS), msg_type)
    return builder.from_content(element.get("MsgContent"))
