"""Detection runs on seclog's own thread: the request thread and the event loop only queue."""

from __future__ import annotations

import gc
import json
import os
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from blockbuster import BlockBuster
from opentelemetry import trace

import seclog_core as seclog
from seclog_core import Alert, _work_queue, failure_counts
from seclog_core.context import request_context
from seclog_core.detect import drain
from seclog_core.detect.worker import DetectionQueue
from seclog_core.pipeline import new_pipeline
from seclog_core.testing import CapturedEvents, capture_security_events
from tests.core.detect.app import App
from tests.core.detect.conftest import alerts
from tests.support.telemetry import Telemetry


def _detect_failures() -> dict[str, int]:
    return {k: v for k, v in failure_counts().items() if k.startswith("detect.")}


@pytest.fixture
def buster() -> Iterator[None]:
    """BlockBuster watching seclog's modules, as in tests/asgi/test_never_blocks.py."""
    detector = BlockBuster(["seclog_core", "seclog_asgi"])
    detector.activate()
    try:
        yield
    finally:
        detector.deactivate()


def test_failed_logins_on_the_loop_with_host_state_do_no_blocking_io(
    make_app: type[App], events: CapturedEvents, tmp_path: Path, buster: None
) -> None:
    """With SQLite host state, failed logins on an asyncio loop block nothing and still alert."""
    before = _detect_failures()
    app = make_app(detector_state="host", state_dir=str(tmp_path / "state"))
    for _ in range(10):
        assert app.login("frank", client="192.0.2.77") == 401
    assert drain()
    assert _detect_failures() == before
    assert alerts(events) == ["authn_login_fail_max"]
    assert (tmp_path / "state").is_dir()  # the file was used, from the worker thread


def test_an_alert_shares_the_trace_id_of_the_event_that_triggered_it(
    telemetry: Telemetry, events: CapturedEvents, tmp_path: Path
) -> None:
    """The alert's log record carries the trace id of the failed login that crossed the line."""
    pipe = new_pipeline(detector_state="host", state_dir=str(tmp_path))
    tracer = telemetry.tracer_provider.get_tracer("app")
    for attempt in range(10):
        with (
            tracer.start_as_current_span(f"login {attempt}") as span,
            request_context(client_address="192.0.2.5") as ctx,
        ):
            ctx.pipeline = pipe
            pipe.emit("authn_login_fail", {"user.name": "grace"})
            trace_id = span.get_span_context().trace_id
    # The request span has ended by now: the alert still joins its trace.
    assert drain()
    (alert,) = [r for r in telemetry.records() if r.event_name == "security.authn_login_fail_max"]
    last = [r for r in telemetry.records() if r.event_name == "security.authn_login_fail"][-1]
    assert alert.trace_id == last.trace_id == trace_id


def test_an_alert_of_a_request_without_app_tracing_joins_seclogs_request_span(
    make_app: type[App], telemetry: Telemetry, events: CapturedEvents
) -> None:
    """Without app tracing, the alert carries the trace id of seclog's span for that request."""
    app = make_app(detector_state="process")
    for _ in range(10):
        app.login("heidi", client="192.0.2.8")
    assert drain()
    alert = telemetry.record("security.authn_login_fail_max")
    last = [r for r in telemetry.records() if r.event_name == "security.authn_login_fail"][-1]
    assert alert.trace_id == last.trace_id != 0


def test_a_full_queue_drops_and_counts_without_waiting() -> None:
    """When the worker is stuck, new items are dropped at once and counted detect.queue_full."""
    release = threading.Event()
    handled: list[int] = []

    def slow(item: int) -> None:
        release.wait(10)
        handled.append(item)

    pending: DetectionQueue[int] = DetectionQueue(slow, maxsize=2, name="test-detect")
    before = failure_counts().get("detect.queue_full", 0)
    assert pending.put(1)
    deadline = time.monotonic() + 5
    while not pending._in_hand and time.monotonic() < deadline:  # the worker holds item 1
        time.sleep(0.01)
    assert pending.put(2) and pending.put(3)
    started = time.perf_counter()
    assert not pending.put(4)
    assert time.perf_counter() - started < 0.05
    assert failure_counts().get("detect.queue_full", 0) == before + 1
    release.set()
    assert pending.drain(5)
    assert handled == [1, 2, 3]


