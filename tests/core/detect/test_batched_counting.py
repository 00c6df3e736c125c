"""The detection thread counts what queued up together in one state transaction.

A burst of failures (an attack) reaches seclog's detection thread faster than it
counts them one by one; it then counts them together, in one SQLite transaction
with each row read and written once, with the same verdicts as one at a time.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import seclog_core as seclog
from seclog_core import Alert
from seclog_core.context import RequestContext, request_context
from seclog_core.detect import DEFAULT_RULES, DetectorEngine, drain
from seclog_core.detect.sqlite_state import SQLiteState
from seclog_core.detect.state import Hit
from seclog_core.events import SecurityEvent
from seclog_core.pipeline import new_pipeline
from seclog_core.testing import CapturedEvents, capture_security_events
from seclog_core.vocabulary import get_event_type
from tests.core.detect.conftest import alerts


def test_a_burst_is_counted_together_and_alerts_once(
    events: CapturedEvents, tmp_path: Path
) -> None:
    """Thirty failures at once are counted in batches and raise exactly one alert."""
    pipe = new_pipeline(detector_state="host", state_dir=str(tmp_path))
    engine = pipe.state["detectors"]
    sizes: list[int] = []
    handle_many = engine._handle_many

    def spy(items: list[object]) -> None:
        sizes.append(len(items))
        handle_many(items)

    engine.queue._handle_many = spy
    with request_context(client_address="192.0.2.40") as ctx:
        ctx.pipeline = pipe
        for _ in range(30):
            pipe.emit("authn_login_fail", {"user.name": "ivan"})
    assert drain()
    assert alerts(events) == ["authn_login_fail_max"]
    assert sum(sizes) == 30 and max(sizes) > 1


def test_a_slow_alert_callback_never_holds_the_hosts_detector_state(tmp_path: Path) -> None:
    """Alerts are emitted and callbacks run after the batch is written: another worker
    writing the same state file meanwhile neither waits nor falls back to per-process
    counting."""
    pipe = new_pipeline(detector_state="host", state_dir=str(tmp_path))
    backend = pipe.state["detectors"].backend
    assert isinstance(backend, SQLiteState)
    other = SQLiteState(backend.path)  # another worker process, as far as SQLite knows
    seen: list[tuple[int, float]] = []

    def page_someone(alert: Alert) -> None:
        started = time.monotonic()
        other.hit_many([Hit("probe", "other-worker", 60.0, 10, 0, 0.0)], time.time())
        seen.append((other.failures, time.monotonic() - started))

    seclog.on_alert(page_someone)
    try:
        with request_context(client_address="192.0.2.41") as ctx:
            ctx.pipeline = pipe
            for _ in range(12):
                pipe.emit("authn_login_fail", {"user.name": "judy"})
        assert drain()
    finally:
        seclog.remove_alert_callback(page_someone)
    assert len(seen) == 1
    failures, waited = seen[0]
    assert failures == 0 and other.available
    assert waited < 0.5  # SQLite's busy wait is 1 s: nobody held the write lock


def _failed_login(user: str, client: str) -> SecurityEvent:
    kind = get_event_type("authn_login_fail")
    attributes = {"user.name": user, "client.address": client}
    return SecurityEvent(kind, "failed", SecurityEvent.freeze(attributes), time.time_ns())


def _verdicts(tmp_path: Path, name: str, batch: int, stream: list[tuple[str, str]]) -> list:
    with capture_security_events() as captured:
        pipe = new_pipeline(detectors=False, local_sink="none")
        backend = SQLiteState(str(tmp_path / f"{name}.sqlite3"))
        engine = DetectorEngine(pipe, dict(DEFAULT_RULES), backend)
        queued: list[object] = []
        engine.queue.put = lambda item: queued.append(item) or True  # type: ignore[method-assign]
        for user, client in stream:
            ctx = RequestContext(client_address=client)
            with request_context(ctx):
                engine.observe(_failed_login(user, client))
        for start in range(0, len(queued), batch):
            engine._handle_many(queued[start : start + batch])  # type: ignore[arg-type]
        found = [
            (e.type.name, e.attributes.get("security.key"), e.attributes.get("security.count"))
            for e in captured
            if e.type.is_alert
        ]
    return found


def test_counting_together_gives_the_verdicts_of_counting_one_by_one(tmp_path: Path) -> None:
    """Brute force, stuffing and spraying alerts are the same whether the detection
    thread counts a stream one event at a time or in batches of any size."""
    rng = random.Random(7)
    users = [f"user{n}" for n in range(40)]
    clients = [f"198.51.100.{n}" for n in range(1, 9)]
    stream = [(rng.choice(users[:3] if rng.random() < 0.4 else users), rng.choice(clients))]
    stream += [(rng.choice(users), rng.choice(clients)) for _ in range(400)]
    one_by_one = _verdicts(tmp_path, "single", 1, stream)
    assert one_by_one  # the stream does cross thresholds
    for size in (7, 64, 500):
        assert _verdicts(tmp_path, f"batch{size}", size, stream) == one_by_one


def test_a_success_right_after_another_workers_failures_counts_them(tmp_path: Path) -> None:
    """Two workers share the host state: a success on one, a moment after failures on the
    other (whose detection thread is busy), is judged once those failures are counted."""
    first = new_pipeline(detector_state="host", state_dir=str(tmp_path), local_sink="none")
    second = new_pipeline(detector_state="host", state_dir=str(tmp_path), local_sink="none")
    backend = first.state["detectors"].backend
    count = backend.hit_many

    def busy_count(hits: list[Hit], now: float) -> object:
        time.sleep(0.015)  # a loaded machine: the first worker counts slowly
        return count(hits, now)

    backend.hit_many = busy_count
    raised: list[tuple[str, int]] = []

    def record(alert: Alert) -> None:
        raised.append((alert.rule, alert.count))

    seclog.on_alert(record)
    try:
        for _ in range(6):
            with request_context(client_address="192.0.2.50") as ctx:
                ctx.pipeline = first
                first.emit("authn_login_fail", {"user.name": "kim"})
        with request_context(client_address="192.0.2.50") as ctx:
            ctx.pipeline = second
            second.emit("authn_login_success", {"user.name": "kim"})
        deadline = time.monotonic() + 5
        while not raised and time.monotonic() < deadline:
            time.sleep(0.02)  # not drain(): a reader waiting does not wait out the grace
    finally:
        seclog.remove_alert_callback(record)
    assert raised == [("success_after_fail", 6)]
