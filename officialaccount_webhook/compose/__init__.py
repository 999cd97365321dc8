"""Sending broadcasts from Django: element builders (``elements``), the message's checks
(``body``), the send and its storage (``send``), scheduled sends (``schedule``). docs/sending.md
tells how to use them."""

from . import elements
from .elements import *  # noqa: F403  # the builders, named once in elements.__all__
from .send import SendError, SendFailed, SentNotStored, send_message

__all__ = ["SendError", "SendFailed", "SentNotStored", "send_message"]
__all__ += elements.__all__
