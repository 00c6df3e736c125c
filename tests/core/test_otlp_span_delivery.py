"""seclog's own span processor: spans reach the collector, bounded and counted when it is away."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from seclog_core import failure_counts
from seclog_core.export import _span_processor
from seclog_core.senders import Outcome
from seclog_core.span_delivery import SpanDelivery
from tests.support.otlp import otlp_receiver


class _Sender:
    """Records the span names of every payload; answers ``outcome`` (changeable)."""

    def __init__(self, outcome: Outcome = Outcome.OK) -> None:
        self.outcome = outcome
        self.sent: list[list[str]] = []
        self.attempts = 0
        self.gate = threading.Event()
        self.gate.set()
        self.lock = threading.Lock()

    def __call__(self, payload: bytes, timeout: float) -> Outcome:
        self.gate.wait(timeout)
        with self.lock:
            self.attempts += 1
            outcome = self.outcome
            if outcome is Outcome.OK:
                request = ExportTraceServiceRequest.FromString(payload)
                self.sent.append(
                    [
                        span.name
                        for resource in request.resource_spans
                        for scope in resource.scope_spans
                        for span in scope.spans
                    ]
                )
        return outcome

    def names(self) -> list[str]:
        with self.lock:
            return [name for batch in self.sent for name in batch]


def _tracer(processor: SpanDelivery) -> object:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(processor)
    return provider.get_tracer("seclog")


def _end_spans(tracer: object, names: list[str]) -> None:
    for name in names:
        tracer.start_span(name).end()  # type: ignore[attr-defined]


def test_spans_are_sent_in_batches_in_order() -> None:
    sender = _Sender()
    processor = SpanDelivery(InMemorySpanExporter(), sender, max_batch_size=3, schedule_delay=0.01)
    names = [f"s{n}" for n in range(10)]
    _end_spans(_tracer(processor), names)
    assert processor.force_flush(5000) is True
    assert sender.names() == names
    assert max(len(batch) for batch in sender.sent) <= 3
    processor.shutdown()
    assert not processor.lost


def test_while_the_collector_is_away_spans_wait_and_go_out_in_order_when_it_answers() -> None:
    sender = _Sender(Outcome.RETRY)
    processor = SpanDelivery(InMemorySpanExporter(), sender, max_batch_size=2, schedule_delay=0.01)
    tracer = _tracer(processor)
    _end_spans(tracer, ["a", "b", "c"])
    assert processor.force_flush(2000) is False  # held in memory, not delivered
    assert sender.attempts >= 1 and not sender.names()
    sender.outcome = Outcome.OK
    _end_spans(tracer, ["d"])
    deadline = time.monotonic() + 10
    while sender.names() != ["a", "b", "c", "d"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sender.names() == ["a", "b", "c", "d"]
    assert processor.force_flush(2000) is True
    processor.shutdown()
    assert not processor.lost


def test_what_waits_for_the_collector_is_bounded_and_every_drop_is_counted() -> None:
    before = failure_counts().get("spans.lost.collector_unreachable", 0)
    sender = _Sender(Outcome.RETRY)
    processor = SpanDelivery(
        InMemorySpanExporter(),
        sender,
        max_batch_size=1,
        schedule_delay=0.01,
        max_held_bytes=400,  # room for a few encoded spans only
    )
    _end_spans(_tracer(processor), [f"span-{n}" for n in range(30)])
    processor.force_flush(3000)
    dropped = processor.lost["collector_unreachable"]
    assert dropped > 0
    assert processor._held_bytes <= 400
    processor.shutdown()
    assert dropped + processor.lost["shutdown"] == 30  # every span accounted for
    assert failure_counts().get("spans.lost.collector_unreachable", 0) > before


def test_a_full_queue_refuses_spans_without_waiting_and_counts_them() -> None:
    sender = _Sender()
    sender.gate.clear()  # the collector hangs: the worker is stuck in its first send
    processor = SpanDelivery(
        InMemorySpanExporter(),
        sender,
        max_queue_size=5,
        max_batch_size=1,
        schedule_delay=0.01,
        send_timeout=30.0,
        shutdown_timeout=0.3,
    )
    tracer = _tracer(processor)
    _end_spans(tracer, ["first"])
    deadline = time.monotonic() + 5
    while not processor._busy and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    _end_spans(tracer, [f"s{n}" for n in range(20)])
    assert time.monotonic() - started < 1.0  # ending a span never waits on the network
    assert processor.lost["queue_full"] == 15
    started = time.monotonic()
    processor.shutdown()  # bounded although the send hangs
    assert time.monotonic() - started < 2.0
    assert processor.lost["shutdown"] == 5
    sender.gate.set()


def test_a_refused_batch_is_counted() -> None:
    sender = _Sender(Outcome.REJECT)
    processor = SpanDelivery(InMemorySpanExporter(), sender, schedule_delay=0.01)
    _end_spans(_tracer(processor), ["a", "b"])
    processor.force_flush(2000)
    processor.shutdown()
    assert processor.lost["rejected"] == 2


def test_an_exporter_seclog_cannot_drive_keeps_the_sdks_processor() -> None:
    processor = _span_processor(InMemorySpanExporter())
    assert isinstance(processor, BatchSpanProcessor)
    processor.shutdown()


APP = textwrap.dedent(
    """
    import seclog_core as seclog
    from seclog_core import export

    seclog.configure()
    seclog.login_failed(username="bob", reason="bad_credentials")
    (owned,) = [p for p in export._owned() if type(p).__name__.endswith("TracerProvider")]
    print(type(owned._active_span_processor._span_processors[0]).__name__, flush=True)
    export.shutdown()
    """
)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_seclogs_own_spans_arrive_at_a_real_collector(protocol: str) -> None:
    """No tracing in the app: seclog's span for the event arrives, in the log record's trace."""
    with otlp_receiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
        env.update(receiver.env(protocol))
        env["SECLOG_LOCAL_SINK"] = "none"
        done = subprocess.run(
            [sys.executable, "-c", APP],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == ["SpanDelivery"]
        collected = receiver.collected
        assert collected.wait_for(lambda c: len(c.security_logs()) >= 1)
        assert collected.wait_for(lambda c: len(c.spans) >= 1)
        (log,) = collected.security_logs()
        (span,) = [s for s in collected.spans if s.name == "security.authn_login_fail"]
        assert span.trace_id == log.trace_id and span.span_id == log.span_id
        assert [name for name, _ in span.events] == ["security.authn_login_fail"]
        assert span.events[0][1]["user.name"] == "bob"
