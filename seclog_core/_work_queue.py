"""Work off the request path: a bounded queue and one daemon thread of seclog's own.

The request thread (or the event loop) only appends an item; the thread takes
the items in order and handles them (the event pipeline's OpenTelemetry work,
the detectors' counting). Appending never waits: ``SimpleQueue.put`` takes no
lock a caller could wait on, and a full queue refuses the item (the caller
decides: detection drops and counts it, the event pipeline handles it inline).
The thread starts at the first item (in the child again after ``os.fork``).
:meth:`WorkQueue.drain` waits, bounded, until every item queued so far is handled.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ._internal import report_failure

__all__ = ["DEFAULT_QUEUE_SIZE", "DRAIN_TIMEOUT", "WorkQueue", "drain_all"]

# Items waiting for the worker; beyond this, put() refuses new ones.
DEFAULT_QUEUE_SIZE = 4096
# How long a flush, a shutdown or a test capture waits for pending work.
DRAIN_TIMEOUT = 5.0

# How often an idle worker checks whether its pipeline still exists.
_IDLE_CHECK = 10.0

T = TypeVar("T")


class _Marker:
    """Put in the queue by a drain; the worker sets it when it gets there."""

    __slots__ = ("reached",)

    def __init__(self) -> None:
        self.reached = threading.Event()


class WorkQueue(Generic[T]):
    """Items handed to ``handle`` on one daemon thread, in the order they were put."""

    def __init__(
        self,
        handle: Callable[[T], object],
        *,
        maxsize: int = DEFAULT_QUEUE_SIZE,
        name: str,
        full_failure: str | None = None,
        where: str = "work_queue",
        handle_many: Callable[[list[T]], object] | None = None,
        batch_max: int = 256,
        gather: float = 0.0,
        gather_max: int = 512,
    ) -> None:
        self._handle = handle
        # With ``gather``, a worker that was idle lets a burst gather for that long (or
        # until ``gather_max`` items wait, or a drain) before it starts: queueing then
        # wakes nobody, and the work runs after the burst instead of fighting the
        # emitting thread for the GIL during it (as the SDK's batch processors do).
        self._gather = max(0.0, gather)
        self._gather_max = max(1, gather_max)
        self._wake = threading.Event()
        # With ``handle_many``, the worker hands over what already waits behind the first
        # item (at most ``batch_max``), so a handler can share one transaction between them.
        self._handle_many = handle_many
        self._batch_max = max(1, batch_max)
        self.maxsize = max(1, maxsize)
        self._name = name
        self._full_failure = full_failure  # reported when put() refuses an item
        self._where = where  # names this queue's failures
        self._queue: queue.SimpleQueue[T | _Marker] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._worker_ident: int | None = None
        self._starting = threading.Lock()
        # Held while an item is handled: a fork waits (bounded) until the worker is
        # between items, so no lock it takes while handling is copied held.
        self._busy = threading.Lock()
        # Set while someone waits in drain(): a handler that waits on purpose stops waiting.
        self.draining = threading.Event()
        self.dropped = 0
        self._in_hand = 0  # items the worker took and is handling
        self.handled = 0  # items handled so far (written by the worker only)
        _queues.add(self)

    def put(self, item: T) -> bool:
        """Queue ``item`` without ever waiting; False (counted) when the queue is full."""
        size = self._queue.qsize()
        if size >= self.maxsize:
            self.dropped += 1
            if self._full_failure is not None:
                report_failure(self._full_failure)
            return False
        self._queue.put(item)
        if self._thread is None:
            self._start()
        if size + 1 >= self._gather_max:
            self._wake.set()
        return True

    def pending(self) -> int:
        """Items not yet handled: queued, or taken and being handled (approximate while
        others put). What a handler queues elsewhere is queued before its items count
        as handled, so a settle that sees nothing pending anywhere is really done."""
        return self._queue.qsize() + self._in_hand

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
        self.draining.set()
        while True:
            if self._thread is None:
                self._start()
            marker = _Marker()
            self._queue.put(marker)
            self._wake.set()  # a gathering worker starts now
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
            report_failure(f"{self._where}.worker_start", exc)
        finally:
            self._starting.release()

    def _after_fork(self) -> None:
        # The parent's thread does not exist here and its queue's lock may be held:
        # the child starts empty (the parent handles what it queued) and lazily.
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._worker_ident = None
        self._starting = threading.Lock()
        self._busy = threading.Lock()
        self._in_hand = 0
        self._wake = threading.Event()


_queues: weakref.WeakSet[WorkQueue[Any]] = weakref.WeakSet()


def _work(owner_ref: weakref.ref[WorkQueue[Any]], items: queue.SimpleQueue[Any]) -> None:
    """The worker: handle items in order until the queue's owner is gone."""
    owner = owner_ref()
    if owner is None:
        return
    owner._worker_ident = threading.get_ident()
    del owner
    # The first item is handled at once: what it starts lazily (the exporters' threads,
    # the detection thread) then exists before a quick script's exit, which can start
    # no thread, drains the rest.
    idle = False
    while True:
        try:
            item = items.get(timeout=_IDLE_CHECK)
        except queue.Empty:
            if owner_ref() is None:
                return
            continue
        if isinstance(item, _Marker):
            _reached(owner_ref, item, items)
            idle = not items.qsize()
            continue
        owner = owner_ref()
        if owner is None:
            return
        owner._in_hand = 1  # taken: still pending for a settle that looks now
        if idle and owner._gather:
            # Cleared first: a put or a drain from here on wakes it; one before shows below.
            owner._wake.clear()
            if items.qsize() + 1 < owner._gather_max and not owner.draining.is_set():
                owner._wake.wait(owner._gather)
        batch, marker = _collect(owner, item, items)
        owner._in_hand = len(batch)
        try:
            with owner._busy:
                if owner._handle_many is not None:
                    owner._handle_many(batch)
                else:
                    owner._handle(item)
        except Exception as exc:  # the handler reports its own; this is a last guard
            report_failure(f"{owner._where}.worker", exc)
        owner.handled += len(batch)
        owner._in_hand = 0
        idle = not items.qsize()
        if marker is not None:
            _reached(owner_ref, marker, items)
        # An item may reach back to its owner: an idle worker holds neither.
        del owner, item, batch


