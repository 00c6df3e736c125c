"""Checking exported security event streams for loss and tampering.

Reads the OTLP JSON that the OpenTelemetry Collector's file exporter writes (one
``ExportLogsServiceRequest`` per line) and seclog's own JSON-lines sink, and
accounts for every record: each one is either verified (it belongs to a stream,
its sequence number fits, its MAC matches) or reported. Per stream it reports
missing sequence ranges, reordered, duplicated, modified and forged records and
a stream that ends without its closing checkpoint; per file, records without
valid seclog ids, ambiguous records (a key given twice, a field under two
spellings) and truncated lines; each with its stream id, sequences and line
numbers. Attacker-controlled text in findings is escaped (:func:`shown`).
The ``seclog verify`` command (:mod:`seclog_cli.verify`) parses arguments and prints.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ._export_reader import RawRecord, parse_line
from ._verify_report import (
    MAX_LISTED,
    Capped,
    Finding,
    StreamReport,
    Verification,
    shown,
)
from .integrity import (
    CHECKPOINT_CLOSING,
    CHECKPOINT_EVENT,
    STREAM_ID_PATTERN,
    KeyRing,
    Signed,
    canonical_bytes,
    compute_mac,
)

__all__ = [
    "EXIT_CLEAN",
    "EXIT_PROBLEMS",
    "EXIT_UNUSABLE",
    "MAX_LISTED",
    "Finding",
    "Record",
    "StreamReport",
    "UnusableInputError",
    "Verification",
    "read_records",
    "shown",
    "verify_files",
    "verify_records",
]

EXIT_CLEAN, EXIT_PROBLEMS, EXIT_UNUSABLE = 0, 1, 2
_MAX_SEQUENCE = 2**63 - 1


class UnusableInputError(Exception):
    """A file that cannot be read or is not an exported event stream."""


@dataclass(frozen=True)
class Record:
    """One security event as read back from an export file, with valid seclog ids."""

    file: str
    raw: RawRecord
    stream_id: str
    sequence: int
    multi: bool = False  # its line holds several records (OTLP batches)

    @property
    def where(self) -> str:
        return _where(self.file, self.raw, self.multi)

    @property
    def line(self) -> int:
        return self.raw.line

    @property
    def attributes(self) -> dict[str, Any]:
        return self.raw.attributes

    @property
    def mac(self) -> str | None:
        value = self.attributes.get("seclog.mac")
        return value if isinstance(value, str) else None

    @property
    def key_id(self) -> object:
        return self.attributes.get("seclog.key_id", "k1")

    @property
    def mac_version(self) -> object:
        return self.attributes.get("seclog.mac_v", 1)

    @property
    def is_closing_checkpoint(self) -> bool:
        return (
            self.raw.event_name == CHECKPOINT_EVENT
            and self.attributes.get("security.reason") == CHECKPOINT_CLOSING
        )

    def signed(self) -> Signed:
        raw = self.raw
        return Signed(
            raw.event_name,
            raw.timestamp_ns,
            raw.body,
            raw.attributes,
            raw.severity_number,
            raw.severity_text,
            raw.trace_id,
            raw.span_id,
        )

    def same_content(self, other: Record) -> bool:
        return canonical_bytes(self.signed()) == canonical_bytes(other.signed())


def _where(path: str, raw: RawRecord, multi: bool) -> str:
    where = f"{shown(path)}:{raw.line}"
    return f"{where}#{raw.index}" if multi else where


# --- reading ---------------------------------------------------------------------------


def _has_marker(raw: RawRecord) -> bool:
    # seclog's own names: a record carrying them but no valid ids is a forgery or damage.
    return raw.event_name.startswith("security.") or any(
        key.startswith(("security.", "seclog.")) for key in raw.attributes
    )


def _ids(raw: RawRecord) -> tuple[str | None, int | None, str | None]:
    """(stream id, sequence, why they are unusable) for one record."""
    stream_id = raw.attributes.get("seclog.stream_id")
    sequence = raw.attributes.get("seclog.sequence")
    if stream_id is None and sequence is None:
        return None, None, "has no seclog.stream_id and no seclog.sequence"
    if not isinstance(stream_id, str):
        return None, None, f"has a seclog.stream_id that is not a string ({shown(stream_id)})"
    if not STREAM_ID_PATTERN.fullmatch(stream_id):
        return stream_id, None, f"has a stream id seclog never writes ({shown(stream_id)})"
    if isinstance(sequence, bool) or not isinstance(sequence, int):
        kind = "missing" if sequence is None else f"a {type(sequence).__name__}"
        return stream_id, None, f"has a seclog.sequence that is {kind} ({shown(sequence)})"
    if not 1 <= sequence <= _MAX_SEQUENCE:
        return stream_id, None, f"has seclog.sequence {sequence} (seclog numbers from 1)"
    return stream_id, sequence, None


def read_records(
    path: str, findings: list[Finding], *, allow_foreign: bool = False
) -> tuple[list[Record], int]:
    """The records of ``path`` with valid seclog ids, and how many log records it held.

    Every other log record becomes a finding: an error when it bears seclog's or
    security names or ``allow_foreign`` is false, else a note.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UnusableInputError(f"{shown(path)}: cannot read: {exc.strerror or exc}") from None
    lines = data.split(b"\n")
    complete_end = data.endswith(b"\n") or not data
    if complete_end:
        lines = lines[:-1]
    capped = Capped()
    records: list[Record] = []
    recognised = total = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        location = f"{shown(path)}:{number}"
        try:
            kind, raws, problems = parse_line(line, number)
        except (ValueError, RecursionError):
            if number == len(lines) and not complete_end:
                capped.add(
                    Finding(
                        "truncated",
                        f"{location}: the last line is incomplete (no newline, not valid JSON): "
                        "the file was cut short",
                        locations=[location],
                    )
                )
            elif recognised == 0:
                raise UnusableInputError(
                    f"{location}: not JSON: not an OTLP JSON file (Collector file exporter) "
                    "or a seclog JSON-lines file"
                ) from None
            else:
                capped.add(Finding("corrupt", f"{location}: not valid JSON", locations=[location]))
            continue
        if kind == "unknown" and recognised == 0:
            raise UnusableInputError(
                f"{location}: JSON but neither OTLP JSON (resourceLogs) nor a seclog "
                "JSON-lines record (event_name, attributes)"
            )
        recognised += 1
        if kind == "unknown":
            capped.add(Finding("corrupt", f"{location}: not a log record", locations=[location]))
            continue
        for problem in problems:
            capped.add(Finding("ambiguous", f"{location}: {shown(problem)}", locations=[location]))
        multi = len(raws) > 1
        for raw in raws:
            total += 1
            where = _where(path, raw, multi)
            stream_id, sequence, why = _ids(raw)
            if why is not None:
                foreign = stream_id is None and not _has_marker(raw)
                note = foreign and allow_foreign
                capped.add(
                    Finding(
                        "foreign" if foreign else "unaccounted",
                        f"{where}: a log record that "
                        + why
                        + (": not one of seclog's records" if foreign else ""),
                        severity="note" if note else "error",
                        stream_id=stream_id,
                        locations=[where],
                    )
                )
                continue
            assert stream_id is not None and sequence is not None
            records.append(Record(path, raw, stream_id, sequence, multi))
    findings.extend(capped.done())
    return records, total


