"""seclog's own failures: counted, reported once, never raised into the app."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def guarded(where: str) -> Iterator[None]:
    """Run a block of seclog's own code; an exception in it is counted, never raised.

    ``with guarded("django.receiver.login"): ...`` is the one construct for "never
    raise into the app": the failure is reported under ``where`` and the host's code
    goes on as if seclog were not there.
    """
    try:
        yield
    except Exception as exc:
        report_failure(where, exc)
