"""The findings of ``seclog verify`` and how they are shown.

A :class:`Finding` is one problem, warning or remark with its stream id,
sequences and locations; :class:`Capped` bounds how many of one kind are kept,
so a hostile file cannot flood the report; :func:`shown` makes any text taken
from a file safe to print.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_LISTED", "Capped", "Finding", "StreamReport", "Verification", "shown"]

#: At most this many findings of one kind are listed per stream (and per file); the
#: rest are counted in one summary finding, so a hostile file cannot flood the report.
MAX_LISTED = 20


def shown(value: object, limit: int = 120) -> str:
    """Text from a file made safe to print: printable ASCII only, everything else escaped.

    Control characters, ANSI escapes, newlines, bidi and invisible format
    characters cannot rewrite a terminal line or pass for other text; backslashes
    are doubled so an escape in the output is always one we wrote.
    """
    text = value if isinstance(value, str) else repr(value)
    out: list[str] = []
    for char in text[:limit]:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif 0x20 <= code < 0x7F:
            out.append(char)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    if len(text) > limit:
        out.append(f"...[{len(text) - limit} more characters]")
    return "".join(out)


@dataclass
class Finding:
    """One problem, warning or remark about a stream or a file.

    ``severity``: ``error`` fails the check; ``warning`` fails it unless the
    caller accepts open streams; ``note`` never fails it.
    """

    kind: str
    message: str
    severity: str = "error"  # error | warning | note
    stream_id: str | None = None
    sequences: list[int] = field(default_factory=list)
    locations: list[str] = field(default_factory=list)
    count: int = 1  # how many sequences / records the finding stands for

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "severity": self.severity,
            "stream_id": self.stream_id,
            "sequences": self.sequences,
            "count": self.count,
            "locations": self.locations,
            "message": self.message,
        }


class Capped:
    """Findings with at most MAX_LISTED per kind; the rest become one summary each."""

    def __init__(self, stream_id: str | None = None) -> None:
        self.items: list[Finding] = []
        self._listed: dict[str, int] = {}
        self._over: dict[str, tuple[int, str]] = {}
        self._stream_id = stream_id

    def add(self, finding: Finding) -> None:
        listed = self._listed.get(finding.kind, 0)
        if listed < MAX_LISTED:
            self._listed[finding.kind] = listed + 1
            self.items.append(finding)
        else:
            count, _ = self._over.get(finding.kind, (0, finding.severity))
            self._over[finding.kind] = (count + 1, finding.severity)

    def done(self) -> list[Finding]:
        for kind, (count, severity) in self._over.items():
            self.items.append(
                Finding(
                    kind,
                    f"... and {count} more {kind} finding{'s' if count != 1 else ''} not listed",
                    severity=severity,
                    stream_id=self._stream_id,
                    count=count,
                )
            )
        self._over.clear()
        return self.items


@dataclass
class StreamReport:
    stream_id: str
    records: int = 0
    first_sequence: int = 0
    last_sequence: int = 0
    signed: bool = False
    verified: int = 0  # records whose MAC matched
    closed: bool = False  # ends with its closing checkpoint
    findings: list[Finding] = field(default_factory=list)


@dataclass
class Verification:
    """Everything ``seclog verify`` found in its input."""

    streams: list[StreamReport]
    findings: list[Finding]  # about files and records outside any stream
    records: int  # log records read, in or out of streams

    def all_findings(self) -> Iterable[Finding]:
        for report in self.streams:
            yield from report.findings
        yield from self.findings

    def failed(self, allow_open: bool = False) -> bool:
        failing = {"error"} if allow_open else {"error", "warning"}
        return any(f.severity in failing for f in self.all_findings())