# --- checking --------------------------------------------------------------------------


def verify_records(records: Sequence[Record], keys: KeyRing | None) -> list[StreamReport]:
    """Check each stream's records (given in file order) and report what is wrong."""
    streams: dict[str, list[Record]] = {}
    for record in records:
        streams.setdefault(record.stream_id, []).append(record)
    reports = [_check_stream(stream_id, items, keys) for stream_id, items in streams.items()]
    if keys is None and any(r.signed for r in reports):
        # Even without the key: an unsigned stream beside signed ones is a forgery or a
        # process that runs without the key (with a key, the MAC check reports it).
        for report in reports:
            if not report.signed:
                first = streams[report.stream_id][0]
                report.findings.insert(
                    0,
                    Finding(
                        "unsigned",
                        "no record carries seclog.mac while other streams are signed",
                        stream_id=report.stream_id,
                        sequences=[first.sequence],
                        locations=[first.where],
                    ),
                )
    return reports


def verify_files(
    paths: Sequence[str], keys: KeyRing | None, *, allow_foreign: bool = False
) -> Verification:
    """Read and check ``paths`` together (a stream may span rotated files, given in order)."""
    findings: list[Finding] = []
    records: list[Record] = []
    total = 0
    for path in paths:
        found, count = read_records(path, findings, allow_foreign=allow_foreign)
        records.extend(found)
        total += count
    if total == 0:
        findings.append(
            Finding("empty", "the input holds no log records: nothing could be verified")
        )
    elif not records:
        findings.append(
            Finding("empty", "the input holds no seclog security events (seclog.stream_id)")
        )
    return Verification(verify_records(records, keys), findings, total)


