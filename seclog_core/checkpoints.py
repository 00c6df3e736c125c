"""Signed checkpoints: records that let ``seclog verify`` see a deleted tail.

With an integrity key, each pipeline writes a ``security.sys_checkpoint`` record
every ``every_events`` records or, when records were written, every
``every_seconds`` seconds (``security.reason=checkpoint_periodic``), and one
when seclog flushes or shuts down (``checkpoint_flush``, the *closing*
checkpoint). A checkpoint is an ordinary signed record: its sequence number
states the last sequence of the stream so far and its MAC makes that statement
unforgeable. A signed stream whose newest record is not a closing checkpoint
either lost its tail or belongs to a process that is still running (or died
without shutting down); ``seclog verify`` reports it.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Callable

from .context import RequestContext
from .events import SecurityEvent
from .integrity import CHECKPOINT_CLOSING, CHECKPOINT_PERIODIC
from .pipeline import Pipeline, register_component

__all__ = [
    "DEFAULT_EVERY_EVENTS",
    "DEFAULT_EVERY_SECONDS",
    "Checkpointer",
    "install",
    "installed",
]

DEFAULT_EVERY_EVENTS = 1000
DEFAULT_EVERY_SECONDS = 60.0
_EVENT_TYPE = "sys_checkpoint"
# The checkpointer of each pipeline, so a second install replaces the first.
_installed: weakref.WeakKeyDictionary[Pipeline, Checkpointer] = weakref.WeakKeyDictionary()


class Checkpointer:
    """Writes one pipeline's checkpoints; an observer of its events and one of its flushers."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        every_events: int = DEFAULT_EVERY_EVENTS,
        every_seconds: float = DEFAULT_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if every_events < 1 or every_seconds <= 0:
            raise ValueError("checkpoints need every_events >= 1 and every_seconds > 0")
        # Weak: the pipeline holds this checkpointer (observer, flusher), not the reverse.
        self._pipeline_ref = weakref.ref(pipeline)
        self._every_events = every_events
        self._every_seconds = every_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._stream = ""
        self._checkpointed = 0  # sequence of the last checkpoint of any kind
        self._closed = 0  # sequence of the last closing checkpoint
        self._last_time = clock()
        self.enabled = True
        _live.add(self)

    def _pipeline(self) -> Pipeline:
        pipeline = self._pipeline_ref()
        if pipeline is None:
            raise RuntimeError("the pipeline is gone")  # only a stray call after collection
        return pipeline

    def _sync(self) -> int:
        # A forked child starts a new stream: start counting afresh.
        sequencer = self._pipeline().sequencer
        if sequencer.stream_id != self._stream:
            self._stream, self._checkpointed, self._closed = sequencer.stream_id, 0, 0
            self._last_time = self._clock()
        return sequencer.sequence

    def observe(self, event: SecurityEvent, pipeline: Pipeline) -> None:
        """After each event: write a periodic checkpoint when one is due."""
        if not self.enabled or event.type.name == _EVENT_TYPE:
            return
        with self._lock:
            sequence = self._sync()
            since = sequence - self._checkpointed
            due = since >= self._every_events or (
                since > 0 and self._clock() - self._last_time >= self._every_seconds
            )
            if not due:
                return
            # Claimed (another thread will not write it too); the checkpoint takes sequence + 1.
            self._checkpointed = sequence + 1
            self._last_time = self._clock()
        self._write(CHECKPOINT_PERIODIC)

    def flush(self) -> None:
        """At flush and shutdown: close the stream unless its newest record already does."""
        if not self.enabled:
            return
        with self._lock:
            sequence = self._sync()
            if sequence == 0 or sequence == self._closed:
                return
        written = self._write(CHECKPOINT_CLOSING)
        if written:
            with self._lock:
                self._closed = self._checkpointed = self._pipeline().sequencer.sequence
                self._last_time = self._clock()

    def _write(self, reason: str) -> bool:
        # A context of its own: a checkpoint written during a request is not that request's.
        event = self._pipeline().emit(
            _EVENT_TYPE, {"security.reason": reason}, context=RequestContext()
        )
        return event is not None


def install(
    pipeline: Pipeline,
    *,
    every_events: int = DEFAULT_EVERY_EVENTS,
    every_seconds: float = DEFAULT_EVERY_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Checkpointer | None:
    """Give ``pipeline`` checkpoints (signed pipelines only); replaces earlier settings."""
    if not pipeline.settings.integrity_key:
        return None
    previous = _installed.get(pipeline)
    if previous is not None:
        previous.enabled = False
    checkpointer = Checkpointer(
        pipeline, every_events=every_events, every_seconds=every_seconds, clock=clock
    )
    _installed[pipeline] = checkpointer
    pipeline.add_observer(checkpointer.observe)
    pipeline.add_flusher(checkpointer.flush)
    return checkpointer


def installed(pipeline: Pipeline) -> Checkpointer | None:
    """The checkpointer of ``pipeline`` (None for an unsigned pipeline)."""
    return _installed.get(pipeline)


_live: weakref.WeakSet[Checkpointer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would never be released in the child.
    for checkpointer in list(_live):
        checkpointer._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _install_default(pipeline: Pipeline) -> None:
    install(pipeline)


register_component(_install_default)
