"""Checking exported security event streams for loss and tampering.

Reads the OTLP JSON that the OpenTelemetry Collector's file exporter writes (one
``ExportLogsServiceRequest`` per line) and seclog's own JSON-lines sink, groups
records by ``seclog.stream_id`` and reports, per stream, missing sequence ranges,
reordered, duplicated and modified records (MAC mismatch, with a key ring) and
truncated files, each with its stream id, sequence numbers and line numbers.
The ``seclog verify`` command (:mod:`seclog_cli.verify`) parses arguments and prints.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .integrity import KeyRing, canonical_bytes, compute_mac

__all__ = [
    "EXIT_CLEAN",
    "EXIT_PROBLEMS",
    "EXIT_UNUSABLE",
    "Finding",
    "Record",
    "StreamReport",
    "UnusableInputError",
    "read_records",
    "verify_records",
]

EXIT_CLEAN, EXIT_PROBLEMS, EXIT_UNUSABLE = 0, 1, 2


class UnusableInputError(Exception):
    """A file that cannot be read or is not an exported event stream."""


@dataclass(frozen=True)
class Record:
    """One security event as read back from an export file."""

    file: str
    line: int
    stream_id: str
    sequence: int
    event_name: str
    timestamp_ns: int
    body: str
    attributes: dict[str, Any]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def mac(self) -> str | None:
        value = self.attributes.get("seclog.mac")
        return value if isinstance(value, str) else None

    @property
    def key_id(self) -> str:
        return str(self.attributes.get("seclog.key_id", "k1"))

    def payload(self) -> bytes:
        return canonical_bytes(self.event_name, self.timestamp_ns, self.body, self.attributes)


@dataclass
class Finding:
    """One problem (or, for ``severity="note"``, one remark) about a stream or a file."""

    kind: str  # missing | reordered | duplicate | modified | unverified | truncated | corrupt
    message: str
    severity: str = "error"  # error | note
    stream_id: str | None = None
    sequences: list[int] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "stream_id": self.stream_id,
            "sequences": self.sequences,
            "locations": self.locations,
            "message": self.message,
        }


@dataclass
class StreamReport:
    stream_id: str
    records: int = 0
    first_sequence: int = 0
    last_sequence: int = 0
    signed: bool = False
    findings: list[Finding] = field(default_factory=list)


# --- reading ---------------------------------------------------------------------------


def _any_value(value: Any) -> Any:
    if not isinstance(value, dict) or not value:
        return None
    kind, raw = next(iter(value.items()))
    if kind == "stringValue":
        return str(raw)
    if kind == "boolValue":
        return bool(raw)
    if kind == "intValue":
        return int(raw)
    if kind == "doubleValue":
        return float(raw)  # "NaN", "Infinity" included
    if kind == "bytesValue":
        return base64.b64decode(raw)
    if kind == "arrayValue":
        return [_any_value(item) for item in (raw or {}).get("values", [])]
    if kind == "kvlistValue":
        return {kv["key"]: _any_value(kv.get("value")) for kv in (raw or {}).get("values", [])}
    return raw


def _otlp_records(document: dict[str, Any]) -> Iterator[tuple[str, int, Any, dict[str, Any]]]:
    for resource_logs in document.get("resourceLogs", []):
        for scope_logs in resource_logs.get("scopeLogs", []):
            for item in scope_logs.get("logRecords", []):
                attributes = {
                    kv["key"]: _any_value(kv.get("value")) for kv in item.get("attributes", [])
                }
                yield (
                    str(item.get("eventName", "")),
                    int(item.get("timeUnixNano", 0)),
                    _any_value(item.get("body")),
                    attributes,
                )


def _sink_records(document: dict[str, Any]) -> Iterator[tuple[str, int, Any, dict[str, Any]]]:
    yield (
        str(document.get("event_name") or ""),
        int(document.get("timestamp") or 0),
        document.get("body"),
        dict(document.get("attributes") or {}),
    )


def _is_other_signal(document: dict[str, Any]) -> bool:
    return any(key in document for key in ("resourceSpans", "resourceMetrics", "resourceProfiles"))


def read_records(path: str, findings: list[Finding]) -> tuple[list[Record], int]:
    """Records carrying a seclog stream id, and the count of lines that held none."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UnusableInputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    complete_end = data.endswith(b"\n") or not data
    if complete_end:
        lines = lines[:-1]
    records: list[Record] = []
    recognised = skipped = 0
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        last = number == len(lines)
        try:
            document = json.loads(raw)
            if not isinstance(document, dict):
                raise ValueError("not a JSON object")
        except ValueError:
            if last and not complete_end:
                findings.append(
                    Finding(
                        "truncated",
                        f"{path}: line {number} is incomplete (no newline, not valid JSON): "
                        "the file was cut short",
                        locations=[f"{path}:{number}"],
                    )
                )
            elif recognised == 0 and skipped == 0:
                raise UnusableInputError(
                    f"{path}: line {number} is not JSON: not an OTLP JSON file (Collector file "
                    "exporter) or a seclog JSON-lines file"
                ) from None
            else:
                findings.append(
                    Finding(
                        "corrupt",
                        f"{path}: line {number} is not valid JSON",
                        locations=[f"{path}:{number}"],
                    )
                )
            continue
        if "resourceLogs" in document:
            source = _otlp_records(document)
        elif "event_name" in document and "attributes" in document:
            source = _sink_records(document)
        elif _is_other_signal(document):
            skipped += 1
            continue
        else:
            if recognised == 0:
                raise UnusableInputError(
                    f"{path}: line {number} is JSON but neither OTLP JSON (resourceLogs) nor a "
                    "seclog JSON-lines record (event_name, attributes)"
                )
            findings.append(
                Finding("corrupt", f"{path}: line {number} is not a log record", locations=[])
            )
            continue
        recognised += 1
        try:
            for event_name, timestamp_ns, body, attributes in source:
                stream_id = attributes.get("seclog.stream_id")
                sequence = attributes.get("seclog.sequence")
                if not isinstance(stream_id, str) or not isinstance(sequence, int):
                    skipped += 1
                    continue
                text = body if isinstance(body, str) else ("" if body is None else str(body))
                records.append(
                    Record(
                        path,
                        number,
                        stream_id,
                        sequence,
                        event_name,
                        timestamp_ns,
                        text,
                        attributes,
                    )
                )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            findings.append(
                Finding(
                    "corrupt",
                    f"{path}: line {number} has a malformed record ({exc})",
                    locations=[f"{path}:{number}"],
                )
            )
    return records, skipped


