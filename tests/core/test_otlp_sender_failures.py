"""A send that raises is a failed delivery: spooled or counted, reported, never silent."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter

from seclog_core import failure_counts
from seclog_core.spool import DurableLogProcessor, Outcome, UntrustedSpoolError, trusted_spool_dir


class _Raising:
    """A sender that raises for its first ``failures`` calls (an SDK rename, a bug), then works."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, payload: bytes, timeout: float) -> Outcome:
        with self.lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise AttributeError("'OTLPLogExporter' object has no attribute '_client'")
        return Outcome.OK


def _provider(processor: DurableLogProcessor) -> LoggerProvider:
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(processor)
    return provider


def test_a_raising_sender_spools_the_batch_and_flush_says_false(tmp_path: Path) -> None:
    """The batch lands in the spool, the failure is counted and force_flush returns False."""
    before = failure_counts().get("spool.send", 0)
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    processor = DurableLogProcessor(
        exporter, _Raising(10**6), str(tmp_path / "spool"), schedule_delay=0.01
    )
    provider = _provider(processor)
    try:
        provider.get_logger("t").emit(body="one", event_name="security.authn_login_fail")
        assert processor.force_flush(2000) is False
        assert failure_counts().get("spool.send", 0) > before
        segments = [n for n in os.listdir(tmp_path / "spool") if n.startswith("seg-")]
        assert segments, os.listdir(tmp_path / "spool")
    finally:
        processor.shutdown()


def test_without_a_spool_a_raising_send_is_a_counted_reported_loss() -> None:
    """No spool: the batch is counted as lost and reported once a send works again."""
    reported: list[tuple[str, int]] = []
    done = threading.Event()

    def report(reason: str, count: int) -> None:
        reported.append((reason, count))
        done.set()

    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    processor = DurableLogProcessor(
        exporter, _Raising(1), None, schedule_delay=0.01, report_loss=report
    )
    provider = _provider(processor)
    try:
        provider.get_logger("t").emit(body="one", event_name="security.authn_login_fail")
        # The flush or the background timer (whichever comes first) meets the failure.
        processor.force_flush(2000)
        assert done.wait(10)
        assert reported == [("collector_unreachable", 1)]
    finally:
        processor.shutdown()


def test_a_spool_dir_writable_by_others_is_refused(tmp_path: Path) -> None:
    """A directory others may write to (a planted file could be replayed) is never used."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UntrustedSpoolError):
        trusted_spool_dir(str(shared / "spool"))
    own = tmp_path / "own"
    assert trusted_spool_dir(str(own)) == str(own)
    (tmp_path / "open").mkdir(mode=0o700)
    (tmp_path / "open").chmod(0o722)
    with pytest.raises(UntrustedSpoolError):
        trusted_spool_dir(str(tmp_path / "open"))


def test_a_planted_frame_in_an_untrusted_spool_is_never_replayed(tmp_path: Path) -> None:
    """The processor refuses the directory: nothing in it reaches the collector; it is reported."""
    from seclog_core._segments import Spool

    shared = tmp_path / "shared"
    shared.mkdir()
    planted = Spool(str(shared / "spool"), 1 << 20)
    planted.append(1, b"planted", lambda count, reason: None)
    planted.close()
    shared.chmod(0o777)
    sent: list[bytes] = []

    def sender(payload: bytes, timeout: float) -> Outcome:
        sent.append(payload)
        return Outcome.OK

    before = failure_counts().get("spool.untrusted", 0)
    exporter = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    processor = DurableLogProcessor(exporter, sender, str(shared / "spool"), schedule_delay=0.01)
    provider = _provider(processor)
    try:
        provider.get_logger("t").emit(body="real", event_name="security.authn_login_fail")
        assert processor.force_flush(2000)
    finally:
        processor.shutdown()
    assert failure_counts().get("spool.untrusted", 0) > before
    assert all(b"planted" not in payload for payload in sent)
    assert any(b"real" in payload for payload in sent)