def _span_text(low: int, high: int) -> str:
    return f"sequence {low}" if low == high else f"sequences {low}-{high}"


def _check_stream(stream_id: str, items: list[Record], keys: KeyRing | None) -> StreamReport:
    report = StreamReport(stream_id, records=len(items))
    capped = Capped(stream_id)
    first: dict[int, Record] = {}
    highest: Record | None = None
    for record in items:
        seq = record.sequence
        original = first.get(seq)
        if original is not None:
            same = original.same_content(record) and original.mac == record.mac
            capped.add(
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
            capped.add(
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
    ordered = sorted(first)
    report.first_sequence, report.last_sequence = ordered[0], ordered[-1]
    _missing(stream_id, ordered, first, capped)
    for record in items:
        _check_record(stream_id, record, capped)
    report.signed = any(r.mac for r in items)
    if keys:
        report.verified = _check_macs(stream_id, items, first, keys, capped)
    elif report.signed:
        _check_signed_shape(stream_id, items, capped)
    last = first[ordered[-1]]
    report.closed = last.is_closing_checkpoint
    if report.signed and not report.closed:
        current = any(r.mac_version == 2 for r in items)
        capped.add(
            Finding(
                "open",
                f"the stream ends at sequence {last.sequence} ({last.where}) without its closing "
                "checkpoint: the newest records may have been deleted, or the process is "
                "still running or died without shutting down"
                if current
                else f"the stream ends at sequence {last.sequence} ({last.where}); it was written "
                "by a seclog without checkpoints, so a deleted tail cannot be detected",
                severity="warning" if current else "note",
                stream_id=stream_id,
                sequences=[last.sequence],
                locations=[last.where],
            )
        )
    report.findings = capped.done()
    report.findings.sort(key=lambda f: (f.sequences[:1] or [0], f.kind))
    return report


def _missing(stream_id: str, ordered: list[int], first: dict[int, Record], capped: Capped) -> None:
    # Gaps between consecutive present sequences, as ranges: never a list per number.
    previous = 0
    for seq in ordered:
        if seq > previous + 1:
            low, high = previous + 1, seq - 1
            before, after = first.get(previous), first[seq]
            where = ([f"after {before.where}"] if before is not None else []) + [
                f"before {after.where}"
            ]
            capped.add(
                Finding(
                    "missing",
                    f"{_span_text(low, high)} missing ({', '.join(where)})",
                    stream_id=stream_id,
                    sequences=[low] if low == high else [low, high],
                    locations=[r.where for r in (before, after) if r is not None],
                    count=high - low + 1,
                )
            )
        previous = seq


def _check_record(stream_id: str, record: Record, capped: Capped) -> None:
    raw, seq = record.raw, record.sequence
    for problem in raw.problems:
        capped.add(
            Finding(
                "ambiguous",
                f"sequence {seq} at {record.where}: {shown(problem)}: readers may disagree on "
                "what it says, so it does not count as verified",
                stream_id=stream_id,
                sequences=[seq],
                locations=[record.where],
            )
        )
    if raw.dropped_attributes:
        capped.add(
            Finding(
                "modified",
                f"sequence {seq} at {record.where}: {raw.dropped_attributes} attributes were "
                "dropped after signing (SDK attribute limits)",
                stream_id=stream_id,
                sequences=[seq],
                locations=[record.where],
            )
        )
    if raw.observed_ns and raw.observed_ns != raw.timestamp_ns:
        capped.add(
            Finding(
                "modified",
                f"sequence {seq} at {record.where}: the observed timestamp differs from the "
                "signed timestamp",
                stream_id=stream_id,
                sequences=[seq],
                locations=[record.where],
            )
        )


def _check_signed_shape(stream_id: str, items: list[Record], capped: Capped) -> None:
    """Without a key: what can still be seen in a signed stream (no MAC, another MAC form)."""
    versions = {r.mac_version for r in items if r.mac}
    for record in items:
        if record.mac is None:
            problem = "no MAC in a signed stream (inserted or stripped)"
        elif len(versions) > 1 and record.mac_version != 2:
            problem = f"MAC version {shown(record.mac_version)} in a stream signed in version 2"
        else:
            continue
        capped.add(
            Finding(
                "unsigned" if record.mac is None else "modified",
                f"sequence {record.sequence} at {record.where}: {problem}",
                stream_id=stream_id,
                sequences=[record.sequence],
                locations=[record.where],
            )
        )


def _mac_matches(record: Record, keys: list[bytes], previous: bytes | None) -> bool:
    mac = (record.mac or "").encode("utf-8", "surrogatepass")  # the file's text, any text
    version = record.mac_version
    payload = canonical_bytes(record.signed(), 2 if version == 2 else 1)
    chain = b"" if version == 2 else (previous or b"")
    return any(
        hmac.compare_digest(compute_mac(k, chain, payload).hex().encode(), mac) for k in keys
    )


def _check_macs(
    stream_id: str,
    items: list[Record],
    first: dict[int, Record],
    keys: KeyRing,
    capped: Capped,
) -> int:
    """MAC-check every record present (duplicates too); returns how many verified."""

    def report(kind: str, record: Record, text: str, severity: str = "error") -> None:
        capped.add(
            Finding(
                kind,
                f"sequence {record.sequence} at {record.where}: {text}",
                severity=severity,
                stream_id=stream_id,
                sequences=[record.sequence],
                locations=[record.where],
            )
        )

    if not any(r.mac for r in items):
        capped.add(
            Finding(
                "unsigned",
                "no record carries seclog.mac: the stream was not signed (or every MAC stripped)",
                stream_id=stream_id,
                sequences=[items[0].sequence],
                locations=[items[0].where],
            )
        )
        return 0
    verified = 0
    old_form = False
    for record in items:
        version, key_id = record.mac_version, record.key_id
        if record.mac is None:
            report("unsigned", record, "no MAC in a signed stream (inserted or stripped)")
            continue
        if isinstance(version, bool) or version not in (1, 2):
            report("modified", record, f"unknown MAC version {shown(version)}")
            continue
        if not isinstance(key_id, str):
            report("modified", record, f"key id {shown(key_id)} is not a string")
            continue
        candidates = keys.candidates(key_id)
        previous: bytes | None = None
        if version == 1:
            old_form = True
            if record.sequence > 1:
                before = first.get(record.sequence - 1)
                if before is None:
                    report(
                        "unverified",
                        record,
                        "signed in the chained form of seclog 0.1 and the record before it is "
                        "missing, so its MAC cannot be checked",
                    )
                    continue
                try:
                    previous = bytes.fromhex(before.mac or "")
                except ValueError:
                    previous = b"\x00"
        if not candidates:
            report(
                "unverified",
                record,
                f"signed with key id {shown(key_id)}, which the key ring does not hold",
            )
        elif _mac_matches(record, candidates, previous):
            if not record.raw.problems:
                verified += 1
        elif keys.named(key_id) or not keys.ids():
            cut = len(record.mac) < 64 and all(c in "0123456789abcdef" for c in record.mac)
            report(
                "modified",
                record,
                f"MAC mismatch (key id {shown(key_id)}): the record was changed or forged, "
                + (
                    "or its MAC was cut short (an attribute value length limit below 64?)"
                    if cut
                    else "or the key is wrong"
                ),
            )
        else:
            report(
                "unverified",
                record,
                f"signed with key id {shown(key_id)}, which the key ring does not hold (and "
                "no key given without an id matches): a forgery, or a key is missing",
            )
    if old_form:
        capped.add(
            Finding(
                "old-format",
                "records signed in seclog 0.1's form (no seclog.mac_v): their severity, trace "
                "and span id are not covered by the MAC",
                severity="note",
                stream_id=stream_id,
            )
        )
    return verified
