"""`seclog verify` on real exported streams: clean, deleted, reordered, edited, truncated."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import seclog_core as seclog
from seclog_cli.verify import main
from seclog_core import pipeline
from seclog_core.export import JsonLinesExporter
from tests.support.telemetry import in_memory_telemetry

KEY = "verify-test-key-0123456789abcdef"


def _close(current: pipeline.Pipeline) -> None:
    """What seclog does at flush and shutdown: write the closing checkpoint."""
    for flush in list(current.flushers):
        flush()


@pytest.fixture
def jsonl_stream() -> list[str]:
    """Ten signed events and the closing checkpoint as seclog's JSON-lines sink writes them."""
    with in_memory_telemetry(integrity_key=KEY, detectors=False) as telemetry:
        for n in range(10):
            seclog.login_failed(username=f"user{n}", reason="bad_credentials")
        _close(pipeline.get_pipeline())
        sink = io.StringIO()
        JsonLinesExporter(sink).export(telemetry.logs.get_finished_logs())
    return sink.getvalue().splitlines(keepends=True)


def _run(
    tmp_path: Path, lines: list[str], *args: str, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(lines))
    code = main([str(path), "--key", KEY, *args])
    return code, capsys.readouterr().out


def test_a_clean_stream_verifies(
    tmp_path: Path, jsonl_stream: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An untouched signed stream exits 0 and says so."""
    code, out = _run(tmp_path, jsonl_stream, capsys=capsys)
    assert code == 0, out
    assert "OK: 11 records in 1 streams, 0 problems, 0 warnings" in out
    assert "sequences 1-11, signed, 11 verified, closed" in out


def test_a_deleted_record_is_reported_as_a_missing_sequence(
    tmp_path: Path, jsonl_stream: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Deleting line 4 reports sequence 4 missing, between lines 3 and 4 of the edited file."""
    del jsonl_stream[3]
    code, out = _run(tmp_path, jsonl_stream, "--format", "json", capsys=capsys)
    assert code == 1
    (stream,) = json.loads(out)["streams"]
    (finding,) = stream["findings"]
    assert finding["kind"] == "missing" and finding["sequences"] == [4]
    assert [loc.rsplit(":", 1)[1] for loc in finding["locations"]] == ["3", "4"]


def test_a_reordered_pair_is_reported(
    tmp_path: Path, jsonl_stream: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Swapping lines 5 and 6 reports sequence 5 arriving after sequence 6, with lines."""
    jsonl_stream[4], jsonl_stream[5] = jsonl_stream[5], jsonl_stream[4]
    code, out = _run(tmp_path, jsonl_stream, capsys=capsys)
    assert code == 1
    assert "REORDERED  sequence 5 at " in out and ":6 arrives after sequence 6 at " in out
    assert out.count("REORDERED") == 1 and "MODIFIED" not in out and "MISSING" not in out


def test_an_edited_attribute_is_reported_as_modified(
    tmp_path: Path, jsonl_stream: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Changing the user name of record 7 fails its MAC, and only its MAC."""
    record = json.loads(jsonl_stream[6])
    record["attributes"]["user.name"] = "someone-else"
    jsonl_stream[6] = json.dumps(record) + "\n"
    code, out = _run(tmp_path, jsonl_stream, "--format", "json", capsys=capsys)
    assert code == 1
    (finding,) = json.loads(out)["streams"][0]["findings"]
    assert finding["kind"] == "modified" and finding["sequences"] == [7]
    assert finding["locations"][0].endswith(":7")


def test_an_edit_goes_unnoticed_without_the_key_but_the_output_says_so(
    tmp_path: Path, jsonl_stream: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a key MACs are not checked, and verify warns that edits cannot be seen."""
    path = tmp_path / "events.jsonl"
    path.write_text("".join(jsonl_stream))
    assert main([str(path)]) == 0
    assert "no key was given" in capsys.readouterr().out


def test_a_truncated_file_is_reported(
    tmp_path: Path, jsonl_stream: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A half-written last line is reported as truncation at that line."""
    jsonl_stream[-1] = jsonl_stream[-1][:40]
    code, out = _run(tmp_path, jsonl_stream, capsys=capsys)
    assert code == 1
    assert "TRUNCATED" in out and ":11: the last line is incomplete" in out


def test_a_wrong_key_reports_every_record_modified(
    tmp_path: Path, jsonl_stream: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Verifying with another key fails loudly instead of passing."""
    path = tmp_path / "events.jsonl"
    path.write_text("".join(jsonl_stream))
    assert main([str(path), "--key", "k1=" + "x" * 32]) == 1
    assert capsys.readouterr().out.count("MODIFIED") == 11


def test_identical_redelivery_is_a_note_not_a_failure(
    tmp_path: Path, jsonl_stream: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """An at-least-once duplicate (same content) is listed but does not fail the check."""
    jsonl_stream.insert(3, jsonl_stream[2])
    code, out = _run(tmp_path, jsonl_stream, capsys=capsys)
    assert code == 0, out
    assert "duplicate" in out and "identical" in out


def test_unreadable_and_foreign_files_exit_2_with_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file, a CSV file and an unrelated JSON file are unusable input (exit 2)."""
    assert main([str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    csv = tmp_path / "x.csv"
    csv.write_text("a,b\n1,2\n")
    assert main([str(csv)]) == 2
    assert "not JSON" in capsys.readouterr().err
    other = tmp_path / "x.json"
    other.write_text('{"hello": "world"}\n')
    assert main([str(other)]) == 2
    assert "neither OTLP JSON" in capsys.readouterr().err


def test_key_rotation_verifies_with_a_key_ring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stream signed first with k1 then k2 verifies with a ring of both, not with k1 alone."""
    with in_memory_telemetry(integrity_key=KEY, detectors=False) as telemetry:
        seclog.login_failed(username="a")
        pipeline.get_pipeline().sequencer.rotate_key(b"second-key-abcdefghijklmnop", "k2")
        seclog.login_failed(username="b")
        _close(pipeline.get_pipeline())
        sink = io.StringIO()
        JsonLinesExporter(sink).export(telemetry.logs.get_finished_logs())
    path = tmp_path / "rotated.jsonl"
    path.write_text(sink.getvalue())
    ring = tmp_path / "ring"
    ring.write_text(f"# old and new\nk1={KEY}\nk2=second-key-abcdefghijklmnop\n")
    assert main([str(path), "--key-ring", str(ring)]) == 0, capsys.readouterr().out
    assert main([str(path), "--key", f"k1={KEY}"]) == 1
    assert "key id k2, which the key ring does not hold" in capsys.readouterr().out
