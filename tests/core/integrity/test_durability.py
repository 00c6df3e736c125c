"""Durability end to end: a real app process, a real OTLP/HTTP receiver that goes away."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.core.integrity.receiver import RestartableReceiver

ROOT = Path(__file__).resolve().parents[3]


def _app(
    receiver: RestartableReceiver, spool: str, count: int, interval: float, linger: float
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env.update(receiver.env)
    # The SDK exporter's own retry window (seclog sends once per attempt and spools instead).
    env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "2"
    env["SECLOG_SPOOL_DIR"] = spool
    # 300 failed logins by distinct names would (rightly) raise a stuffing alert: this
    # test counts delivery, so the stream holds only the app's own events.
    env["SECLOG_DETECTORS"] = "false"
    return subprocess.Popen(
        [sys.executable, "-m", "tests.core.integrity.app", str(count), str(interval), str(linger)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _reap(app: subprocess.Popen[str]) -> None:
    app.kill()
    app.wait(timeout=10)
    for stream in (app.stdout, app.stderr):
        if stream is not None:
            stream.close()


def _stream_id(app: subprocess.Popen[str]) -> str:
    assert app.stdout is not None
    line = app.stdout.readline()
    assert line.startswith("stream "), line
    return line.split()[1]


def _outage(tmp_path: Path, spool: str) -> tuple[RestartableReceiver, str]:
    """300 events over ~6 s; the receiver is gone for 3.5 s (> the 2 s retry window)."""
    receiver = RestartableReceiver()
    receiver.start()
    app = _app(receiver, spool, count=300, interval=0.02, linger=2.5)
    try:
        stream = _stream_id(app)
        time.sleep(1.0)
        receiver.stop()
        time.sleep(3.5)
        receiver.start()
        _, err = app.communicate(timeout=60)
        assert app.returncode == 0, err
        receiver.wait_for(lambda r: len(set(r.sequences(stream))) >= 300, timeout=10)
        return receiver, stream
    finally:
        _reap(app)
        receiver.stop()


def test_an_outage_longer_than_the_retry_window_loses_nothing(tmp_path: Path) -> None:
    """Every event arrives, in order, exactly once: the spool held them through the outage."""
    receiver, stream = _outage(tmp_path, str(tmp_path / "spool"))
    sequences = receiver.sequences(stream)
    assert sequences == list(range(1, 301))  # complete, in order, no duplicate
    assert receiver.events("security.seclog_events_lost") == []
    assert sorted(os.listdir(tmp_path / "spool")) == ["replay.lock"]  # acknowledged = deleted


def test_without_the_spool_the_outage_loses_events_and_reports_the_count(
    tmp_path: Path,
) -> None:
    """Same outage with SECLOG_SPOOL_DIR=off: events are missing, and the loss is reported."""
    receiver, stream = _outage(tmp_path, "off")
    arrived = set(receiver.sequences(stream))
    missing = 300 - len(arrived & set(range(1, 301)))
    assert missing > 50, f"only {missing} missing: the outage did not bite"
    receiver.wait_for(lambda r: bool(r.events("security.seclog_events_lost")), timeout=5)
    reported = sum(
        int(a["seclog.lost_count"]) for a in receiver.events("security.seclog_events_lost")
    )
    assert reported == missing
    print(f"spool off: {missing}/300 events lost during a 3.5 s outage (reported: {reported})")


def test_events_spooled_by_a_killed_process_arrive_through_the_next_one(tmp_path: Path) -> None:
    """SIGKILL while the collector is down; a new process on the same spool replays them."""
    receiver = RestartableReceiver()  # not started: the collector is down
    spool = str(tmp_path / "spool")
    first = _app(receiver, spool, count=50, interval=0.0, linger=60)
    try:
        stream = _stream_id(first)
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "flushed"  # handed to the spool
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        _reap(first)
    assert any(name.startswith("seg-") for name in os.listdir(spool))
    receiver.start()
    second = _app(receiver, spool, count=1, interval=0.0, linger=4)
    try:
        assert receiver.wait_for(lambda r: len(r.sequences(stream)) >= 50, timeout=15)
        assert receiver.sequences(stream) == list(range(1, 51))
        second.communicate(timeout=30)
    finally:
        _reap(second)
        receiver.stop()


def test_exit_with_a_hung_collector_is_bounded_and_nothing_is_lost(tmp_path: Path) -> None:
    """A collector that accepts and never answers: exit takes ~2 s, the events wait in the spool."""
    receiver = RestartableReceiver()
    receiver.hang()
    spool = str(tmp_path / "spool")
    app = _app(receiver, spool, count=20, interval=0.0, linger=0)
    try:
        stream = _stream_id(app)
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "flushed"
        done = app.stdout.readline()
        assert done.startswith("done"), done
        started = time.monotonic()
        app.wait(timeout=30)
        exit_seconds = time.monotonic() - started
    finally:
        _reap(app)
        receiver.stop()
    assert exit_seconds < 2.6, f"exit took {exit_seconds:.2f} s"
    receiver.start()
    replayer = _app(receiver, spool, count=1, interval=0.0, linger=4)
    try:
        assert receiver.wait_for(lambda r: len(set(r.sequences(stream))) >= 20, timeout=15)
        assert sorted(set(receiver.sequences(stream))) == list(range(1, 21))
        replayer.communicate(timeout=30)
    finally:
        _reap(replayer)
        receiver.stop()


def test_an_unusable_spool_dir_keeps_the_app_working_and_reports_the_loss(
    tmp_path: Path,
) -> None:
    """Spool dir under a regular file (unwritable even for root): loss counted, then reported."""
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    receiver = RestartableReceiver()  # down while the first events are emitted
    app = _app(receiver, str(blocker / "spool"), count=10, interval=0.0, linger=5)
    try:
        stream = _stream_id(app)
        assert app.stdout is not None
        assert app.stdout.readline().strip() == "flushed"
        receiver.start()
        assert receiver.wait_for(
            lambda r: bool(r.events("security.seclog_events_lost")), timeout=15
        ), app.stderr
        (lost,) = receiver.events("security.seclog_events_lost")
        assert lost["security.reason"] == "spool_unwritable"
        assert int(lost["seclog.lost_count"]) == 10
        assert lost["seclog.stream_id"] == stream and lost["seclog.sequence"] == 11
        _, err = app.communicate(timeout=30)
        assert app.returncode == 0
        assert "is not usable" in err
    finally:
        _reap(app)
        receiver.stop()
