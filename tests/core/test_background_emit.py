"""Events handled on seclog's own thread when export runs in the background anyway.

With batch processors (seclog's own, the SDK's ``Batch*Processor``) the request
thread only builds and scrubs the facts; flood control, seclog's span, the
sequence number and MAC, the log record and the detectors run in order on one
thread per pipeline. With a synchronous processor nothing changes: the record is
exported when ``emit`` returns.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from seclog_core import _otel_compat as compat
from seclog_core.context import RequestContext, request_context
from seclog_core.events import SecurityEvent
from seclog_core.pipeline import EVENT_GATHER, Pipeline, new_pipeline, settle
from tests.support.otlp import otlp_receiver

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Batched:
    """A pipeline whose providers export through batch processors into memory."""

    pipeline: Pipeline
    logs: InMemoryLogRecordExporter
    spans: InMemorySpanExporter
    logger_provider: LoggerProvider
    tracer_provider: TracerProvider

    def delivered(self) -> list[Any]:
        """Everything handed over so far, after seclog's thread and the batches are done."""
        assert settle()
        self.logger_provider.force_flush()
        self.tracer_provider.force_flush()
        return [item.log_record for item in self.logs.get_finished_logs()]


@pytest.fixture
def batched() -> Iterator[Batched]:
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(logs, schedule_delay_millis=50)
    )
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(BatchSpanProcessor(spans, schedule_delay_millis=50))
    meter_provider = MeterProvider(shutdown_on_exit=False)
    pipe = new_pipeline(
        logger_provider=logger_provider,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        detector_state="process",
        integrity_key="k" * 32,
        flood_limit=10_000,  # these tests count every event, none summarized
    )
    try:
        yield Batched(pipe, logs, spans, logger_provider, tracer_provider)
    finally:
        settle()
        logger_provider.shutdown()
        tracer_provider.shutdown()
        meter_provider.shutdown()


class _Held:
    """An observer that holds seclog's thread until released (to see what waits on it)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.threads: list[str] = []

    def __call__(self, event: SecurityEvent, _pipeline: Pipeline) -> None:
        self.threads.append(threading.current_thread().name)
        self.entered.set()
        assert self.release.wait(10)


def test_batch_providers_hand_events_to_seclogs_thread(batched: Batched) -> None:
    """The caller gets the scrubbed event back at once; the record is made on seclog's thread."""
    held = _Held()
    batched.pipeline.add_observer(held)
    event = batched.pipeline.emit(
        "authn_login_fail", {"user.name": "ann", "password": "hunter2hunter2"}
    )
    assert event is not None and event.attributes["password"] == "[REDACTED]"
    assert held.entered.wait(5)
    assert batched.logs.get_finished_logs() == ()  # seclog's thread is still holding it
    held.release.set()
    records = batched.delivered()
    assert [r.event_name for r in records] == ["security.authn_login_fail"]
    assert records[0].attributes["password"] == "[REDACTED]"
    assert held.threads == ["seclog-events"]


def test_synchronous_processors_keep_events_inline() -> None:
    """With a SimpleLogRecordProcessor (tests, console) the record is out when emit returns."""
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    pipe = new_pipeline(
        logger_provider=logger_provider,
        tracer_provider=tracer_provider,
        meter_provider=MeterProvider(shutdown_on_exit=False),
    )
    assert pipe._work is None
    pipe.emit("authz_fail", {"security.reason": "forbidden"})
    assert [item.log_record.event_name for item in logs.get_finished_logs()] == [
        "security.authz_fail"
    ]


def test_which_providers_count_as_background() -> None:
    """Only processors known to export on their own thread let events leave the caller's."""
    batch_logs = LoggerProvider(shutdown_on_exit=False)
    batch_logs.add_log_record_processor(BatchLogRecordProcessor(InMemoryLogRecordExporter()))
    simple_logs = LoggerProvider(shutdown_on_exit=False)
    simple_logs.add_log_record_processor(SimpleLogRecordProcessor(InMemoryLogRecordExporter()))
    batch_spans = TracerProvider(shutdown_on_exit=False)
    batch_spans.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))

    class AppProvider(LoggerProvider):
        pass

    assert compat.exports_in_background(batch_logs, batch_spans)
    assert compat.exports_in_background(LoggerProvider(shutdown_on_exit=False), TracerProvider())
    assert compat.exports_in_background(trace.NoOpTracerProvider())
    assert not compat.exports_in_background(simple_logs, batch_spans)
    assert not compat.exports_in_background(AppProvider(shutdown_on_exit=False))
    assert not compat.exports_in_background(object())
    for provider in (batch_logs, simple_logs, batch_spans):
        provider.shutdown()


