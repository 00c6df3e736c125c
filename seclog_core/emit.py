"""Emission: the one place where a SecurityEvent touches OpenTelemetry.

An event becomes a LogRecord (``event_name="security.<type>"``, explicit
timestamp, severity, body, attributes, the active trace context), a span event
of the same name on the active recording span (or on a short span of seclog's
own when none is recording), and one increment of the ``security.events``
counter, by type and outcome only so its cardinality stays bounded.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import SpanKind

from ._internal import failure_counts
from .events import AttributeValue, SecurityEvent
from .export import Providers

__all__ = ["Emitter"]

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
            with contextlib.suppress(TypeError):
                _counts_by_provider[meter_provider] = counts
        return counts


class Emitter:
    """Sends events through one set of providers."""

    __slots__ = ("_counter", "_logger", "_own_spans", "_span_events", "_tracer")

    def __init__(self, providers: Providers, *, span_events: bool = True, own_spans: bool = True):
        from . import __version__

        self._logger = providers.logger_provider.get_logger(_SCOPE, __version__)
        self._tracer = providers.tracer_provider.get_tracer(_SCOPE, __version__)
        meter = providers.meter_provider.get_meter(_SCOPE, __version__)
        self._counter = _event_counts(providers.meter_provider, meter)
        meter.create_observable_counter(
            "seclog.internal.failures",
            callbacks=[_failure_observations],
            unit="{failure}",
            description="Failures inside seclog, by where they happened (never raised to the app)",
        )
        self._span_events = span_events
        self._own_spans = own_spans

    def emit_log(
        self,
        event: SecurityEvent,
        attributes: Mapping[str, AttributeValue],
        context: otel_context.Context | None = None,
    ) -> None:
        """The log record; called by the pipeline in sequence order.

        ``context`` carries seclog's own span when it opened one; otherwise the
        record joins the active context.
        """
        severity = event.type.severity
        self._logger.emit(
            timestamp=event.timestamp_ns,
            observed_timestamp=event.timestamp_ns,
            context=context if context is not None else otel_context.get_current(),
            severity_number=severity.number,
            severity_text=severity.text,
            body=event.body,
            attributes=attributes,
            event_name=event.name,
        )

    def emit(
        self,
        event: SecurityEvent,
        write_log: Callable[[otel_context.Context | None], None],
    ) -> None:
        """Span event, then ``write_log`` with the span's context, then the counter.

        ``write_log`` is the pipeline's sequenced call to :meth:`emit_log`; it gets
        the context of our own short span (when no span records) so the log record
        carries a trace and span id that the trace view can show.
        """
        span = trace.get_current_span()
        if not self._span_events:
            write_log(None)
        elif span.is_recording():
            span.add_event(event.name, event.attributes, event.timestamp_ns)
            write_log(None)
        elif self._own_spans:
            # The span is never made current: nothing else runs inside it, and the log
            # record gets its context directly (no attach/detach on the request thread).
            own = self._tracer.start_span(
                event.name,
                kind=SpanKind.INTERNAL,
                start_time=event.timestamp_ns,
                attributes={"security.event": event.type.name},
            )
            try:
                own.add_event(event.name, event.attributes, event.timestamp_ns)
                write_log(trace.set_span_in_context(own))
            finally:
                own.end()
        else:
            write_log(None)
        self._counter.add(event.type.name, event.outcome)
