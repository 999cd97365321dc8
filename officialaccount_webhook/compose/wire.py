"""What every element builder shares: its fields, each checked as it is made, and written on
the wire under Tencent's names (``compose.elements`` has the builders)."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, fields
from typing import Any, ClassVar, Self

from django.utils.translation import gettext as _


class ElementError(ValueError):
    """An element or a message that Tencent would refuse; the message says why, in the active
    language (translated when raised). Tencent's field names in it (``TIMTextElem.Text``,
    ``MsgType``) stay as Tencent spells them."""


class Kind(enum.Enum):
    TEXT = "text"
    """A string, without NUL (no database stores it) or a lone surrogate (not UTF-8)."""
    COUNT = "count"
    """A whole number, 0 or more (sizes, seconds, pixels)."""
    NUMBER = "number"
    """A finite number."""
    CHOICE = "choice"
    """One of the ``Wire``'s ``choices``."""


@dataclass(frozen=True)
class Wire:
    """One field: Tencent's ``name``, the dataclass ``attr``, what it must hold."""

    name: str
    attr: str
    kind: Kind
    required: bool = True
    choices: tuple[int, ...] = ()
    bounds: tuple[float, float] = (-math.inf, math.inf)


def check_text(where: str, value: object, *, allow_empty: bool = True) -> str:
    """``value`` if it is text Tencent and the database can take, else an ``ElementError``."""
    if not isinstance(value, str):
        raise ElementError(
            _("%(where)s must be a string, not %(type)s.")
            % {"where": where, "type": type(value).__name__}
        )
    if "\x00" in value:
        raise ElementError(_("%(where)s must not contain a NUL character.") % {"where": where})
    if any("\ud800" <= character <= "\udfff" for character in value):
        raise ElementError(_("%(where)s is not valid text (a lone surrogate).") % {"where": where})
    if not allow_empty and not value:
        raise ElementError(_("%(where)s must not be empty.") % {"where": where})
    return value


def _check(where: str, wire: Wire, value: object) -> None:
    if wire.kind is Kind.TEXT:
        check_text(where, value, allow_empty=not wire.required)
        return
    # bool is an int to Python, never a number to Tencent.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ElementError(
            _("%(where)s must be a number, not %(type)s.")
            % {"where": where, "type": type(value).__name__}
        )
    if wire.kind is Kind.CHOICE and value not in wire.choices:
        raise not_one_of(where, tuple(map(str, wire.choices)), value)
    if wire.kind is Kind.COUNT and (not isinstance(value, int) or value < 0):
        raise ElementError(
            _("%(where)s must be a whole number, 0 or more, not %(value)s.")
            % {"where": where, "value": repr(value)}
        )
    low, high = wire.bounds
    if not math.isfinite(value) or not low <= value <= high:
        raise ElementError(
            _("%(where)s must be between %(low)s and %(high)s, not %(value)s.")
            % {"where": where, "low": f"{low:g}", "high": f"{high:g}", "value": repr(value)}
        )


def not_one_of(where: str, allowed: tuple[str, ...], value: object) -> ElementError:
    """The error for ``value`` at ``where``, which must be one of ``allowed``."""
    return ElementError(
        _("%(where)s must be one of %(allowed)s, not %(value)s.")
        % {"where": where, "allowed": ", ".join(allowed), "value": repr(value)}
    )


@dataclass(frozen=True)
class Wired:
    """What every element (and an image's ``ImageInfo``) shares: its fields, checked, on the
    wire under Tencent's names."""

    LABEL: ClassVar[str]
    WIRE: ClassVar[tuple[Wire, ...]]

    def __post_init__(self) -> None:
        for wire in self.WIRE:
            value = getattr(self, wire.attr)
            if wire.required or value not in ("", None):
                _check(f"{self.LABEL}.{wire.name}", wire, value)

    def content(self) -> dict[str, Any]:
        """The fields under Tencent's names; an optional one left empty is left out."""
        values = {wire.name: getattr(self, wire.attr) for wire in self.WIRE}
        return {
            wire.name: values[wire.name]
            for wire in self.WIRE
            if wire.required or values[wire.name] not in ("", None)
        }

    @classmethod
    def from_content(cls, content: object) -> Self:
        """Read the fields as Tencent names them, through the same checks."""
        build: Callable[..., Self] = cls
        return build(**cls.attributes(content))

    @classmethod
    def attributes(cls, content: object, *, also: tuple[str, ...] = ()) -> dict[str, Any]:
        """The dataclass's arguments from ``content``; ``also`` names fields read elsewhere."""
        if not isinstance(content, Mapping):
            raise ElementError(_("%(element)s must be a JSON object.") % {"element": cls.LABEL})
        names = {wire.name: wire for wire in cls.WIRE}
        unknown = sorted(str(key) for key in content if key not in names and key not in also)
        if unknown:
            raise ElementError(
                _("%(element)s has no field %(fields)s.")
                % {"element": cls.LABEL, "fields": ", ".join(unknown)}
            )
        # Missing: a field the dataclass has no default for (a UUID is made up when missing).
        optional = {item.name for item in fields(cls) if _has_default(item)}
        missing = [
            wire.name for wire in cls.WIRE if wire.name not in content and wire.attr not in optional
        ]
        if missing:
            raise ElementError(
                _("%(element)s needs %(fields)s.")
                % {"element": cls.LABEL, "fields": ", ".join(missing)}
            )
        return {names[key].attr: value for key, value in content.items() if key in names}


def _has_default(item: Field[Any]) -> bool:
    return item.default is not MISSING or item.default_factory is not MISSING


@dataclass(frozen=True)
class Element(Wired):
    MSG_TYPE: ClassVar[str]

    def as_wire(self) -> dict[str, Any]:
        """The element as ``MsgBody`` holds it."""
        return {"MsgType": self.MSG_TYPE, "MsgContent": self.content()}
