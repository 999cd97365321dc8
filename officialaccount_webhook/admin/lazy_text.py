"""Translated text with values put in when it is shown, not when its module is imported.

``_("... %(limit)d ...") % {...}`` in a form's class body runs once, at import, in whatever
language is active then: every user would read that help text in the project's language.
``interpolated`` waits for the text to be shown, in the language of the request.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.utils.functional import Promise, lazy


def _interpolate(message: str | Promise, values: Mapping[str, object]) -> str:
    return str(message) % values


interpolated = lazy(_interpolate, str)
"""``interpolated(_("At most %(limit)d bytes."), {"limit": 150})``: ``message % values``, lazily."""
