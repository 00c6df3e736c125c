"""``seclog verify``: check exported security event streams for loss and tampering.

Argument parsing and the report live here; reading records and checking
sequences and MAC chains is the core's job (:mod:`seclog_core.verify`).
Exit status: 0 clean, 1 something is wrong, 2 unusable input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from seclog_core.integrity import KeyRing
from seclog_core.verify import (
    EXIT_CLEAN,
    EXIT_PROBLEMS,
    EXIT_UNUSABLE,
    Finding,
    Record,
    StreamReport,
    UnusableInputError,
    read_records,
    verify_records,
)

__all__ = ["main"]


def _load_keys(args: argparse.Namespace) -> KeyRing | None:
    entries: list[str] = list(args.key or [])
    if args.key_ring:
        try:
            with open(args.key_ring, encoding="utf-8") as handle:
                entries.extend(handle.read().splitlines())
        except OSError as exc:
            raise UnusableInputError(
                f"{args.key_ring}: cannot read key ring: {exc.strerror}"
            ) from None
    if not entries and os.environ.get("SECLOG_INTEGRITY_KEY"):
        key_id = os.environ.get("SECLOG_INTEGRITY_KEY_ID", "k1")
        entries.append(f"{key_id}={os.environ['SECLOG_INTEGRITY_KEY']}")
    if not entries:
        return None
    try:
        return KeyRing.parse(entries)
    except ValueError as exc:
        raise UnusableInputError(f"bad key: {exc}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seclog verify",
        description="Check exported seclog event streams for missing, reordered, duplicated, "
        "modified records and truncated files.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="OTLP JSON or JSON-lines files")
    parser.add_argument(
        "--key",
        action="append",
        metavar="[ID=]SECRET",
        help="integrity key (repeatable; default: $SECLOG_INTEGRITY_KEY with "
        "$SECLOG_INTEGRITY_KEY_ID)",
    )
    parser.add_argument("--key-ring", metavar="FILE", help="file of key_id=secret lines")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _render_text(
    reports: list[StreamReport], file_findings: list[Finding], notes: list[str], total: int
) -> str:
    out: list[str] = []
    for report in reports:
        signed = "signed" if report.signed else "unsigned"
        out.append(
            f"stream {report.stream_id}: {report.records} records, sequences "
            f"{report.first_sequence}-{report.last_sequence}, {signed}"
        )
        for finding in report.findings:
            label = finding.kind.upper() if finding.severity == "error" else finding.kind
            out.append(f"  {label:<10} {finding.message}")
    for finding in file_findings:
        out.append(f"{finding.kind.upper():<12} {finding.message}")
    out.extend(notes)
    errors = sum(f.severity == "error" for r in reports for f in r.findings) + len(file_findings)
    out.append(
        f"{'OK' if errors == 0 else 'FAILED'}: {total} records in {len(reports)} streams, "
        f"{errors} problem{'s' if errors != 1 else ''}"
    )
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    """Entry point of ``seclog verify``; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_UNUSABLE if exc.code else EXIT_CLEAN
    file_findings: list[Finding] = []
    records: list[Record] = []
    try:
        keys = _load_keys(args)
        for path in args.files:
            found, _ = read_records(path, file_findings)
            records.extend(found)
    except UnusableInputError as exc:
        print(f"seclog verify: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    reports = verify_records(records, keys)
    notes: list[str] = []
    if keys is None and any(r.signed for r in reports):
        notes.append(
            "note: records carry MACs but no key was given (--key, --key-ring or "
            "SECLOG_INTEGRITY_KEY): edits cannot be detected"
        )
    if not records:
        notes.append("note: no seclog security events (seclog.stream_id) found in the input")
    errors = sum(f.severity == "error" for r in reports for f in r.findings) + len(file_findings)
    if args.format == "json":
        document = {
            "ok": errors == 0,
            "records": len(records),
            "streams": [
                {
                    "stream_id": r.stream_id,
                    "records": r.records,
                    "first_sequence": r.first_sequence,
                    "last_sequence": r.last_sequence,
                    "signed": r.signed,
                    "findings": [f.as_dict() for f in r.findings],
                }
                for r in reports
            ],
            "file_findings": [f.as_dict() for f in file_findings],
            "notes": notes,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(_render_text(reports, file_findings, notes, len(records)))
    return EXIT_CLEAN if errors == 0 else EXIT_PROBLEMS
