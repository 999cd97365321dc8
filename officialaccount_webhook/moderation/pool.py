"""A bounded set of worker threads for hooks, which never queues.

A hook the budget abandoned keeps running, and keeps its thread, until it returns: Python cannot
stop a thread. The pool therefore counts busy threads, stuck ones included, and refuses work
when all are busy (``submit`` returns None), so that the fallback answers at once instead of the
callback waiting behind a stuck hook. Threads are daemons: a stuck hook does not hold up the
process's exit.

Each job runs in a copy of its caller's context (``contextvars``): a hook's log records carry
the callback's fields (``log.callback_fields``) as the request's own do.
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from functools import partial
from typing import Any

_Job = tuple[Callable[[], Any], "Future[Any]"]


class HookPool:
    """At most ``size`` hooks running at once in this process."""

    def __init__(self, size: int, name: str = "moderation") -> None:
        self.size = size
        self._name = name
        self._free = threading.BoundedSemaphore(size)
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, function: Callable[[], Any]) -> Future[Any] | None:
        """Run ``function`` in a free worker, in a copy of the caller's context; None when none
        is free."""
        if not self._free.acquire(blocking=False):
            return None
        future: Future[Any] = Future()
        self._start_threads()
        self._jobs.put((partial(contextvars.copy_context().run, function), future))
        return future

    def _start_threads(self) -> None:
        # Started on first use, so that a forking server's workers each start their own.
        if len(self._threads) == self.size:
            return
        with self._lock:
            while len(self._threads) < self.size:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                thread.start()
                self._threads.append(thread)

    def _work(self) -> None:
        while True:
            function, future = self._jobs.get()
            try:
                if future.set_running_or_notify_cancel():
                    try:
                        future.set_result(function())
                    except BaseException as exc:  # the runner reports it, whatever it is
                        future.set_exception(exc)
            finally:
                self._free.release()


_shared: HookPool | None = None
_shared_lock = threading.Lock()


def shared_pool(size: int) -> HookPool:
    """This process's pool (``MODERATION_WORKERS``); a new one if the setting changed."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.size != size:
            _shared = HookPool(size)
        return _shared
