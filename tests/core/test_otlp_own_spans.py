"""seclog's light root spans export exactly what the SDK's spans would."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from seclog_core._otlp import encode_span_batch
from seclog_core._own_spans import LightSpan, LightTracer
from seclog_core.export import _OwnTracerProvider
from seclog_core.senders import Outcome
from seclog_core.span_delivery import SpanDelivery


class _Ids(RandomIdGenerator):
    """The same ids in the same order for both providers."""

    def __init__(self) -> None:
        self._n = itertools.count(1)

    def generate_span_id(self) -> int:
        return 0x1000 + next(self._n)

    def generate_trace_id(self) -> int:
        return 0xABC0000 + next(self._n)


class _Collect(SpanDelivery):
    def __init__(self) -> None:
        super().__init__(InMemorySpanExporter(), lambda payload, timeout: Outcome.OK)
        self.ended: list[Any] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.ended.append(span)


_RESOURCE = Resource({"service.name": "shop"})
_ATTRIBUTES = {"user.name": "bob", "security.outcome": "failure", "seclog.sequence": 3}


def _play(tracer: Any, events: int = 1) -> None:
    """What seclog does with its own spans: a short span per event, one span per request."""
    short = tracer.start_span(
        "security.authn_login_fail",
        kind=SpanKind.INTERNAL,
        start_time=1_700_000_000_000_000_001,
        attributes={"security.event": "authn_login_fail"},
    )
    short.add_event("security.authn_login_fail", _ATTRIBUTES, 1_700_000_000_000_000_002)
    short.end(1_700_000_000_000_000_003)
    request = tracer.start_span("security.request", start_time=1_700_000_000_000_000_004)
    for n in range(events):
        request.add_event(f"security.e{n}", {**_ATTRIBUTES, "n": n}, 1_700_000_000_000_000_010 + n)
    request.end(1_700_000_000_000_001_000)


def _both(limits: SpanLimits | None = None, events: int = 1) -> tuple[list[Any], list[Any]]:
    sdk_exporter = InMemorySpanExporter()
    sdk = TracerProvider(
        resource=_RESOURCE, id_generator=_Ids(), span_limits=limits, shutdown_on_exit=False
    )
    sdk.add_span_processor(SimpleSpanProcessor(sdk_exporter))
    ours = _OwnTracerProvider(
        resource=_RESOURCE, id_generator=_Ids(), span_limits=limits, shutdown_on_exit=False
    )
    collect = _Collect()
    ours.add_span_processor(collect)
    tracer = ours.get_tracer("seclog", "1.0")
    assert isinstance(tracer, LightTracer)
    _play(sdk.get_tracer("seclog", "1.0"), events)
    _play(tracer, events)
    assert all(isinstance(span, LightSpan) for span in collect.ended)
    return list(sdk_exporter.get_finished_spans()), collect.ended


def test_light_spans_encode_byte_for_byte_as_the_sdks_spans() -> None:
    sdk_spans, light_spans = _both()
    expected = encode_spans(sdk_spans).SerializeToString()
    assert encode_span_batch(light_spans) == expected
    assert encode_spans(light_spans).SerializeToString() == expected  # the fallback too


def test_light_spans_keep_the_sdks_event_limit_and_count_what_they_drop() -> None:
    sdk_spans, light_spans = _both(SpanLimits(max_events=4, max_event_attributes=2), events=9)
    assert light_spans[1].dropped_events == 5
    assert encode_span_batch(light_spans) == encode_spans(sdk_spans).SerializeToString()


def test_a_span_with_a_parent_is_the_sdks_own() -> None:
    provider = _OwnTracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(_Collect())
    tracer = provider.get_tracer("seclog")
    parent = SpanContext(0xAB, 0xCD, is_remote=True, trace_flags=TraceFlags(1))
    child = tracer.start_span("alert", context=trace.set_span_in_context(NonRecordingSpan(parent)))
    assert not isinstance(child, LightSpan)
    assert child.get_span_context().trace_id == 0xAB


@pytest.mark.parametrize(
    "setup",
    ["sampler", "length_limit", "second_processor"],
)
def test_anything_that_could_tell_a_light_span_apart_keeps_the_sdks_tracer(setup: str) -> None:
    kwargs: dict[str, Any] = {"shutdown_on_exit": False}
    if setup == "sampler":
        kwargs["sampler"] = ALWAYS_OFF
    if setup == "length_limit":
        kwargs["span_limits"] = SpanLimits(max_attribute_length=16)
    provider = _OwnTracerProvider(**kwargs)
    provider.add_span_processor(_Collect())
    if setup == "second_processor":
        provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    assert not isinstance(provider.get_tracer("seclog"), LightTracer)


def test_an_ended_light_span_records_nothing_more() -> None:
    provider = _OwnTracerProvider(shutdown_on_exit=False)
    collect = _Collect()
    provider.add_span_processor(collect)
    span = provider.get_tracer("seclog").start_span("s")
    assert span.is_recording()
    span.end()
    span.add_event("late")
    span.set_attribute("late", 1)
    span.end()
    assert not span.is_recording()
    assert len(collect.ended) == 1 and not collect.ended[0].events
    assert not collect.ended[0].attributes
