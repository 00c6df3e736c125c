"""Regressions: each defect the hostile review found in `seclog verify` 0.1, one test each."""

from __future__ import annotations

import contextlib
import io
import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from seclog_cli.verify import main
from seclog_core.integrity import Signed, canonical_bytes, compute_mac
from tests.core.integrity.streams import KEY, Stream, signed_records

ALERT = 3


@pytest.fixture(scope="module")
def exported() -> Any:
    return signed_records()


def _run(stream: Stream, tmp_path: Path, *args: str) -> tuple[int, str]:
    path = stream.write(tmp_path / "events.json")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(path), "--key", KEY, *args])
    return code, out.getvalue()


def _forge(stream: Stream, **attrs: Any) -> None:
    """Append a copy of record 4 claiming another user, with ``attrs`` as its seclog ids."""
    record = stream.copy(4)
    stream.insert(len(stream.records), record)
    for key, value in attrs.items():
        if value is None:
            stream.del_attr(len(stream.records) - 1, key)
        else:
            stream.set_attr(len(stream.records) - 1, key, value)
    stream.set_attr(len(stream.records) - 1, "user.name", "mallory")


@pytest.mark.parametrize("sequence", [0, -1, -(2**63)])
def test_sequence_zero_or_negative_is_reported_in_a_stream_and_alone(
    sequence: int, exported: Any, tmp_path: Path
) -> None:
    """A record numbered 0 or below never verifies, inside a signed stream or as its own stream."""
    stream = Stream(exported, "jsonl")
    _forge(stream, **{"seclog.sequence": sequence})
    code, out = _run(stream, tmp_path)
    assert code == 1 and f"seclog.sequence {sequence}" in out
    alone = Stream(exported, "otlp-pdata")
    _forge(alone, **{"seclog.sequence": sequence, "seclog.stream_id": "0123456789abcdef"})
    alone.records = alone.records[-1:]
    alone.line_of = [0]
    code, out = _run(alone, tmp_path)
    assert code == 1 and "UNACCOUNTED" in out and out.splitlines()[-1].startswith("FAILED")


@pytest.mark.parametrize(
    "ids",
    [
        {"seclog.stream_id": None, "seclog.sequence": None},
        {"seclog.stream_id": None},
        {"seclog.sequence": "5"},
        {"seclog.sequence": 5.0},
        {"seclog.sequence": True},
    ],
)
def test_a_record_without_usable_ids_is_reported_never_skipped(
    ids: dict[str, Any], exported: Any, tmp_path: Path
) -> None:
    """A security record with missing, text, float or bool ids is a finding with its line."""
    for fmt in ("jsonl", "otlp-pdata"):
        stream = Stream(exported, fmt)
        _forge(stream, **ids)
        code, out = _run(stream, tmp_path)
        assert code == 1, out
        assert "UNACCOUNTED" in out and "events.json:" in out


def test_a_duplicated_attribute_key_is_reported_whichever_value_comes_first(
    exported: Any, tmp_path: Path
) -> None:
    """A forged first value before the signed one (what pdata's Map.Get reads) is reported."""
    for fmt in ("jsonl", "otlp-pdata"):
        stream = Stream(exported, fmt)
        stream.dup_attr_first(ALERT, "user.name", "mallory")
        code, out = _run(stream, tmp_path)
        assert code == 1 and "AMBIGUOUS" in out and "'user.name'" in out
        assert "does not count as verified" in out


@pytest.mark.parametrize(
    ("field", "value"),
    [("severity_number", 5), ("severity_text", "DEBUG"), ("trace_id", "ab" * 16)],
)
def test_severity_and_trace_are_inside_the_mac(
    field: str, value: Any, exported: Any, tmp_path: Path
) -> None:
    """An ERROR alert downgraded to DEBUG, or moved to another trace, fails its MAC."""
    for fmt in ("jsonl", "otlp-pdata"):
        stream = Stream(exported, fmt)
        stream.set(ALERT, field, value)
        code, out = _run(stream, tmp_path)
        assert code == 1 and "MODIFIED" in out and "sequence 4 at" in out


def test_the_span_id_is_inside_the_mac(exported: Any, tmp_path: Path) -> None:
    """A record moved to another span of its trace fails its MAC."""
    stream = Stream(exported, "otlp-pdata")
    stream.set(1, "span_id", "cd" * 8)
    code, out = _run(stream, tmp_path)
    assert code == 1 and "MODIFIED" in out and "sequence 2 at" in out


def test_attacker_text_in_a_stream_id_is_escaped(exported: Any, tmp_path: Path) -> None:
    """Newlines, ANSI escapes, bidi and zero-width characters never reach the terminal raw."""
    stream = Stream(exported, "jsonl")
    _forge(stream, **{"seclog.stream_id": "x\r\nOK: 0 problems\x1b[1A\x1b[2K\u202e\u200b"})
    code, out = _run(stream, tmp_path)
    assert code == 1
    assert all(ch == "\n" or 0x20 <= ord(ch) < 0x7F for ch in out)
    assert "\\x0d\\x0aOK: 0 problems\\x1b[1A\\x1b[2K\\u202e\\u200b" in out
    assert [line for line in out.splitlines() if line.startswith("OK")] == []


