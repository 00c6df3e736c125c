"""seclog's direct OTLP span encoder writes exactly what the SDK's encoder would."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common._internal.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from seclog_core._otlp import encode_span_batch

_ATTRIBUTES = {
    "user.name": "alice@example.com",
    "text.unicode": "Grüße \u2603 \U0001f512",
    "text.empty": "",
    "seclog.sequence": 7,
    "big": 2**63 - 1,
    "negative": -42,
    "zero": 0,
    "ratio": 0.25,
    "flag": True,
    "off": False,
    "list.str": ["a", "b"],
    "list.int": [1, -2, 3],
    "long": "x" * 300,
}


def _spans() -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    remote = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0x00F067AA0BA902B7,
        is_remote=True,
        trace_flags=TraceFlags(1),
        trace_state=TraceState([("vendor", "value"), ("other", "x")]),
    )
    for resource in (
        Resource.create({"service.name": "shop", "deployment.environment": "prod"}),
        Resource({"service.name": "other"}, schema_url="https://opentelemetry.io/schemas/1.21.0"),
    ):
        provider = TracerProvider(
            resource=resource,
            shutdown_on_exit=False,
            span_limits=SpanLimits(max_span_attributes=20, max_events=3, max_links=1),
        )
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        scoped = provider.get_tracer("seclog", "1.0", schema_url="https://example.com/s")
        bare = provider.get_tracer("plain")
        # seclog's own short span per event: one attribute, one span event.
        own = scoped.start_span(
            "security.authn_login_fail",
            kind=SpanKind.INTERNAL,
            start_time=1_700_000_000_123_456_789,
            attributes={"security.event": "authn_login_fail"},
        )
        own.add_event("security.authn_login_fail", _ATTRIBUTES, 1_700_000_000_123_456_789)
        own.end(1_700_000_000_123_999_999)
        # A request span under a remote parent, with a status, links and dropped items.
        with bare.start_as_current_span(
            "request",
            context=set_span_in_context(NonRecordingSpan(remote)),
            kind=SpanKind.SERVER,
            links=[Link(remote, {"why": "retry"}), Link(remote)],
        ) as span:
            for n in range(5):
                span.add_event(f"e{n}", {"n": n})
            span.add_event("")  # no name, no attributes
            span.set_attributes({f"a{n}": n for n in range(25)})
            span.set_status(Status(StatusCode.ERROR, "it broke"))
        with bare.start_as_current_span("child", kind=SpanKind.CLIENT) as child:
            child.set_status(StatusCode.OK)
        for kind in (SpanKind.PRODUCER, SpanKind.CONSUMER):
            bare.start_span("", kind=kind).end()
    return list(exporter.get_finished_spans())


def test_fast_span_encoding_is_byte_for_byte_the_sdk_encoding() -> None:
    """Every span, event, link, status, resource, scope and value type: the SDK's bytes."""
    batch = _spans()
    ours = encode_span_batch(batch)
    reference = encode_spans(batch)
    assert ExportTraceServiceRequest.FromString(ours) == reference
    assert ours == reference.SerializeToString()
    assert len(reference.resource_spans) == 2


def test_a_span_value_the_fast_path_does_not_know_falls_back_to_the_sdk() -> None:
    """Text that is not valid UTF-8 takes the SDK's path, whatever that path does with it."""
    provider = TracerProvider(shutdown_on_exit=False)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    span = provider.get_tracer("t").start_span("s", attributes={"good": "ok"})
    span.add_event("e", {"bad": "\ud800"})
    span.end()
    batch = list(exporter.get_finished_spans())
    expected = encode_spans(batch)
    assert ExportTraceServiceRequest.FromString(encode_span_batch(batch)) == expected