# --- checking --------------------------------------------------------------------------


def _ranges(numbers: list[int]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for number in sorted(numbers):
        if spans and number == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], number)
        else:
            spans.append((number, number))
    return spans


def _span_text(low: int, high: int) -> str:
    return f"sequence {low}" if low == high else f"sequences {low}-{high}"


def verify_records(records: Sequence[Record], keys: KeyRing | None) -> list[StreamReport]:
    """Check each stream's records (given in file order) and report what is wrong."""
    streams: dict[str, list[Record]] = {}
    for record in records:
        streams.setdefault(record.stream_id, []).append(record)
    return [_check_stream(stream_id, items, keys) for stream_id, items in streams.items()]


def _check_stream(stream_id: str, items: list[Record], keys: KeyRing | None) -> StreamReport:
    report = StreamReport(stream_id, records=len(items))
    first: dict[int, Record] = {}
    highest: Record | None = None
    for record in items:
        seq = record.sequence
        if seq in first:
            original = first[seq]
            same = original.payload() == record.payload() and original.mac == record.mac
            report.findings.append(
                Finding(
                    "duplicate",
                    f"sequence {seq} at {record.where} repeats {original.where}"
                    + (" (identical: a redelivery)" if same else " with DIFFERENT content"),
                    severity="note" if same else "error",
                    stream_id=stream_id,
                    sequences=[seq],
                    locations=[original.where, record.where],
                )
            )
            continue
        first[seq] = record
        if highest is not None and seq < highest.sequence:
            report.findings.append(
                Finding(
                    "reordered",
                    f"sequence {seq} at {record.where} arrives after sequence "
                    f"{highest.sequence} at {highest.where}",
                    stream_id=stream_id,
                    sequences=[seq, highest.sequence],
                    locations=[record.where, highest.where],
                )
            )
        if highest is None or seq > highest.sequence:
            highest = record
    report.first_sequence = min(first)
    report.last_sequence = max(first)
    missing = [n for n in range(1, report.last_sequence + 1) if n not in first]
    for low, high in _ranges(missing):
        before, after = first.get(low - 1), first.get(high + 1)
        where = []
        if before is not None:
            where.append(f"after {before.where}")
        if after is not None:
            where.append(f"before {after.where}")
        report.findings.append(
            Finding(
                "missing",
                f"{_span_text(low, high)} missing" + (f" ({', '.join(where)})" if where else ""),
                stream_id=stream_id,
                sequences=list(range(low, high + 1)),
                locations=[r.where for r in (before, after) if r is not None],
            )
        )
    report.signed = any(r.mac for r in first.values())
    if keys:
        report.findings.extend(_check_macs(stream_id, first, keys))
    report.findings.sort(key=lambda f: (f.sequences[:1] or [0], f.kind))
    return report


def _check_macs(stream_id: str, first: dict[int, Record], keys: KeyRing) -> list[Finding]:
    findings: list[Finding] = []
    if not any(r.mac for r in first.values()):
        return [
            Finding(
                "unsigned",
                "no record carries seclog.mac: the stream was not signed (or every MAC stripped)",
                stream_id=stream_id,
            )
        ]
    for seq in sorted(first):
        record = first[seq]
        if record.mac is None:
            findings.append(
                Finding(
                    "modified",
                    f"sequence {seq} at {record.where} has no MAC in a signed stream",
                    stream_id=stream_id,
                    sequences=[seq],
                    locations=[record.where],
                )
            )
            continue
        key = keys.get(record.key_id)
        if key is None:
            findings.append(
                Finding(
                    "unverified",
                    f"sequence {seq} at {record.where} is signed with key id "
                    f"{record.key_id!r}, which the key ring does not hold",
                    stream_id=stream_id,
                    sequences=[seq],
                    locations=[record.where],
                )
            )
            continue
        if seq == 1:
            previous_mac = ""
        elif (seq - 1) in first:
            previous_mac = first[seq - 1].mac or ""
        else:
            continue  # its chain link is gone: already reported as missing
        try:
            previous = bytes.fromhex(previous_mac)
        except ValueError:
            previous = b"\x00"
        expected = compute_mac(key, previous, record.payload()).hex()
        if expected != record.mac:
            findings.append(
                Finding(
                    "modified",
                    f"sequence {seq} at {record.where}: MAC mismatch (key {record.key_id}): "
                    "the record, or the MAC of the record before it, was changed",
                    stream_id=stream_id,
                    sequences=[seq],
                    locations=[record.where],
                )
            )
    return findings
