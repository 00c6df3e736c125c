"""Emission: the one place where a SecurityEvent touches OpenTelemetry.

An event becomes a LogRecord (``event_name="security.<type>"``, explicit
timestamp, severity, body, attributes, the trace context), a span event of the
same name, and one increment of the ``security.events`` counter, by type and
outcome only so its cardinality stays bounded.

Which span: the app's active recording span when it traces; else, inside a
request, ONE span of seclog's own per request, opened at the request's first
event and ended when the request finishes (all its events, and the alerts they
trigger, share its trace id); outside a request, a short span per event.
"""

from __future__ import annotations

import contextlib
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import SpanKind

from ._internal import failure_counts
from .events import AttributeValue, SecurityEvent
from .export import Providers

__all__ = ["Emitter", "RequestSpan", "TraceTarget"]

_SCOPE = "seclog"


def _failure_observations(options: CallbackOptions) -> Iterable[Observation]:
    return [
        Observation(count, {"seclog.where": where}) for where, count in failure_counts().items()
    ]


class _EventCounts:
    """Totals of ``security.events`` by type and outcome, read when metrics are collected.

    A dict increment on the request thread instead of the SDK's synchronous
    ``Counter.add`` (which costs as much as a span event); the observable
    counter reports the same monotonic sums.
    """

    __slots__ = ("_counts", "_lock")

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def add(self, event_type: str, outcome: str) -> None:
        key = (event_type, outcome)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def observe(self, options: CallbackOptions) -> Iterable[Observation]:
        with self._lock:
            items = list(self._counts.items())
        return [
            Observation(count, {"security.event": kind, "security.outcome": outcome})
            for (kind, outcome), count in items
        ]


# One counts table (and one instrument) per meter provider: emitters of several
# pipelines that share a provider must not register "security.events" twice.
_counts_lock = threading.Lock()
_counts_by_provider: weakref.WeakKeyDictionary[object, _EventCounts] = weakref.WeakKeyDictionary()


def _event_counts(meter_provider: object, meter: Meter) -> _EventCounts:
    with _counts_lock:
        try:
            counts = _counts_by_provider.get(meter_provider)
        except TypeError:  # a provider that cannot be weakly referenced
            counts = None
        if counts is None:
            counts = _EventCounts()
            meter.create_observable_counter(
                "security.events",
                callbacks=[counts.observe],
                unit="{event}",
                description="Security events emitted by seclog",
            )
            meter.create_observable_counter(
                "seclog.internal.failures",
                callbacks=[_failure_observations],
                unit="{failure}",
                description="Failures inside seclog, by where they happened (never raised)",
            )
            with contextlib.suppress(TypeError):
                _counts_by_provider[meter_provider] = counts
        return counts


class TraceTarget:
    """Where one event goes in the trace view, decided before its log record is sequenced."""

    __slots__ = ("context", "own", "span_id", "trace_id")

    def __init__(self, context: otel_context.Context | None, own: Any, span: Any) -> None:
        self.context = context  # what the log record carries (None: the active context)
        self.own = own  # a short span of seclog's own to end after the event, or None
        span_context = span.get_span_context()
        self.trace_id: int = span_context.trace_id
        self.span_id: int = span_context.span_id


class RequestSpan:
    """seclog's one span for a request, as the request's context holds it.

    The span itself is opened at the request's first event and ended after its last,
    both on the thread that handles the request's events (seclog's own thread when
    export runs in the background), in the order they were queued: so ending it from
    the request thread never cuts off an event still on its way.
    """

    __slots__ = ("_closed", "_defer", "_end_requested", "_ended_at", "span")

    def __init__(self, defer: Callable[[Callable[[], None]], None]) -> None:
        self.span: Any = None  # the SDK span, once the first event was handled
        self._defer = defer  # runs a callable where the request's events are handled
        self._end_requested = False
        self._ended_at: int | None = None
        self._closed = False

    def is_recording(self) -> bool:
        """True until the request asked for the end (what ``RequestContext.end_span`` reads)."""
        return not self._end_requested

    def end(self) -> None:
        """End the span after the events already queued for it (idempotent)."""
        if self._end_requested:
            return
        self._end_requested = True
        self._ended_at = time.time_ns()  # the request's end, whenever the span is closed
        self._defer(self._close)

    def trace_context(self) -> otel_context.Context | None:
        """A context carrying the span (for alerts to join its trace), once it exists."""
        span = self.span
        return trace.set_span_in_context(span) if span is not None else None

    def _close(self) -> None:
        self._closed = True
        span = self.span
        if span is not None and span.is_recording():
            span.end(end_time=self._ended_at)


