"""seclog's own failures: counted, reported once, never raised into the app."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from types import TracebackType

__all__ = ["failure_counts", "guarded", "report_failure"]

logger = logging.getLogger("seclog")
_lock = threading.Lock()
_counts: Counter[str] = Counter()


def report_failure(where: str, exc: BaseException | None = None) -> None:
    """Count a failure inside seclog; log the first of each kind through the ``seclog`` logger."""
    try:
        with _lock:
            _counts[where] += 1
            first = _counts[where] == 1
        if first:
            logger.warning(
                "seclog: internal failure in %s (%s); further failures of this kind are "
                "counted, not logged",
                where,
                type(exc).__name__ if exc else "no exception",
            )
    except Exception:  # noqa: S110 - reporting must never be the thing that breaks the app
        pass


def failure_counts() -> dict[str, int]:
    """A snapshot of seclog's internal failure counters, by where they happened."""
    with _lock:
        return dict(_counts)


class _Guard:
    """``guarded``'s context manager: a plain class, as it runs on every request and event
    (a generator-based one costs a generator and two resumptions per use)."""

    __slots__ = ("where",)

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if kind is None or not issubclass(kind, Exception):
            return False  # BaseException (KeyboardInterrupt, SystemExit) goes on
        report_failure(self.where, exc)
        return True


def guarded(where: str) -> _Guard:
    """Run a block of seclog's own code; an exception in it is counted, never raised.

    ``with guarded("django.receiver.login"): ...`` is the one construct for "never
    raise into the app": the failure is reported under ``where`` and the host's code
    goes on as if seclog were not there.
    """
    return _Guard(where)
