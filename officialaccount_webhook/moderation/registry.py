"""Which hooks answer each before-command: the dotted paths of ``MODERATION_HOOKS`` first, in
their order, then the functions decorated with :func:`hook`, in the order they were imported."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from django.utils.module_loading import import_string

from .commands import BEFORE_COMMANDS
from .decisions import Decision
from .events import HookEvent

Hook = Callable[[HookEvent], Decision]
_H = TypeVar("_H", bound=Hook)


class HookNotLoaded(Exception):
    """A path of ``MODERATION_HOOKS`` that cannot be imported, or names no function."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path} could not be loaded: {problem}")
        self.path = path


_decorated: dict[str, list[Hook]] = {command: [] for command in BEFORE_COMMANDS}


def hook(*command_names: str) -> Callable[[_H], _H]:
    """Register the decorated function for these before-commands (all three when none is
    named). Its module must be imported for it to count: from an ``AppConfig.ready``, say."""
    names = command_names or BEFORE_COMMANDS
    unknown = [name for name in names if name not in BEFORE_COMMANDS]
    if unknown:
        raise ValueError(f"not before-commands: {unknown}; known: {list(BEFORE_COMMANDS)}")

    def register(function: _H) -> _H:
        for name in names:
            if function not in _decorated[name]:
                _decorated[name].append(function)
        return function

    return register


def unregister(function: Hook) -> None:
    """Forget a decorated hook (for tests, and for a project replacing a shipped one)."""
    for hooks in _decorated.values():
        if function in hooks:
            hooks.remove(function)


def hooks_for(command: str) -> list[Hook]:
    """The hooks for ``command``, in the order they run. Raises :class:`HookNotLoaded` for a
    path that cannot be imported (moderation answers that with the fallback)."""
    from ..conf import get_settings

    paths = get_settings().moderation.hooks.get(command, ())
    return [*_imported(tuple(paths)), *_decorated.get(command, ())]


@lru_cache(maxsize=64)
def _imported(paths: tuple[str, ...]) -> tuple[Hook, ...]:
    # Imported once per list of paths: a path that fails raises each time it is asked for
    # (lru_cache keeps no exception), and check E004 names it at start-up.
    hooks = []
    for path in paths:
        try:
            function = import_string(path)
        except Exception as exc:  # ImportError, or whatever the module raised on import
            raise HookNotLoaded(path, f"{type(exc).__name__}: {exc}") from exc
        if not callable(function):
            raise HookNotLoaded(path, "it is not callable")
        hooks.append(function)
    return tuple(hooks)


def hook_name(function: Hook) -> str:
    """A hook's dotted name, as records and logs show it."""
    module = getattr(function, "__module__", None) or "?"
    name = getattr(function, "__qualname__", None) or type(function).__qualname__
    return f"{module}.{name}"