class Emitter:
    """Sends events through one set of providers."""

    __slots__ = ("_counter", "_logger", "_own_spans", "_span_events", "_tracer")

    def __init__(self, providers: Providers, *, span_events: bool = True, own_spans: bool = True):
        from . import __version__

        self._logger = providers.logger_provider.get_logger(_SCOPE, __version__)
        self._tracer = providers.tracer_provider.get_tracer(_SCOPE, __version__)
        meter = providers.meter_provider.get_meter(_SCOPE, __version__)
        self._counter = _event_counts(providers.meter_provider, meter)
        self._span_events = span_events
        self._own_spans = own_spans

    def active_target(self, event: SecurityEvent) -> TraceTarget | None:
        """On the emitting thread: the target when the event joins the active span (the
        app traces, or seclog's own spans are off), its span event added now; None when
        the event goes into a span of seclog's own (see :meth:`own_target`)."""
        span = trace.get_current_span()
        recording = span.is_recording()
        if self._span_events and self._own_spans and not recording:
            return None
        if self._span_events and recording:
            span.add_event(event.name, event.attributes, event.timestamp_ns)
        # The context is taken now: the log record may be emitted on another thread.
        return TraceTarget(otel_context.get_current(), None, span)

    def own_target(
        self,
        event: SecurityEvent,
        request: RequestSpan | None,
        parent: otel_context.Context | None = None,
    ) -> TraceTarget:
        """The event in a span of seclog's own: the request's one span, else the span of
        the event that caused it (``parent``, e.g. an alert), else a short span of its own.

        Runs where the request's events are handled, in their order.
        """
        if request is not None:
            own = request.span
            if own is None and not request._closed:
                # One span per request, opened here at its first event, ended by its end().
                own = request.span = self._tracer.start_span(
                    "security.request", kind=SpanKind.INTERNAL, start_time=event.timestamp_ns
                )
            if own is not None:
                if own.is_recording():
                    own.add_event(event.name, event.attributes, event.timestamp_ns)
                    return TraceTarget(trace.set_span_in_context(own), None, own)
                # The request is over (a late alert from a worker): a short span in its trace.
                parent = trace.set_span_in_context(own)
        if parent is not None:
            joined = trace.get_current_span(parent)
            if joined.is_recording():
                joined.add_event(event.name, event.attributes, event.timestamp_ns)
                return TraceTarget(parent, None, joined)
            if not joined.get_span_context().is_valid:
                parent = None
        # Outside a request: a short span of its own, never made current (nothing else
        # runs inside it; the log record gets its context directly).
        own = self._tracer.start_span(
            event.name,
            context=parent,
            kind=SpanKind.INTERNAL,
            start_time=event.timestamp_ns,
            attributes={"security.event": event.type.name},
        )
        own.add_event(event.name, event.attributes, event.timestamp_ns)
        return TraceTarget(trace.set_span_in_context(own), own, own)

    def emit_log(
        self,
        event: SecurityEvent,
        attributes: Mapping[str, AttributeValue],
        target: TraceTarget,
    ) -> None:
        """The log record; called by the pipeline in sequence order."""
        severity = event.type.severity
        self._logger.emit(
            timestamp=event.timestamp_ns,
            observed_timestamp=event.timestamp_ns,
            context=target.context if target.context is not None else otel_context.get_current(),
            severity_number=severity.number,
            severity_text=severity.text,
            body=event.body,
            attributes=attributes,
            event_name=event.name,
        )

    def finish(self, event: SecurityEvent, target: TraceTarget) -> None:
        """End the event's own short span (if any) and count it."""
        if target.own is not None:
            # The instant the event happened, however long it waited for seclog's thread.
            target.own.end(end_time=event.timestamp_ns)
        self._counter.add(event.type.name, event.outcome)
