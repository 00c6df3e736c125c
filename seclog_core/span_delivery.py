"""seclog's batch span processor for the providers it owns: direct OTLP encoding.

The SDK's batch span processor hands each batch to its exporter, which builds one
protobuf object per span, event, attribute and value before serializing (about
45 µs a span, on a thread that shares the GIL with the app). When seclog owns the
tracer provider and its exporter is one seclog can drive (the SDK's OTLP/gRPC or
OTLP/HTTP exporter of a known release, see :mod:`seclog_core.senders`), this
processor queues finished spans, encodes a batch straight to the wire bytes
(:func:`seclog_core._otlp.encode_span_batch`) and sends it with one short attempt.
Anything else keeps the SDK's processor.

Spans carry the trace that joins an event to its request; the event of record is
the log record, which the durable log processor spools to disk. So spans are not
spooled: while the collector is away, encoded batches wait in memory, up to a byte
bound, and are sent in order when it answers again. Memory stays bounded (a full
queue, a full hold, a refusal or the exit deadline drop spans), and every drop is
counted (:attr:`SpanDelivery.lost`) and reported through seclog's failure counters.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, deque
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from . import _otel_compat as compat
from ._internal import guarded, report_failure
from ._otlp import encode_span_batch
from .senders import Outcome, Sender

__all__ = ["SpanDelivery"]


class SpanDelivery(SpanProcessor):
    """Queues finished spans; one thread of seclog's own encodes and sends them in batches."""

    def __init__(
        self,
        exporter: Any,
        sender: Sender,
        *,
        max_queue_size: int = 16384,
        max_batch_size: int = 1024,
        schedule_delay: float = 0.2,
        send_timeout: float = 2.0,
        shutdown_timeout: float = 1.5,
        max_held_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self._exporter = exporter
        self._send = sender
        self._max_queue = max_queue_size
        self._max_batch = max_batch_size
        self._delay = schedule_delay
        self._send_timeout = send_timeout
        self._shutdown_timeout = shutdown_timeout
        self._max_held = max_held_bytes
        self._init_state()

    def _init_state(self) -> None:
        self._queue: deque[ReadableSpan] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._closed = False
        self._flush_requested = False
        self._busy = False
        # Encoded batches waiting for the collector, oldest first, and their size.
        self._held: deque[tuple[int, bytes]] = deque()
        self._held_bytes = 0
        self._failures = 0
        self._retry_at = 0.0
        self._deadline = 0.0
        self.lost: Counter[str] = Counter()

    # --- the thread that ends the span -------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        """Bounded, non-blocking hand-off of a finished span."""
        context = span.context
        if context is not None and not context.trace_flags.sampled:
            return
        if self._pid != os.getpid():
            self._init_state()  # a fork child: the parent's thread and queue are not ours
        with self._cond:
            if self._closed:
                self.lost["shutdown"] += 1
                return
            if len(self._queue) >= self._max_queue:
                self.lost["queue_full"] += 1
                return
            self._queue.append(span)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="seclog-spans", daemon=True)
                self._thread.start()
            if len(self._queue) == self._max_batch:
                self._cond.notify()

    # --- the delivery thread -------------------------------------------------------------

    def _run(self) -> None:
        compat.suppress_instrumentation()
        reported: Counter[str] = Counter()
        while True:
            with self._cond:
                if not (self._queue or self._closing or self._flush_requested):
                    self._cond.wait(self._delay)
                size = min(self._max_batch, len(self._queue))
                batch = [self._queue.popleft() for _ in range(size)]
                self._busy = bool(batch)
            with guarded("spans.worker"):
                if self._held and time.monotonic() >= self._retry_at:
                    self._resend_held()
                if batch:
                    self._deliver(batch)
                with self._cond:
                    lost = list(self.lost.items())
                _report_new_losses(lost, reported)
            with self._cond:
                self._busy = False
                if not self._queue:
                    self._flush_requested = False
                    self._cond.notify_all()
                if self._closing and not self._queue:
                    return

    def _deliver(self, batch: list[ReadableSpan]) -> None:
        try:
            payload = encode_span_batch(batch)
        except Exception as exc:
            report_failure("spans.encode", exc)
            self._count("encode_error", len(batch))
            return
        if self._held or (self._failures and time.monotonic() < self._retry_at):
            self._hold(len(batch), payload)  # behind the held ones: order is kept
            return
        outcome = self._attempt(payload)
        if outcome is Outcome.OK:
            self._failures = 0
        elif outcome is Outcome.REJECT:
            self._count("rejected", len(batch))
        else:
            self._down()
            self._hold(len(batch), payload)

    def _resend_held(self) -> None:
        while self._held:
            count, payload = self._held[0]
            outcome = self._attempt(payload)
            if outcome is Outcome.RETRY:
                self._down()
                return
            self._held.popleft()
            self._held_bytes -= len(payload)
            if outcome is Outcome.REJECT:
                self._count("rejected", count)
            else:
                self._failures = 0

    def _attempt(self, payload: bytes) -> Outcome:
        """One send; a sender that raises (an SDK rename, a bug) is a failed delivery."""
        timeout = self._send_timeout
        if self._closing:
            timeout = max(0.05, min(timeout, self._deadline - time.monotonic() - 0.2))
        try:
            return self._send(payload, timeout)
        except Exception as exc:
            report_failure("spans.send", exc)
            return Outcome.RETRY

    def _down(self) -> None:
        self._failures += 1
        self._retry_at = time.monotonic() + min(0.25 * 2 ** min(self._failures, 5), 5.0)

    def _hold(self, count: int, payload: bytes) -> None:
        if len(payload) > self._max_held:
            self._count("collector_unreachable", count)
            return
        while self._held and self._held_bytes + len(payload) > self._max_held:
            oldest, dropped = self._held.popleft()
            self._held_bytes -= len(dropped)
            self._count("collector_unreachable", oldest)
        self._held.append((count, payload))
        self._held_bytes += len(payload)

    def _count(self, reason: str, count: int) -> None:
        with self._cond:
            self.lost[reason] += count

    # --- flush and shutdown --------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Send everything queued; True when every span so far reached the collector in time."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                return not self._queue and not self._held
            self._flush_requested = True
            self._cond.notify_all()
            while self._queue or self._busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return not self._held

    def shutdown(self) -> None:
        """Bounded: send what it can before the deadline; what is left is counted as lost."""
        with self._cond:
            if self._closed:
                return
            self._closed = self._closing = True
            self._deadline = time.monotonic() + self._shutdown_timeout
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(max(0.0, self._deadline - time.monotonic()))
        with self._cond:
            # A worker still sending at the deadline keeps its in-flight batch (it may
            # yet arrive); what waits behind it is counted.
            left = len(self._queue) + sum(count for count, _ in list(self._held))
            self._queue.clear()
        if left:
            self._count("shutdown", left)
            report_failure("spans.lost.shutdown")
        try:
            self._exporter.shutdown()
        except Exception as exc:
            report_failure("spans.exporter_shutdown", exc)


def _report_new_losses(lost: list[tuple[str, int]], reported: Counter[str]) -> None:
    """Each kind of span loss counted once more in seclog's failure counters (logged once)."""
    for reason, count in lost:
        if count > reported[reason]:
            reported[reason] = count
            report_failure(f"spans.lost.{reason}")
