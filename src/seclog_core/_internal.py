"""seclog's own failures: counted, reported once, never raised into the app."""

from __future__ import annotations

import logging
import threading
from collections import Counter

__all__ = ["failure_counts", "report_failure"]

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
