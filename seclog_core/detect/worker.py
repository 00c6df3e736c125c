"""Detection off the request path: one bounded queue and background thread per engine.

The request thread only appends what detection needs; seclog's thread counts it
in the state backend (SQLite, Redis, memory) and emits the alerts; what queued up
meanwhile is counted together, in one state transaction. A full queue
drops the item and counts ``detect.queue_full``. :func:`drain` waits, bounded,
until every queued item is handled, so alerts go out before telemetry is flushed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .._work_queue import DEFAULT_QUEUE_SIZE, DRAIN_TIMEOUT, WorkQueue

__all__ = [
    "BATCH_MAX",
    "DEFAULT_QUEUE_SIZE",
    "DRAIN_TIMEOUT",
    "DetectionQueue",
    "drain",
]

T = TypeVar("T")

# The detection thread never waits for more events: what queued up while it counted
# the last batch (a burst, an attack) is counted together in one state transaction, at
# most this many at a time (other workers wait for the shared file while one counts).
BATCH_MAX = 64


class DetectionQueue(WorkQueue[T]):
    """Items handed to ``handle`` on one daemon thread, in order; a full queue drops."""

    def __init__(
        self,
        handle: Callable[[T], object],
        *,
        maxsize: int = DEFAULT_QUEUE_SIZE,
        name: str,
        handle_many: Callable[[list[T]], object] | None = None,
    ) -> None:
        super().__init__(
            handle,
            maxsize=maxsize,
            name=name,
            full_failure="detect.queue_full",
            where="detect",
            handle_many=handle_many,
            batch_max=BATCH_MAX,
        )


def drain(timeout: float = DRAIN_TIMEOUT) -> bool:
    """Wait (at most ``timeout`` seconds in all) until every event emitted so far has been
    counted by the detectors and their alerts are out.

    Alerts of events already emitted are then out. Called before every flush and
    at shutdown; tests asserting an alert right after a request call it (the
    ``security_events`` capture does). True when nothing is left pending.
    """
    from ..pipeline import settle

    # Events reach the detectors through the pipeline's own thread: settle both.
    return settle(timeout)