def test_a_huge_sequence_number_costs_neither_memory_nor_time(
    exported: Any, tmp_path: Path
) -> None:
    """Sequence 2**62 is one missing range, found in well under a second and a few MB."""
    stream = Stream(exported, "jsonl")
    _forge(stream, **{"seclog.sequence": 2**62})
    tracemalloc.start()
    started = time.perf_counter()
    try:
        code, out = _run(stream, tmp_path, "--format", "json")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2 and peak < 20 * 2**20
    assert code == 1
    (report,) = json.loads(out)["streams"]
    (missing,) = [f for f in report["findings"] if f["kind"] == "missing"]
    assert missing["sequences"] == [10, 2**62 - 1] and missing["count"] == 2**62 - 10


def test_deleting_the_newest_records_is_reported_and_empty_input_is_not_ok(
    exported: Any, tmp_path: Path
) -> None:
    """A stream cut before its closing checkpoint fails; an empty file fails too."""
    stream = Stream(exported, "jsonl")
    stream.delete(len(stream.records) - 1)
    stream.delete(len(stream.records) - 1)
    code, out = _run(stream, tmp_path)
    assert code == 1 and "without its closing checkpoint" in out
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert main([str(empty), "--key", KEY]) == 1


def _v1_stream(tmp_path: Path) -> Path:
    """Three records as seclog 0.1 signed them: chained MACs, no seclog.mac_v."""
    previous, lines = b"", []
    for sequence in (1, 2, 3):
        attributes: dict[str, Any] = {
            "security.event": "authn_login_fail",
            "user.name": f"user{sequence}",
            "seclog.stream_id": "00112233aabbccdd",
            "seclog.sequence": sequence,
        }
        signed = Signed(
            "security.authn_login_fail", 1_000 + sequence, "A login failed.", attributes
        )
        mac = compute_mac(KEY.encode(), previous, canonical_bytes(signed, version=1))
        previous = mac
        attributes.update({"seclog.mac": mac.hex(), "seclog.key_id": "k1"})
        lines.append(
            json.dumps(
                {
                    "timestamp": 1_000 + sequence,
                    "event_name": "security.authn_login_fail",
                    "severity_text": "WARN",
                    "severity_number": 13,
                    "body": "A login failed.",
                    "trace_id": None,
                    "span_id": None,
                    "attributes": attributes,
                }
            )
        )
    path = tmp_path / "v1.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_records_signed_by_seclog_0_1_still_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old chained form verifies, with a note on what it does not cover; an edit fails."""
    path = _v1_stream(tmp_path)
    assert main([str(path), "--key", KEY]) == 0
    out = capsys.readouterr().out
    assert "3 verified" in out and "old-format" in out
    path.write_text(path.read_text().replace('"user2"', '"mallory"'))
    assert main([str(path), "--key", KEY]) == 1


def test_an_unsigned_stream_beside_signed_ones_fails_even_without_the_key(
    exported: Any, tmp_path: Path
) -> None:
    """Forged records in a stream of their own, without MACs, are reported with no key given."""
    stream = Stream(exported, "jsonl")
    _forge(stream, **{"seclog.stream_id": "0123456789abcdef", "seclog.sequence": 1})
    for key in ("seclog.mac", "seclog.mac_v", "seclog.key_id"):
        stream.del_attr(len(stream.records) - 1, key)
    path = stream.write(tmp_path / "events.json")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(path)])
    assert code == 1 and "UNSIGNED" in out.getvalue() and "0123456789abcdef" in out.getvalue()


@pytest.mark.parametrize("strip", [("seclog.mac",), ("seclog.mac_v",)])
def test_a_record_without_its_mac_or_mac_version_fails_even_without_the_key(
    strip: tuple[str, ...], exported: Any, tmp_path: Path
) -> None:
    """A signed stream's record with its MAC or MAC version removed is reported keyless too."""
    stream = Stream(exported, "otlp-pdata")
    for key in strip:
        stream.del_attr(ALERT, key)
    path = stream.write(tmp_path / "events.json")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([str(path)])
    assert code == 1 and "sequence 4 at" in out.getvalue()


def test_a_flood_of_bad_records_is_counted_not_listed_one_by_one(
    exported: Any, tmp_path: Path
) -> None:
    """500 forged records give 20 listed findings and one count of the rest, not 500 lines."""
    stream = Stream(exported, "jsonl")
    for _ in range(500):
        _forge(stream, **{"seclog.sequence": 0})
    code, out = _run(stream, tmp_path)
    assert code == 1
    assert out.count("UNACCOUNTED") == 21 and "... and 480 more unaccounted findings" in out
    assert len(out.splitlines()) < 40


@pytest.mark.parametrize("edited", [float("inf"), float("-inf"), float("nan"), 1e300, 2.0**53])
def test_a_non_finite_or_huge_float_has_a_canonical_form(edited: float) -> None:
    """An edit that turns the body or an attribute into an infinite, NaN or huge float
    is hashed like any value (the verifier reports a mismatch), never raises."""
    signed = Signed("security.authn_login_fail", 1, edited, {"security.count": edited})
    payload = canonical_bytes(signed)
    assert payload != canonical_bytes(Signed("security.authn_login_fail", 1, 3.0, {}))
    assert canonical_bytes(signed) == payload
