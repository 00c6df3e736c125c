"""``seclog verify``: check exported security event streams for loss and tampering.

Argument parsing and the report live here; reading records and checking
sequences, MACs and checkpoints is the core's job (:mod:`seclog_core.verify`).
Exit status: 0 clean, 1 something is wrong, 2 unusable input or no usable key.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from seclog_core.config import Settings
from seclog_core.integrity import KeyRing, key_bytes
from seclog_core.verify import (
    EXIT_CLEAN,
    EXIT_PROBLEMS,
    EXIT_UNUSABLE,
    StreamReport,
    UnusableInputError,
    Verification,
    shown,
    verify_files,
)

__all__ = ["main"]

_MAX_STREAMS_SHOWN = 200


def _load_keys(args: argparse.Namespace) -> KeyRing | None:
    """Keys as the signer uses them: ``SECLOG_INTEGRITY_KEY`` whole (``=`` included) under
    ``SECLOG_INTEGRITY_KEY_ID``; ``--key``/``--key-ring`` entries read every way they split."""
    entries: list[str] = list(args.key or [])
    if args.key_ring:
        try:
            with open(args.key_ring, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise UnusableInputError(
                f"{shown(args.key_ring)}: cannot read key ring: {getattr(exc, 'strerror', exc)}"
            ) from None
        usable = [line for line in lines if line.strip() and not line.strip().startswith("#")]
        if not usable:
            raise UnusableInputError(f"{shown(args.key_ring)}: the key ring holds no key")
        entries.extend(usable)
    if entries:
        try:
            return KeyRing.parse(entries)
        except ValueError as exc:
            raise UnusableInputError(f"bad key: {exc}") from None
    secret = os.environ.get("SECLOG_INTEGRITY_KEY")
    if secret is None:
        return None
    if not key_bytes(secret):
        raise UnusableInputError("SECLOG_INTEGRITY_KEY is set but empty: no usable key")
    key_id = os.environ.get("SECLOG_INTEGRITY_KEY_ID", Settings().integrity_key_id)
    ring = KeyRing()
    ring.add(key_id, key_bytes(secret))
    return ring


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="seclog verify",
        description="Check exported seclog event streams: every record is verified or "
        "reported (missing, reordered, duplicated, modified, forged, truncated).",
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
    parser.add_argument(
        "--allow-open",
        action="store_true",
        help="a stream without its closing checkpoint (a process still running) is a "
        "warning, not a failure",
    )
    parser.add_argument(
        "--allow-foreign",
        action="store_true",
        help="log records that carry no seclog or security names (the app's own logs in the "
        "same file) are noted, not failures",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")
    return parser


def _label(severity: str, kind: str) -> str:
    return kind.upper() if severity == "error" else f"{kind} ({severity})"


def _stream_line(report: StreamReport) -> str:
    signed = "signed" if report.signed else "unsigned"
    if report.signed and report.verified:
        signed += f", {report.verified} verified"
    closed = ", closed" if report.closed else ""
    return (
        f"stream {shown(report.stream_id)}: {report.records} records, sequences "
        f"{report.first_sequence}-{report.last_sequence}, {signed}{closed}"
    )


def _render_text(result: Verification, notes: list[str], failed: bool) -> str:
    out: list[str] = []
    for report in result.streams[:_MAX_STREAMS_SHOWN]:
        out.append(_stream_line(report))
        for finding in report.findings:
            out.append(f"  {_label(finding.severity, finding.kind):<10} {finding.message}")
    if len(result.streams) > _MAX_STREAMS_SHOWN:
        out.append(f"... and {len(result.streams) - _MAX_STREAMS_SHOWN} more streams not listed")
    for finding in result.findings:
        out.append(f"{_label(finding.severity, finding.kind):<12} {finding.message}")
    out.extend(notes)
    problems = sum(f.severity == "error" for f in result.all_findings())
    warnings = sum(f.severity == "warning" for f in result.all_findings())
    out.append(
        f"{'FAILED' if failed else 'OK'}: {result.records} records in {len(result.streams)} "
        f"streams, {problems} problem{'s' if problems != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''}"
    )
    return "\n".join(out) + "\n"


def _render_json(result: Verification, notes: list[str], failed: bool) -> str:
    document = {
        "ok": not failed,
        "records": result.records,
        "streams": [
            {
                "stream_id": r.stream_id,
                "records": r.records,
                "first_sequence": r.first_sequence,
                "last_sequence": r.last_sequence,
                "signed": r.signed,
                "verified": r.verified,
                "closed": r.closed,
                "findings": [f.as_dict() for f in r.findings],
            }
            for r in result.streams
        ],
        "file_findings": [f.as_dict() for f in result.findings],
        "notes": notes,
    }
    return json.dumps(document, indent=2, ensure_ascii=True) + "\n"


def main(argv: list[str]) -> int:
    """Entry point of ``seclog verify``; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_UNUSABLE if exc.code else EXIT_CLEAN
    try:
        keys = _load_keys(args)
        result = verify_files(args.files, keys, allow_foreign=args.allow_foreign)
    except UnusableInputError as exc:
        print(f"seclog verify: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    notes: list[str] = []
    if keys is None and any(r.signed for r in result.streams):
        notes.append(
            "note: records carry MACs but no key was given (--key, --key-ring or "
            "SECLOG_INTEGRITY_KEY): edits and forgeries cannot be detected"
        )
    failed = result.failed(allow_open=args.allow_open)
    render = _render_json if args.format == "json" else _render_text
    sys.stdout.write(render(result, notes, failed))
    return EXIT_PROBLEMS if failed else EXIT_CLEAN
