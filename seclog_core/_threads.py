"""Bounded waits at flush and exit: calls abandoned at a deadline, never a hung exit."""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial

__all__ = ["prepare_bounded_exit", "run_bounded"]


class _Helpers:
    """Daemon threads started ahead of time: at interpreter exit no new thread may start."""

    def __init__(self, count: int) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self.count = count
        for _ in range(count):
            threading.Thread(target=self._serve, name="seclog-exit", daemon=True).start()

    def _serve(self) -> None:
        while True:
            self.jobs.get()()


_helpers: _Helpers | None = None
_prepared_fork = False


def prepare_bounded_exit(helpers: int = 3) -> None:
    """Start the helper threads :func:`run_bounded` uses at exit (and again in a fork child)."""
    global _helpers, _prepared_fork
    if _helpers is None or _helpers.count < helpers:
        _helpers = _Helpers(helpers)
        if hasattr(os, "register_at_fork") and not _prepared_fork:
            _prepared_fork = True
            os.register_at_fork(after_in_child=_reset_helpers_in_child)


def _reset_helpers_in_child() -> None:
    global _helpers
    if _helpers is not None:
        _helpers = _Helpers(_helpers.count)


def run_bounded(calls: Sequence[Callable[[], object]], timeout: float) -> bool:
    """Run ``calls`` in parallel on daemon threads; True if all returned truthy within ``timeout``.

    A call still running at the deadline is abandoned (its thread dies with the process).
    """
    results: list[bool] = []
    done = threading.Condition()

    def run(call: Callable[[], object]) -> None:
        try:
            outcome = call()
            ok = outcome is None or bool(outcome)
        except Exception:
            ok = False
        with done:
            results.append(ok)
            done.notify_all()

    for call in calls:
        try:
            threading.Thread(target=run, args=(call,), daemon=True).start()
        except RuntimeError:  # the interpreter is finalizing: hand it to a ready helper
            if _helpers is not None:
                _helpers.jobs.put(partial(run, call))
            else:
                run(call)
    deadline = time.monotonic() + timeout
    with done:
        while len(results) < len(calls):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            done.wait(remaining)
        return all(results)