def _reached(
    owner_ref: weakref.ref[WorkQueue[Any]], marker: _Marker, items: queue.SimpleQueue[Any]
) -> None:
    owner = owner_ref()
    if owner is not None and not items.qsize():
        owner.draining.clear()  # nobody is left waiting behind this marker
    marker.reached.set()


def _collect(
    owner: WorkQueue[Any], first: Any, items: queue.SimpleQueue[Any]
) -> tuple[list[Any], _Marker | None]:
    """The items to hand over with ``first``, and a drain's marker found behind them."""
    batch = [first]
    if owner._handle_many is None:
        return batch, None
    while len(batch) < owner._batch_max:
        try:
            found = items.get_nowait()
        except queue.Empty:
            break
        if isinstance(found, _Marker):
            return batch, found  # someone waits: hand over now, then tell them
        batch.append(found)
    return batch, None


def drain_all(timeout: float = DRAIN_TIMEOUT) -> bool:
    """Wait (at most ``timeout`` seconds in all) until every queue has handled what was
    queued so far; True when nothing is left pending."""
    deadline = time.monotonic() + max(0.0, timeout)
    done = True
    for pending in list(_queues):
        done = pending.drain(max(0.0, deadline - time.monotonic())) and done
    return done


# How long a fork waits for a worker to finish the item it is handling.
_FORK_WAIT = 1.0
_held_for_fork: list[threading.Lock] = []


def _before_fork() -> None:
    deadline = time.monotonic() + _FORK_WAIT
    for pending in list(_queues):
        if pending.on_worker():
            continue  # forking from a handler: it cannot wait for itself
        busy = pending._busy
        if busy.acquire(timeout=max(0.0, deadline - time.monotonic())):
            _held_for_fork.append(busy)


def _after_fork_in_parent() -> None:
    while _held_for_fork:
        _held_for_fork.pop().release()


def _reset_after_fork() -> None:
    _held_for_fork.clear()
    for pending in list(_queues):
        pending._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_reset_after_fork,
    )


def handled_total() -> int:
    """Items handled so far by every queue but the asking worker's (see pending_total)."""
    return sum(q.handled for q in list(_queues) if not q.on_worker())


def pending_total() -> int:
    """Items queued and not yet handled (approximate while others put), in every queue
    but the one whose worker is asking (it cannot wait for itself)."""
    return sum(pending.pending() for pending in list(_queues) if not pending.on_worker())