def test_drain_from_an_alert_callback_returns_at_once(make_app: type[App]) -> None:
    """A callback that flushes (on the worker thread) does not wait for itself."""
    took: list[float] = []

    def flushing(alert: Alert) -> None:
        started = time.perf_counter()
        drain(5)
        took.append(time.perf_counter() - started)

    seclog.on_alert(flushing)
    try:
        app = make_app(detector_state="process")
        for _ in range(10):
            app.login("ivan", client="192.0.2.9")
        assert drain()
    finally:
        seclog.remove_alert_callback(flushing)
    assert len(took) == 1 and took[0] < 1


def test_after_fork_the_child_detects_on_its_own_worker(tmp_path: Path) -> None:
    """A forked worker (gunicorn preload) counts and alerts on a worker thread of its own."""
    pipe = new_pipeline(detector_state="host", state_dir=str(tmp_path), local_sink="none")
    with request_context(client_address="192.0.2.10") as ctx:
        ctx.pipeline = pipe
        pipe.emit("authn_login_fail", {"user.name": "judy"})  # the parent's worker starts
    assert drain()
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads: on purpose
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        result: dict[str, object] = {}
        try:
            threads: list[str] = []
            seclog.on_alert(lambda alert: threads.append(threading.current_thread().name))
            with capture_security_events() as captured:
                for _ in range(9):
                    with request_context(client_address="192.0.2.10") as child_ctx:
                        child_ctx.pipeline = pipe
                        pipe.emit("authn_login_fail", {"user.name": "judy"})
                result = {"alerts": alerts(captured), "threads": threads, "main": os.getpid()}
        except BaseException as exc:
            result = {"error": repr(exc)}
        os.write(write, json.dumps(result).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe_out:
        result = json.loads(pipe_out.read() or "{}")
    os.waitpid(pid, 0)
    assert result.get("alerts") == ["authn_login_fail_max"], result
    assert result["threads"] == ["seclog-detect"]


def test_no_span_is_left_open_by_an_alert_after_the_request(
    make_app: type[App], telemetry: Telemetry, events: CapturedEvents
) -> None:
    """The alert of a finished request goes out in a span that ends (exported), same trace."""
    app = make_app(detector_state="process")
    for _ in range(10):
        app.login("mallory", client="192.0.2.11")
    assert drain()
    alert = telemetry.record("security.authn_login_fail_max")
    spans = telemetry.spans.get_finished_spans()
    assert any(s.context.trace_id == alert.trace_id for s in spans)
    assert trace.get_current_span().get_span_context().is_valid is False


def test_a_dropped_pipeline_takes_its_worker_thread_along(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pipelines made and dropped (per test, per tenant) leave no seclog thread behind."""
    monkeypatch.setattr(_work_queue, "_IDLE_CHECK", 0.05)
    pipe = new_pipeline(detector_state="process", local_sink="none")
    with request_context(client_address="192.0.2.12") as ctx:
        ctx.pipeline = pipe
        pipe.emit("authn_login_fail", {"user.name": "oscar"})
    assert drain()
    threads = [pipe.state["detectors"].queue._thread]
    assert pipe._work is not None  # nothing exports synchronously: events use a thread too
    threads.append(pipe._work._thread)
    assert all(thread is not None and thread.is_alive() for thread in threads)
    del pipe, ctx
    gc.collect()
    for thread in threads:
        assert thread is not None
        thread.join(5)
        assert not thread.is_alive()


def test_an_alert_callback_runs_in_the_triggering_events_trace(
    make_app: type[App], telemetry: Telemetry, events: CapturedEvents
) -> None:
    """A span the callback starts (an HTTP call to a pager) joins the attack's trace."""
    seen: list[int] = []

    def record(alert: Alert) -> None:
        seen.append(trace.get_current_span().get_span_context().trace_id)

    seclog.on_alert(record)
    try:
        app = make_app(detector_state="process")
        for _ in range(10):
            app.login("peggy", client="192.0.2.13")
        assert drain()
    finally:
        seclog.remove_alert_callback(record)
    assert seen == [telemetry.record("security.authn_login_fail_max").trace_id]
