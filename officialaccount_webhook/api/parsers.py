"""The recall endpoint's body: JSON, of a size a recall can have, parsed without a 500.

DRF reads a body straight from the request's stream, past Django's
``DATA_UPLOAD_MAX_MEMORY_SIZE``, and its JSON parser lets a ``RecursionError`` (deeply nested
arrays) through as a 500.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

# 100 MsgKeys of 128 characters, an account ID and a 100-byte reason, escaped, fit in 64 KiB.
MAX_RECALL_BODY_BYTES = 64 * 1024


class BoundedJSONParser(JSONParser):
    """UTF-8 JSON of at most :data:`MAX_RECALL_BODY_BYTES`; what it cannot parse is a 400.

    UTF-8 whatever the Content-Type's charset says (RFC 8259 requires it between systems):
    decoding with any codec named there would also run bytes-to-bytes ones, such as
    ``bz2_codec``, which expand a small body without bound.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        raw = stream.read(MAX_RECALL_BODY_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_RECALL_BODY_BYTES:
            raise ParseError(
                _("The body is over %(limit)d bytes.") % {"limit": MAX_RECALL_BODY_BYTES}
            )
        try:
            return json.loads(raw.decode("utf-8-sig"), parse_constant=json.strict_constant)
        except (ValueError, RecursionError) as exc:
            problem = _("JSON parse error - %(error)s") % {"error": type(exc).__name__}
            raise ParseError(problem) from None
