"""What is signed is what is exported: SDK attribute limits never break a MAC or push out
seclog's own attributes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

import seclog_core as seclog
from seclog_cli.verify import main
from seclog_core import pipeline
from seclog_core.export import JsonLinesExporter
from tests.support.telemetry import in_memory_telemetry

KEY = "limits-key-0123456789abcdefghijkl"


def _export(tmp_path: Path) -> tuple[Path, dict[str, object]]:
    with in_memory_telemetry(integrity_key=KEY, detectors=False) as telemetry:
        many = {f"app.field{n:03d}": "x" * 300 for n in range(300)}
        seclog.login_failed(username="alice", reason="bad_credentials", attributes=many)
        for flush in list(pipeline.get_pipeline().flushers):
            flush()
        sink = io.StringIO()
        JsonLinesExporter(sink).export(telemetry.logs.get_finished_logs())
        first = dict(telemetry.records()[0].attributes)
    path = tmp_path / "events.jsonl"
    path.write_text(sink.getvalue())
    return path, first


def test_a_record_with_too_many_attributes_still_verifies_and_keeps_seclogs_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """300 app attributes: the record verifies and still names the user and its stream."""
    path, attributes = _export(tmp_path)
    assert main([str(path), "--key", KEY]) == 0, capsys.readouterr().out
    assert attributes["user.name"] == "alice"
    assert {"seclog.stream_id", "seclog.sequence", "seclog.mac"} <= set(attributes)
    assert attributes["security.event"] == "authn_login_fail"


def test_a_value_length_limit_applied_by_the_sdk_does_not_break_the_mac(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT=128 the exported record still verifies."""
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "128")
    path, _ = _export(tmp_path)
    assert main([str(path), "--key", KEY]) == 0, capsys.readouterr().out
