"""The tampering catalogue: every forged, altered, inserted, deleted or duplicated record
is reported, in seclog's JSON-lines sink and in OTLP JSON as the Collector writes it."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seclog_cli.verify import main
from seclog_core._export_reader import parse_line
from tests.core.integrity.streams import FORMATS, KEY, Stream, _DupFirst, signed_records

Attack = Callable[[Stream], None]

# Record 3 is the ERROR alert, 1 and 2 are inside a trace, the last is the closing checkpoint.
ALERT, TRACED, NEXT = 3, 1, 10


def _forged(s: Stream, **attrs: Any) -> dict[str, Any]:
    """A copy of record 4 claiming another user, its ids overridden by ``attrs``."""
    record = s.copy(4)
    s.records.append(record)
    index = len(s.records) - 1
    s.line_of.append(s.line_of[-1])
    s.set_attr(index, "user.name", "mallory")
    for key, value in attrs.items():
        if value is _DELETE:
            s.del_attr(index, key)
        else:
            s.set_attr(index, key, value)
    s.delete(index)
    return record


_DELETE = object()


def _insert(index: int, **attrs: Any) -> Attack:
    def attack(s: Stream) -> None:
        s.insert(index, _forged(s, **attrs))

    return attack


def _edit(name: str, value: Any, index: int = ALERT) -> Attack:
    return lambda s: s.set(index, name, value)


def _edit_attr(key: str, value: Any, index: int = ALERT) -> Attack:
    return lambda s: s.set_attr(index, key, value)


def _swap(a: int, b: int) -> Attack:
    def attack(s: Stream) -> None:
        s.records[a], s.records[b] = s.records[b], s.records[a]

    return attack


def _delete(*indexes: int) -> Attack:
    def attack(s: Stream) -> None:
        for index in sorted(indexes, reverse=True):
            s.delete(index)

    return attack


def _duplicate_changed(s: Stream) -> None:
    s.insert(ALERT + 1, s.copy(ALERT))
    s.set_attr(ALERT + 1, "user.name", "mallory")


def _mac_of_another(s: Stream) -> None:
    s.set_attr(ALERT, "seclog.mac", s.attr(ALERT + 1, "seclog.mac"))


def _strip_all_ids(s: Stream) -> None:
    record = _forged(s)
    s.insert(ALERT, record)
    for key in ("seclog.stream_id", "seclog.sequence", "seclog.mac", "seclog.mac_v"):
        s.del_attr(ALERT, key)


def _foreign(s: Stream) -> None:
    """A login line with no seclog or security names at all, as an app log would look."""
    s.insert(ALERT, _forged(s))
    for key in [k for k in _keys(s, ALERT) if k.startswith(("seclog.", "security."))]:
        s.del_attr(ALERT, key)
    s.set(ALERT, "event_name", "app.login")


def _keys(s: Stream, index: int) -> list[str]:
    record = s.records[index]
    return list(record["attributes"]) if not s.otlp else [p["key"] for p in record["attributes"]]


def _new_stream(signed: bool) -> Attack:
    def attack(s: Stream) -> None:
        s.insert(0, _forged(s, **{"seclog.stream_id": secrets.token_hex(8), "seclog.sequence": 1}))
        s.set_attr(0, "seclog.mac", secrets.token_hex(32))
        if not signed:
            for key in ("seclog.mac", "seclog.mac_v", "seclog.key_id"):
                s.del_attr(0, key)

    return attack


def _dup_key(key: str, value: Any) -> Attack:
    return lambda s: s.dup_attr_first(ALERT, key, value)


def _dup_field(name: str, value: Any) -> Attack:
    def attack(s: Stream) -> None:
        field = name if not s.otlp else {"severity_number": "severityNumber"}.get(name, name)
        s.records[ALERT] = _DupFirst(s.records[ALERT], field, value)

    return attack


def _unknown_field(s: Stream) -> None:
    s.records[ALERT]["user"] = "admin"


def _trace_moved(s: Stream) -> None:
    s.set(ALERT, "trace_id", s.get(TRACED, "trace_id"))
    s.set(ALERT, "span_id", s.get(TRACED, "span_id"))


def _trace_removed(s: Stream) -> None:
    s.set(TRACED, "trace_id", "")
    s.set(TRACED, "span_id", "")


def _other_id(s: Stream, name: str, size: int) -> str:
    new = secrets.token_bytes(size).hex()
    return (
        new
        if s.format != "otlp-protobuf"
        else __import__("base64").b64encode(bytes.fromhex(new)).decode()
    )


CATALOGUE: dict[str, tuple[Attack, str]] = {
    # deleted
    "delete a middle record": (_delete(4), "missing"),
    "delete the first record": (_delete(0), "missing"),
    "delete the newest records": (_delete(7, 8), "open"),
    "delete only the closing checkpoint": (_delete(8), "open"),
    "delete all but the first": (_delete(*range(1, 9)), "open"),
    # reordered
    "swap two records": (_swap(3, 4), "reordered"),
    "move the checkpoint first": (_swap(0, 8), "reordered"),
    # duplicated
    "duplicate with a changed user": (_duplicate_changed, "duplicate"),
    # edited: every field a reader acts on
    "rename the event": (_edit("event_name", "security.authn_login_success"), "modified"),
    "shift the timestamp": (
        lambda s: s.set(ALERT, "timestamp", s.get(ALERT, "timestamp") + 1),
        "modified",
    ),
    "rewrite the body": (_edit("body", "All good."), "modified"),
    "downgrade severity number": (_edit("severity_number", 5), "modified"),
    "downgrade severity text": (_edit("severity_text", "DEBUG"), "modified"),
    "move to another trace": (_trace_moved, "modified"),
    "remove the trace": (_trace_removed, "modified"),
    "change the trace id": (
        lambda s: s.set(TRACED, "trace_id", _other_id(s, "trace_id", 16)),
        "modified",
    ),
    "change the span id": (
        lambda s: s.set(TRACED, "span_id", _other_id(s, "span_id", 8)),
        "modified",
    ),
    "change the user": (_edit_attr("user.name", "mallory"), "modified"),
    "change the outcome": (_edit_attr("security.outcome", "success"), "modified"),
    "add an attribute": (_edit_attr("user.id", "0"), "modified"),
    "remove an attribute": (lambda s: s.del_attr(ALERT, "user.name"), "modified"),
    "int becomes string": (_edit_attr("app.count", "12"), "modified"),
    "int becomes float": (_edit_attr("app.count", 12.0), "modified"),
    "change a list element": (_edit_attr("app.roles", ["admin", "root"], 5), "modified"),
    "bool becomes string": (_edit_attr("app.flag", "true", 5), "modified"),
    "change the key id": (_edit_attr("seclog.key_id", "k2"), "modified"),
    "remove the MAC version": (lambda s: s.del_attr(ALERT, "seclog.mac_v"), "modified"),
    "MAC version 1": (_edit_attr("seclog.mac_v", 1), "modified"),
    "MAC version as text": (_edit_attr("seclog.mac_v", "2"), "modified"),
    "MAC version 3": (_edit_attr("seclog.mac_v", 3), "modified"),
    "remove the MAC": (lambda s: s.del_attr(ALERT, "seclog.mac"), "unsigned"),
    "random MAC": (_edit_attr("seclog.mac", secrets.token_hex(32)), "modified"),
    "MAC of another record": (_mac_of_another, "modified"),
    "move to another stream": (_edit_attr("seclog.stream_id", secrets.token_hex(8)), "modified"),
    # inserted
    "insert after the end with a forged MAC": (
        _insert(9, **{"seclog.sequence": NEXT, "seclog.mac": secrets.token_hex(32)}),
        "modified",
    ),
    "insert sequence 0": (_insert(0, **{"seclog.sequence": 0}), "unaccounted"),
    "insert sequence -1": (_insert(4, **{"seclog.sequence": -1}), "unaccounted"),
    "insert sequence as text": (_insert(4, **{"seclog.sequence": "5"}), "unaccounted"),
    "insert sequence as float": (_insert(4, **{"seclog.sequence": 5.0}), "unaccounted"),
    "insert sequence as bool": (_insert(4, **{"seclog.sequence": True}), "unaccounted"),
    "insert sequence 2**62": (_insert(9, **{"seclog.sequence": 2**62}), "missing"),
    "insert sequence 2**64": (_insert(9, **{"seclog.sequence": 2**64}), "unaccounted"),
    "insert without sequence": (_insert(4, **{"seclog.sequence": _DELETE}), "unaccounted"),
    "insert without stream id": (_insert(4, **{"seclog.stream_id": _DELETE}), "unaccounted"),
    "insert with a numeric stream id": (_insert(4, **{"seclog.stream_id": 7}), "unaccounted"),
    "insert with a terminal-escape stream id": (
        _insert(4, **{"seclog.stream_id": "\n\x1b[2K\x1b[32mOK: all good\x1b[0m"}),
        "unaccounted",
    ),
    "insert without any seclog ids": (_strip_all_ids, "unaccounted"),
    "insert a foreign record": (_foreign, "foreign"),
    "insert a new signed stream": (_new_stream(signed=True), "modified"),
    "insert a new unsigned stream": (_new_stream(signed=False), "unsigned"),
    # ambiguous
    "duplicate attribute key, forged value first": (_dup_key("user.name", "mallory"), "ambiguous"),
    "duplicate sequence key": (_dup_key("seclog.sequence", 1), "ambiguous"),
    "duplicate severity field, forged first": (_dup_field("severity_number", 1), "ambiguous"),
    "unknown field": (_unknown_field, "ambiguous"),
}


def _verify(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    code = main([str(path), "--key", KEY, "--format", "json", *args])
    return code, json.loads(capsys.readouterr().out)


def _kinds(report: Any) -> set[str]:
    found = {f["kind"] for f in report["file_findings"]}
    for stream in report["streams"]:
        found |= {f["kind"] for f in stream["findings"]}
    return found


@pytest.fixture(scope="module")
def exported() -> Any:
    """One signed export, shared: nine records ending in the closing checkpoint."""
    records = signed_records()
    assert len(records) == 9
    return records


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_untouched_export_verifies(
    fmt: str, exported: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The catalogue's starting point verifies clean in every format: all nine records checked."""
    code, report = _verify(Stream(exported, fmt).write(tmp_path / "x.json"), capsys)
    assert code == 0, report
    (stream,) = report["streams"]
    assert stream["verified"] == 9 and stream["closed"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_attack_in_the_catalogue_is_reported(
    name: str, fmt: str, exported: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each tampering fails the check (exit 1, never OK) with the finding it deserves."""
    attack, kind = CATALOGUE[name]
    stream = Stream(exported, fmt)
    attack(stream)
    code, report = _verify(stream.write(tmp_path / "x.json"), capsys)
    assert code == 1 and not report["ok"], report
    assert kind in _kinds(report), report


@pytest.mark.parametrize("fmt", FORMATS)
def test_text_report_of_a_hostile_stream_id_cannot_read_ok(
    fmt: str, exported: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stream id carrying a newline and terminal escapes is printed escaped, on its line."""
    stream = Stream(exported, fmt)
    _insert(4, **{"seclog.stream_id": "\n\x1b[2K\x1b[32mOK: 9 records\x1b[0m\u202e"})(stream)
    path = stream.write(tmp_path / "x.json")
    assert main([str(path), "--key", KEY]) == 1
    out = capsys.readouterr().out
    assert all(ch == "\n" or 0x20 <= ord(ch) < 0x7F for ch in out)
    assert out.splitlines()[-1].startswith("FAILED")
    assert not any(line.startswith("OK") for line in out.splitlines())
    assert "\\x0a\\x1b[2K\\x1b[32mOK" in out


@pytest.mark.parametrize("fmt", ["jsonl", "otlp-pdata"])
def test_damaged_files_are_reported(
    fmt: str, exported: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A cut last line, a garbage line and an empty or blank file never verify OK."""
    lines = Stream(exported, fmt).lines()
    path = tmp_path / "x.json"
    path.write_text("\n".join(lines)[:-30])
    assert _verify(path, capsys)[0] == 1
    path.write_text("\n".join([lines[0], "garbage", *lines[1:]]) + "\n")
    assert "corrupt" in _kinds(_verify(path, capsys)[1])
    for content in ("", "\n\n  \n"):
        path.write_text(content)
        code, report = _verify(path, capsys)
        assert code == 1 and "empty" in _kinds(report)


def test_otlp_only_ambiguities_are_reported(
    exported: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A field under two spellings, an AnyValue with two types, a changed observed time and
    attributes dropped by the SDK are each reported."""
    cases: list[Attack] = [
        lambda s: s.records[ALERT].update(severity_number=1),
        lambda s: s.records[ALERT]["attributes"][0]["value"].update(intValue="1"),
        lambda s: s.records[ALERT].update(observedTimeUnixNano="1"),
        lambda s: s.records[ALERT].update(droppedAttributesCount=2),
        lambda s: s.records[ALERT].update(traceId="zz"),
    ]
    for attack in cases:
        stream = Stream(exported, "otlp-pdata")
        attack(stream)
        code, report = _verify(stream.write(tmp_path / "x.json"), capsys)
        assert code == 1, report


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.lists(st.text(max_size=4), max_size=3),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_single_edit_of_any_record_is_reported(
    data: st.DataObject, exported: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hypothesis: any new value for any field or attribute of any record fails the check."""
    fmt = data.draw(st.sampled_from(FORMATS))
    stream = Stream(exported, fmt)
    index = data.draw(st.integers(0, len(stream.records) - 1))
    target = data.draw(
        st.sampled_from(
            ["event_name", "timestamp", "body", "severity_number", "severity_text"]
            + [f"attr:{k}" for k in _keys(stream, index)]
            + ["attr:new.key"]
        )
    )
    value = data.draw(_values)
    if target.startswith("attr:"):
        key = target[5:]
        old = stream.attr(index, key)
        assume(type(old) is not type(value) or old != value)
        stream.set_attr(index, key, value)
    else:
        old = stream.get(index, target)
        if target == "timestamp":
            value = data.draw(st.integers(0, 2**64 - 1))
        assume(type(old) is not type(value) or old != value)
        stream.set(index, target, value)
    code, report = _verify(stream.write(tmp_path / "x.json"), capsys)
    assert code == 1 and not report["ok"], (target, value, report)


_ids = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=20),
    st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_any_inserted_record_is_reported(
    data: st.DataObject, exported: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hypothesis: a forged record with any ids, any MAC, at any place, fails the check."""
    fmt = data.draw(st.sampled_from(FORMATS))
    stream = Stream(exported, fmt)
    source = data.draw(st.integers(0, len(stream.records) - 1))
    at = data.draw(st.integers(0, len(stream.records)))
    stream.insert(at, stream.copy(source))
    forged = at
    stream.set_attr(forged, "user.name", "mallory")
    for key in ("seclog.stream_id", "seclog.sequence", "seclog.mac"):
        if data.draw(st.booleans()):
            value = data.draw(_ids)
            if value is None:
                stream.del_attr(forged, key)
            else:
                stream.set_attr(forged, key, value)
    code, report = _verify(stream.write(tmp_path / "x.json"), capsys)
    assert code == 1 and not report["ok"], report


def _read_back(record: dict[str, Any]) -> Any:
    """What verify's reader makes of one OTLP record (fields and problems)."""
    line = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]})
    raw = parse_line(line.encode(), 1)[1][0]
    raw.observed_ns = raw.observed_ns or raw.timestamp_ns  # absent: readers use the timestamp
    return raw


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_otlp_keys = st.sampled_from(
    [
        "timeUnixNano",
        "time_unix_nano",
        "severityNumber",
        "body",
        "attributes",
        "traceId",
        "spanId",
        "eventName",
        "droppedAttributesCount",
        "observedTimeUnixNano",
    ]
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_hostile_json_never_crashes_verify_and_never_reads_ok(
    data: st.DataObject, exported: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hypothesis: any JSON in any OTLP field of a record gives a report (exit 1), no crash."""
    stream = Stream(exported, data.draw(st.sampled_from(["otlp-pdata", "otlp-protobuf"])))
    index = data.draw(st.integers(0, len(stream.records) - 1))
    key = data.draw(_otlp_keys)
    value = data.draw(_json)
    before = _read_back(stream.records[index])
    stream.records[index][key] = value
    # A different spelling of the same content ("13" for 13, 0 for an absent count) is no edit.
    assume(_read_back(stream.records[index]) != before)
    code, report = _verify(stream.write(tmp_path / "x.json"), capsys)
    assert code == 1 and not report["ok"], (key, value, report)
