"""Detection off the request path: a bounded queue and one background thread per engine.

The request thread (or the event loop) only appends what detection needs to a
queue; a daemon thread of seclog's own takes the items in order, counts them in
the state backend (SQLite, Redis, memory) and emits the alerts. Appending never
waits: ``SimpleQueue.put`` takes no lock a caller could wait on, and a full
queue drops the item and counts ``detect.queue_full``. The thread starts at the
first item (in the child again after ``os.fork``). :func:`drain` waits, bounded,
until every queued item is handled, so alerts go out before telemetry is flushed.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .._internal import report_failure

__all__ = ["DEFAULT_QUEUE_SIZE", "DRAIN_TIMEOUT", "DetectionQueue", "drain"]

# Items waiting for the worker; beyond this, new items are dropped and counted.
DEFAULT_QUEUE_SIZE = 4096
# How long a flush, a shutdown or a test capture waits for pending detection.
DRAIN_TIMEOUT = 5.0

# How often an idle worker checks whether its pipeline still exists.
_IDLE_CHECK = 10.0

T = TypeVar("T")


class _Marker:
    """Put in the queue by a drain; the worker sets it when it gets there."""

    __slots__ = ("reached",)

    def __init__(self) -> None:
        self.reached = threading.Event()


class DetectionQueue(Generic[T]):
    """Items handed to ``handle`` on one daemon thread, in the order they were put."""

    def __init__(
        self, handle: Callable[[T], object], *, maxsize: int = DEFAULT_QUEUE_SIZE, name: str
    ) -> None:
        self._handle = handle
        self.maxsize = max(1, maxsize)
        self._name = name
        self._queue: queue.SimpleQueue[T | _Marker] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._worker_ident: int | None = None
        self._starting = threading.Lock()
        self.dropped = 0
        _queues.add(self)

    def put(self, item: T) -> bool:
        """Queue ``item`` without ever waiting; False (counted) when the queue is full."""
        if self._queue.qsize() >= self.maxsize:
            self.dropped += 1
            report_failure("detect.queue_full")
            return False
        self._queue.put(item)
        if self._thread is None:
            self._start()
        return True

    def pending(self) -> int:
        """Items not yet taken by the worker (approximate while others put)."""
        return self._queue.qsize()

    def on_worker(self) -> bool:
        """True on this queue's worker thread (where waiting for it would deadlock)."""
        return self._worker_ident == threading.get_ident()

    def drain(self, timeout: float = DRAIN_TIMEOUT) -> bool:
        """Wait until every item queued so far is handled; False if ``timeout`` ran out."""
        if self.on_worker():
            return True  # an alert callback flushing: the worker cannot wait for itself
        if self._thread is None and not self._queue.qsize():
            return True  # nothing was ever queued in this process
        deadline = time.monotonic() + max(0.0, timeout)
        # The item being handled is no longer in the queue: a marker behind it says when
        # it is done; items queued while handling (an alert's own events) are waited for too.
        while True:
            if self._thread is None:
                self._start()
            marker = _Marker()
            self._queue.put(marker)
            if not marker.reached.wait(max(0.0, deadline - time.monotonic())):
                return False
            if not self._queue.qsize():
                return True

    def _start(self) -> None:
        # Never waits: a caller that loses the race leaves the start to the winner.
        if not self._starting.acquire(blocking=False):
            return
        try:
            if self._thread is None:
                # The thread holds the queue weakly: a dropped pipeline takes its thread along.
                thread = threading.Thread(
                    target=_work,
                    args=(weakref.ref(self), self._queue),
                    name=self._name,
                    daemon=True,
                )
                thread.start()
                self._thread = thread
        except Exception as exc:
            report_failure("detect.worker_start", exc)
        finally:
            self._starting.release()

    def _after_fork(self) -> None:
        # The parent's thread does not exist here and its queue's lock may be held:
        # the child starts empty (the parent handles what it queued) and lazily.
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._worker_ident = None
        self._starting = threading.Lock()


_queues: weakref.WeakSet[DetectionQueue[Any]] = weakref.WeakSet()


def _work(owner_ref: weakref.ref[DetectionQueue[Any]], items: queue.SimpleQueue[Any]) -> None:
    """The worker: handle items in order until the queue's owner is gone."""
    owner = owner_ref()
    if owner is None:
        return
    owner._worker_ident = threading.get_ident()
    del owner
    while True:
        try:
            item = items.get(timeout=_IDLE_CHECK)
        except queue.Empty:
            if owner_ref() is None:
                return
            continue
        if isinstance(item, _Marker):
            item.reached.set()
            continue
        owner = owner_ref()
        if owner is None:
            return
        try:
            owner._handle(item)
        except Exception as exc:  # the handler reports its own; this is a last guard
            report_failure("detect.worker", exc)
        del owner


def drain(timeout: float = DRAIN_TIMEOUT) -> bool:
    """Wait (at most ``timeout`` seconds in all) until every detector queue is handled.

    Alerts of events already emitted are then out. Called before every flush and
    at shutdown; tests asserting an alert right after a request call it (the
    ``security_events`` capture does). True when nothing is left pending.
    """
    deadline = time.monotonic() + max(0.0, timeout)
    done = True
    for pending in list(_queues):
        done = pending.drain(max(0.0, deadline - time.monotonic())) and done
    return done


def _reset_after_fork() -> None:
    for pending in list(_queues):
        pending._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