def test_order_and_integrity_hold_across_threads(batched: Batched) -> None:
    """Events from many threads leave in sequence order, each signed, none lost."""

    def burst(worker: int) -> None:
        for n in range(150):
            batched.pipeline.emit("authz_fail", {"security.reason": f"w{worker}-{n}"})

    threads = [threading.Thread(target=burst, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    records = batched.delivered()
    sequences = [r.attributes["seclog.sequence"] for r in records]
    assert len(records) == 600
    assert sequences == sorted(sequences) and len(set(sequences)) == 600
    for worker in range(4):
        mine = [r.attributes["security.reason"] for r in records if f"w{worker}-" in str(r.body)]
        assert mine == [f"w{worker}-{n}" for n in range(150)]  # each thread's own order
    assert all(r.attributes["seclog.mac"] for r in records)


def test_the_request_span_ends_after_its_last_event(batched: Batched) -> None:
    """Ending the request while its events still wait for seclog's thread loses none of
    them from the request's one span, and the span still ends."""
    held = _Held()
    batched.pipeline.add_observer(held)
    with request_context(client_address="192.0.2.30", path="/login") as ctx:
        ctx.pipeline = batched.pipeline
        batched.pipeline.emit("authn_login_fail", {"user.name": "bo"})
        assert held.entered.wait(5)
        batched.pipeline.emit("authz_fail", {"security.reason": "forbidden"})
        batched.pipeline.emit("excess_rate_limit_exceeded", {"security.reason": "rate_limit"})
    held.release.set()
    records = batched.delivered()
    spans = batched.spans.get_finished_spans()
    requests = [s for s in spans if s.name == "security.request"]
    assert len(requests) == 1
    assert [e.name for e in requests[0].events] == [
        "security.authn_login_fail",
        "security.authz_fail",
        "security.excess_rate_limit_exceeded",
    ]
    trace_id = requests[0].context.trace_id
    assert {r.trace_id for r in records} == {trace_id}


def test_the_apps_span_gets_its_event_on_the_request_thread(batched: Batched) -> None:
    """When the app traces, the span event lands while its span is open, and the record
    carries that span's ids even though it is made after the span ended."""
    held = _Held()
    batched.pipeline.add_observer(held)
    tracer = batched.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("GET /admin") as app_span:
        batched.pipeline.emit("authz_fail", {"security.reason": "forbidden"})
    ids = app_span.get_span_context()
    assert held.entered.wait(5)
    held.release.set()
    records = batched.delivered()
    spans = {s.name: s for s in batched.spans.get_finished_spans()}
    assert [e.name for e in spans["GET /admin"].events] == ["security.authz_fail"]
    assert "security.request" not in spans
    assert (records[0].trace_id, records[0].span_id) == (ids.trace_id, ids.span_id)


def test_a_full_queue_handles_events_inline_and_loses_none(
    batched: Batched, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When seclog's thread falls behind by a whole queue, the caller does the work itself."""
    work = batched.pipeline._work
    assert work is not None
    monkeypatch.setattr(work, "maxsize", 5)
    held = _Held()
    batched.pipeline.add_observer(held)
    batched.pipeline.emit("authz_fail", {"security.reason": "first"})
    assert held.entered.wait(5)
    for n in range(5):
        batched.pipeline.emit("authz_fail", {"security.reason": f"queued-{n}"})
    caller = threading.current_thread().name
    held.release.set()  # from here the observer returns at once, on whichever thread
    for n in range(3):
        batched.pipeline.emit("authz_fail", {"security.reason": f"overflow-{n}"})
    records = batched.delivered()
    assert len(records) == 9
    assert caller in held.threads  # some events were handled on the caller's thread
    sequences = [r.attributes["seclog.sequence"] for r in records]
    assert sequences == sorted(sequences)


def test_seclogs_thread_never_calls_back_into_the_app(batched: Batched) -> None:
    """Late request facts are read on the request's thread only (framework objects are
    not thread-safe); detectors on seclog's thread see them as plain values."""
    seen: list[str] = []

    def refresh(ctx: RequestContext) -> None:
        seen.append(threading.current_thread().name)
        ctx.user_name = "carol"

    observed: list[str | None] = []

    def observer(event: SecurityEvent, _pipeline: Pipeline) -> None:
        from seclog_core.context import current_request_context

        bound = current_request_context()
        observed.append(bound.user_name if bound is not None else None)

    batched.pipeline.add_observer(observer)
    with request_context(client_address="192.0.2.31") as ctx:
        ctx.pipeline = batched.pipeline
        ctx.refresh = refresh
        batched.pipeline.emit("authz_fail", {"security.reason": "forbidden"})
    records = batched.delivered()
    assert seen == [threading.current_thread().name]
    assert observed == ["carol"]
    assert records[0].attributes["user.name"] == "carol"


def test_an_observer_emitting_on_seclogs_thread_does_not_wait_for_itself(
    batched: Batched,
) -> None:
    """An alert emitted while seclog's thread handles an event is handled right there."""
    emitted: list[SecurityEvent | None] = []

    def observer(event: SecurityEvent, pipe: Pipeline) -> None:
        if event.type.name == "authz_fail":
            emitted.append(pipe.emit("authz_admin", {"security.reason": "follow-up"}))
            assert settle(1.0)  # a flush from here returns instead of waiting for itself

    batched.pipeline.add_observer(observer)
    batched.pipeline.emit("authz_fail", {"security.reason": "forbidden"})
    names = [r.event_name for r in batched.delivered()]
    assert names == ["security.authz_fail", "security.authz_admin"]
    assert emitted and emitted[0] is not None


def test_events_emitted_just_before_exit_are_delivered() -> None:
    """A process that emits and exits at once (seclog's own providers, events in the
    background) still delivers every event: the exit hook drains seclog's thread."""
    script = (
        "import seclog_core as seclog\n"
        "from seclog_core.pipeline import get_pipeline\n"
        "assert get_pipeline()._work is not None, 'not in the background'\n"
        "for n in range(200):\n"
        "    seclog.emit('authz_fail', reason=f'exit-{n}')\n"
    )
    with otlp_receiver() as receiver:
        env = {
            **os.environ,
            **receiver.env("grpc"),
            "SECLOG_LOCAL_SINK": "none",
            "SECLOG_DETECTOR_STATE": "process",
            "SECLOG_FLOOD_LIMIT": "1000",
            "PYTHONPATH": str(ROOT),
        }
        subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
        assert receiver.collected.wait_for(lambda c: len(c.security_logs()) >= 200, 10)
        reasons = [log.attributes["security.reason"] for log in receiver.collected.security_logs()]
    assert sorted(reasons) == sorted(f"exit-{n}" for n in range(200))


def test_a_child_forked_while_seclogs_thread_sends_still_emits(
    batched: Batched, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fork (gunicorn --preload) taken while seclog's thread is inside a send leaves
    the child free to emit: nothing it inherited stays locked."""
    import json
    import warnings

    from seclog_core.emitter import Emitter

    inside = threading.Event()
    release = threading.Event()
    send = Emitter.emit_log

    def slow_send(self: Emitter, *args: Any) -> None:
        inside.set()
        assert release.wait(10)
        send(self, *args)

    monkeypatch.setattr(Emitter, "emit_log", slow_send)
    batched.pipeline.emit("authz_fail", {"security.reason": "parent"})
    assert inside.wait(5)  # seclog's thread holds the pipeline's lock now
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: on purpose
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        result: dict[str, object] = {}
        try:
            release.set()  # the child's copy of slow_send must not wait either
            got: list[str] = []
            batched.pipeline.add_observer(lambda event, _p: got.append(event.type.name))
            batched.pipeline.emit("authz_admin", {"security.reason": "child"})
            result = {"settled": settle(3.0), "got": got}
        except BaseException as exc:
            result = {"error": repr(exc)}
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    release.set()
    os.close(write)
    with os.fdopen(read) as out:
        result = json.loads(out.read() or "{}")
    os.waitpid(pid, 0)
    assert result == {"settled": True, "got": ["authz_admin"]}


def test_a_burst_gathers_before_seclogs_thread_starts_on_it(batched: Batched) -> None:
    """An idle thread lets a burst gather (queueing wakes nobody) and then handles it in
    one go, in order; a flush starts it at once instead of waiting the gather out."""
    seen: list[tuple[str, str]] = []
    batched.pipeline.add_observer(
        lambda event, _pipe: seen.append((threading.current_thread().name, event.type.name))
    )
    batched.pipeline.emit("authz_fail", {"security.reason": "warm-up"})  # handled at once
    assert settle()
    seen.clear()
    time.sleep(0.1)  # seclog's thread is idle
    work = batched.pipeline._work
    assert work is not None
    work._gather = 30.0  # long enough that only the flush can end it
    for n in range(10):
        batched.pipeline.emit("authz_fail", {"security.reason": f"r{n}"})
        time.sleep(0.001)  # the request thread lets go of the GIL: seclog's could run
    assert seen == []  # the whole burst was queued before seclog's thread took any of it
    started = time.monotonic()
    assert settle()
    assert time.monotonic() - started < 10  # the flush did not wait the gather out
    assert seen == [("seclog-events", "authz_fail")] * 10
    # Left alone, a burst is handled once the gather is over.
    work._gather = EVENT_GATHER
    time.sleep(0.1)
    batched.pipeline.emit("authn_login_fail", {"user.name": "cy"})
    deadline = time.monotonic() + 5
    while len(seen) < 11 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert seen[-1] == ("seclog-events", "authn_login_fail")


def test_spans_keep_the_requests_times_whenever_seclogs_thread_gets_to_them(
    batched: Batched,
) -> None:
    """The request's span ends when the request did, and an event's own short span marks
    the instant of the event, however long the events waited for seclog's thread."""
    held = _Held()
    batched.pipeline.add_observer(held)
    batched.pipeline.emit("authz_fail", {"security.reason": "forbidden"})  # holds the thread
    assert held.entered.wait(5)
    with request_context(client_address="192.0.2.31", path="/login") as ctx:
        ctx.pipeline = batched.pipeline
        batched.pipeline.emit("authn_login_fail", {"user.name": "di"})
    request_over = time.time_ns()
    time.sleep(0.3)  # the events wait
    held.release.set()
    batched.delivered()
    spans = batched.spans.get_finished_spans()
    request = next(s for s in spans if s.name == "security.request")
    assert request.start_time <= request.end_time <= request_over
    short = next(s for s in spans if s.name == "security.authz_fail")
    assert short.end_time == short.start_time
