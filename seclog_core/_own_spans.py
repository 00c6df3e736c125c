"""Light spans for seclog's own tracer, when seclog owns the provider and its export.

The SDK's span is built for any caller: a sampler call, a lock, bounded attribute and
event containers that clean every value, a read-only copy at the end. seclog's own
spans (a short span per event outside a request, one span per request) carry values
seclog already cleaned, so when the provider is seclog's own, exports through
:class:`~seclog_core.span_delivery.SpanDelivery` only, samples every root span and
keeps the default value lengths, its tracer hands out :class:`LightSpan` for root
spans: the same ids, flags, events, limits and encoding, without the per-span
machinery. Any other case (a parent span, a sampler, length limits, a disabled
tracer) is the SDK's own tracer, unchanged.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from time import time_ns
from types import MappingProxyType
from typing import Any

from opentelemetry import trace
from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from . import _otel_compat as compat

__all__ = ["LightSpan", "LightTracer", "light_tracer"]

_UNSET = Status(StatusCode.UNSET)


class LightSpan(trace.Span):
    """A recording root span of seclog's own; reads like the SDK's finished span."""

    def __init__(
        self,
        tracer: LightTracer,
        name: str,
        context: SpanContext,
        kind: SpanKind,
        start_time: int,
        attributes: Mapping[str, Any] | None,
    ) -> None:
        self._tracer = tracer
        self._name = name
        self._context = context
        self._kind = kind
        self._start_time = start_time
        self._end_time: int | None = None
        self._attributes: dict[str, Any] = {}
        self._dropped_attributes = 0
        self._events: list[Event] = []
        self._dropped_events = 0
        self._status = _UNSET
        self._lock = threading.Lock()
        if attributes:
            self.set_attributes(attributes)

    # --- the API's Span ----------------------------------------------------------------

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end_time is None

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        with self._lock:
            if self._end_time is None:
                self._attributes.update(attributes)
                self._dropped_attributes += _trim(
                    self._attributes, self._tracer.max_span_attributes
                )

    def set_attribute(self, key: str, value: Any) -> None:
        self.set_attributes({key: value})

    def add_event(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
    ) -> None:
        values: Mapping[str, Any] = dict(attributes) if attributes else {}
        limit = self._tracer.max_event_attributes
        if limit is not None and len(values) > limit:
            # Rare: the SDK's bounded container keeps the newest and counts the rest.
            values = BoundedAttributes(limit, values, immutable=True)
        event = Event(name, values, time_ns() if timestamp is None else timestamp)
        with self._lock:
            if self._end_time is not None:
                return
            events = self._events
            limit = self._tracer.max_events
            if limit is not None and len(events) >= limit:
                del events[0]  # the SDK keeps the newest events
                self._dropped_events += 1
            events.append(event)

    def update_name(self, name: str) -> None:
        if self._end_time is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._end_time is not None or self._status.status_code is StatusCode.OK:
            return
        if isinstance(status, Status):
            if status.status_code is not StatusCode.UNSET:
                self._status = status
        elif status is not StatusCode.UNSET:
            self._status = Status(status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        values: dict[str, Any] = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(exception)),
            "exception.escaped": str(escaped),
        }
        values.update(attributes or {})
        self.add_event("exception", values, timestamp)

    def end(self, end_time: int | None = None) -> None:
        with self._lock:
            if self._end_time is not None:
                return
            self._end_time = time_ns() if end_time is None else end_time
        self._tracer.processor.on_end(self)

    # --- what the encoder and the span processor read (as on the SDK's ReadableSpan) ----

    @property
    def name(self) -> str:
        return self._name

    @property
    def context(self) -> SpanContext:
        return self._context

    @property
    def kind(self) -> SpanKind:
        return self._kind

    @property
    def parent(self) -> None:
        return None

    @property
    def start_time(self) -> int:
        return self._start_time

    @property
    def end_time(self) -> int | None:
        return self._end_time

    @property
    def attributes(self) -> Mapping[str, Any]:
        return MappingProxyType(self._attributes)

    @property
    def dropped_attributes(self) -> int:
        return self._dropped_attributes

    @property
    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    @property
    def dropped_events(self) -> int:
        return self._dropped_events

    @property
    def links(self) -> Sequence[trace.Link]:
        return ()

    @property
    def dropped_links(self) -> int:
        return 0

    @property
    def status(self) -> Status:
        return self._status

    @property
    def resource(self) -> Any:
        return self._tracer.resource

    @property
    def instrumentation_scope(self) -> Any:
        return self._tracer.instrumentation_scope


def _trim(values: dict[str, Any], limit: int | None) -> int:
    """Drop the oldest entries beyond ``limit`` (as the SDK's bounded attributes do)."""
    if limit is None or len(values) <= limit:
        return 0
    extra = len(values) - limit
    for key in list(values)[:extra]:
        del values[key]
    return extra


class LightTracer(trace.Tracer):
    """seclog's tracer: light root spans, the SDK's tracer for everything else."""

    def __init__(self, sdk_tracer: Any, processor: Any, limits: Any) -> None:
        self._sdk = sdk_tracer
        self.processor = processor
        self.resource = sdk_tracer.resource
        self.instrumentation_scope = compat.tracer_scope(sdk_tracer)
        self._ids = sdk_tracer.id_generator
        self.max_events: int | None = limits.max_events
        self.max_event_attributes: int | None = limits.max_event_attributes
        self.max_span_attributes: int | None = limits.max_span_attributes
        flags = TraceFlags.SAMPLED
        if getattr(self._ids, "is_trace_id_random", lambda: False)():
            flags |= getattr(TraceFlags, "RANDOM_TRACE_ID", 0)
        self._flags = TraceFlags(flags)

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Any = None,
        links: Any = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        if links or parent.is_valid or not compat.tracer_enabled(self._sdk):
            return self._sdk.start_span(  # type: ignore[no-any-return]
                name,
                context,
                kind,
                attributes,
                links,
                start_time,
                record_exception,
                set_status_on_exception,
            )
        ids = self._ids
        span_context = SpanContext(
            ids.generate_trace_id(), ids.generate_span_id(), False, self._flags
        )
        return LightSpan(
            self,
            name,
            span_context,
            kind,
            time_ns() if start_time is None else start_time,
            attributes,
        )

    @contextmanager
    def start_as_current_span(  # type: ignore[override]
        self, name: str, *args: Any, **kwargs: Any
    ) -> Iterator[trace.Span]:
        with self._sdk.start_as_current_span(name, *args, **kwargs) as span:
            yield span


def light_tracer(sdk_tracer: Any, processors: Sequence[object]) -> trace.Tracer:
    """``sdk_tracer``, or a light one when nothing can tell its root spans apart."""
    from .span_delivery import SpanDelivery

    if len(processors) != 1 or not isinstance(processors[0], SpanDelivery):
        return sdk_tracer  # type: ignore[no-any-return]
    sampler = getattr(sdk_tracer, "sampler", None)
    description = sampler.get_description() if sampler is not None else ""
    if not (
        description == "AlwaysOnSampler"
        or description.startswith("ParentBased{root:AlwaysOnSampler,")
    ):
        return sdk_tracer  # type: ignore[no-any-return]
    limits = compat.tracer_span_limits(sdk_tracer)
    if (
        limits is None
        or compat.tracer_scope(sdk_tracer) is None
        or getattr(limits, "max_attribute_length", 0) is not None
        or getattr(limits, "max_span_attribute_length", 0) is not None
    ):
        return sdk_tracer  # type: ignore[no-any-return]
    return LightTracer(sdk_tracer, processors[0], limits)
