"""Sending broadcasts from Django: element builders (``elements``), the message's checks
(``body``), the send and its storage (``send``), scheduled sends (``schedule``). docs/sending.md
tells how to use them."""

from .elements import (
    Custom,
    Element,
    ElementError,
    Face,
    File,
    Image,
    ImageInfo,
    Location,
    Sound,
    Text,
    Video,
    from_wire,
)
from .send import SendError, SendFailed, SentNotStored, send_message

__all__ = [
    "Custom",
    "Element",
    "ElementError",
    "Face",
    "File",
    "Image",
    "ImageInfo",
    "Location",
    "SendError",
    "SendFailed",
    "SentNotStored",
    "Sound",
    "Text",
    "Video",
    "from_wire",
    "send_message",
]
