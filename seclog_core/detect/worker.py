"""Detection off the request path: one bounded queue and background thread per engine.

The request thread only appends what detection needs; seclog's thread counts it
in the state backend (SQLite, Redis, memory) and emits the alerts. A full queue
drops the item and counts ``detect.queue_full``. :func:`drain` waits, bounded,
until every queued item is handled, so alerts go out before telemetry is flushed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from .._work_queue import DEFAULT_QUEUE_SIZE, DRAIN_TIMEOUT, WorkQueue, drain_all

__all__ = ["DEFAULT_QUEUE_SIZE", "DRAIN_TIMEOUT", "DetectionQueue", "drain"]

T = TypeVar("T")


class DetectionQueue(WorkQueue[T]):
    """Items handed to ``handle`` on one daemon thread, in order; a full queue drops."""

    def __init__(
        self, handle: Callable[[T], object], *, maxsize: int = DEFAULT_QUEUE_SIZE, name: str
    ) -> None:
        super().__init__(
            handle, maxsize=maxsize, name=name, full_failure="detect.queue_full", where="detect"
        )


def _is_detection(queue: WorkQueue[Any]) -> bool:
    return isinstance(queue, DetectionQueue)


def drain(timeout: float = DRAIN_TIMEOUT) -> bool:
    """Wait (at most ``timeout`` seconds in all) until every detector queue is handled.

    Alerts of events already emitted are then out. Called before every flush and
    at shutdown; tests asserting an alert right after a request call it (the
    ``security_events`` capture does). True when nothing is left pending.
    """
    return drain_all(timeout, only=_is_detection)
