"""Signed checkpoints: periodic ones, the closing one at flush, and what verify makes of them."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pytest

import seclog_core as seclog
from seclog_cli.verify import main
from seclog_core import checkpoints, pipeline
from tests.core.integrity.streams import KEY, Stream, signed_records
from tests.support.telemetry import in_memory_telemetry


def _reasons(telemetry: Any) -> list[str | None]:
    """Per record: the checkpoint reason, or None for an ordinary event."""
    return [
        r.attributes.get("security.reason") if r.event_name == "security.sys_checkpoint" else None
        for r in telemetry.records()
    ]


def _flush() -> None:
    for flush in list(pipeline.get_pipeline().flushers):
        flush()


def test_a_periodic_checkpoint_follows_every_n_events() -> None:
    """With every_events=3, every fourth record is a signed periodic checkpoint."""
    with in_memory_telemetry(integrity_key=KEY, detectors=False) as telemetry:
        checkpoints.install(pipeline.get_pipeline(), every_events=3)
        for n in range(7):
            seclog.login_failed(username=f"u{n}")
        reasons = _reasons(telemetry)
        records = telemetry.records()
    assert reasons == [None] * 3 + ["checkpoint_periodic"] + [None] * 3 + [
        "checkpoint_periodic"
    ] + [None]
    checkpoint = records[3]
    assert checkpoint.attributes["seclog.sequence"] == 4 and checkpoint.attributes["seclog.mac"]
    assert checkpoint.severity_text == "INFO"
    assert "client.address" not in checkpoint.attributes


def test_a_periodic_checkpoint_follows_the_interval_when_events_were_written() -> None:
    """After every_seconds, the next event is followed by a checkpoint; idle time writes none."""
    now = [0.0]
    with in_memory_telemetry(integrity_key=KEY, detectors=False) as telemetry:
        checkpoints.install(pipeline.get_pipeline(), every_seconds=60, clock=lambda: now[0])
        seclog.login_failed(username="a")
        now[0] = 59.0
        seclog.login_failed(username="b")
        now[0] = 61.0
        seclog.login_failed(username="c")
        now[0] = 500.0
        reasons = _reasons(telemetry)
    assert reasons == [None, None, None, "checkpoint_periodic"]


def test_flush_writes_one_closing_checkpoint_and_only_when_needed() -> None:
    """Flush closes the stream once; flushing again adds nothing until new events arrive."""
    with in_memory_telemetry(integrity_key=KEY, detectors=False) as telemetry:
        _flush()  # nothing written yet: nothing to close
        seclog.login_failed(username="a")
        _flush()
        _flush()
        seclog.login_failed(username="b")
        _flush()
        reasons = _reasons(telemetry)
    assert reasons == [None, "checkpoint_flush", None, "checkpoint_flush"]


def test_seclog_shutdown_closes_the_stream() -> None:
    """The public force_flush writes the closing checkpoint too (shutdown runs the same path)."""
    with in_memory_telemetry(integrity_key=KEY, detectors=False) as telemetry:
        seclog.login_failed(username="a")
        seclog.force_flush(500)
        assert _reasons(telemetry)[-1] == "checkpoint_flush"


def test_without_a_key_there_are_no_checkpoints() -> None:
    """Unsigned pipelines write no checkpoint records (an unsigned one would prove nothing)."""
    with in_memory_telemetry(detectors=False) as telemetry:
        seclog.login_failed(username="a")
        _flush()
        assert _reasons(telemetry) == [None]


def test_an_open_stream_fails_unless_open_streams_are_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A live process's stream (no closing checkpoint) fails by default, passes --allow-open
    with a warning, and a forged closing checkpoint does not pass."""
    path = Stream(signed_records(close=False), "jsonl").write(tmp_path / "live.jsonl")
    assert main([str(path), "--key", KEY]) == 1
    assert "open (warning)" in capsys.readouterr().out
    assert main([str(path), "--key", KEY, "--allow-open"]) == 0
    out = capsys.readouterr().out
    assert "open (warning)" in out and "1 warning" in out

    stream = Stream(signed_records(close=False), "jsonl")
    forged = stream.copy(len(stream.records) - 1)
    forged["event_name"] = "security.sys_checkpoint"
    forged["attributes"]["security.reason"] = "checkpoint_flush"
    forged["attributes"]["seclog.sequence"] += 1
    stream.insert(len(stream.records), forged)
    assert main([str(stream.write(tmp_path / "forged.jsonl")), "--key", KEY]) == 1
    assert "MODIFIED" in capsys.readouterr().out


def test_checkpoints_do_not_keep_a_pipeline_alive() -> None:
    """A signed pipeline nobody uses any more is collected, checkpointer and all."""
    with in_memory_telemetry(integrity_key=KEY, detectors=False):
        made = pipeline.new_pipeline(integrity_key=KEY, detectors=False)
        assert checkpoints.installed(made) is not None
        ref = weakref.ref(made)
        del made
        gc.collect()
        assert ref() is None
