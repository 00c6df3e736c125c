"""Where one event's time goes: a profile of the event suite's worker, grouped by part.

``python -m benchmarks.profile_event [VARIANT] [--events N]`` runs the variant
(default ``seclog``; see ``benchmarks._event_worker``) against a real OTLP
receiver in this process, profiles N events on the calling thread and prints
each part's share of the self time: the OpenTelemetry SDK, redaction,
detectors, integrity, the rest of seclog, everything else. Profiling inflates
cheap calls, so read shares, not absolute times.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# First match wins: (part, substring of the code's file path).
PARTS = (
    ("detectors", "seclog_core/detect/"),
    ("integrity", "seclog_core/integrity.py"),
    ("integrity", "hmac.py"),
    ("redaction", "seclog_core/redact.py"),
    ("redaction", "seclog_core/_text.py"),
    ("redaction", "seclog_core/secret_"),
    ("redaction", "seclog_core/url_scrubbing.py"),
    ("redaction", "seclog_core/field_policy.py"),
    ("OpenTelemetry SDK + API", "opentelemetry/"),
    ("seclog (rest)", "seclog_core/"),
    ("seclog (rest)", "seclog_"),
)


def part_of(filename: str) -> str:
    for part, marker in PARTS:
        if marker in filename:
            return part
    if "sqlite3" in filename:
        return "detectors"
    return "other (stdlib, builtins, the benchmark)"


def shares(stats: pstats.Stats) -> dict[str, float]:
    """Self time per part, in seconds (C calls are charged to the part that made them)."""
    totals: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _, name), (_, _, tottime, _, callers) in raw.items():
        part = part_of(filename)
        if filename == "~" and callers:
            # A builtin: charge it to its heaviest caller's part.
            heaviest = max(callers.items(), key=lambda item: item[1][2])[0]
            part = part_of(heaviest[0])
        totals[part] = totals.get(part, 0.0) + tottime
        del name
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("variant", nargs="?", default="seclog")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--top", type=int, default=0, help="also print the N heaviest functions")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.support.otlp import otlp_receiver

    from ._event_worker import build
    from ._harness import private_tmpdir

    with otlp_receiver() as receiver, private_tmpdir() as scratch:
        os.environ.update(receiver.env("grpc"))
        os.environ["BENCH_STATE_DIR"] = str(Path(scratch, "state"))
        os.environ["SECLOG_SPOOL_DIR"] = str(Path(scratch, "spool"))
        os.environ["SECLOG_LOCAL_SINK"] = "none"
        one, flush = build(args.variant)
        for _ in range(300):
            one()
        flush()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(args.events):
            one()
        profile.disable()
        flush()
    stats = pstats.Stats(profile)
    totals = shares(stats)
    whole = sum(totals.values()) or 1.0
    print(
        f"{args.variant}: {args.events} events, {whole / args.events * 1e6:.0f} µs/event profiled"
    )
    for part, seconds in sorted(totals.items(), key=lambda item: -item[1]):
        print(f"  {part:40s} {seconds / whole:6.1%}")
    if args.top:
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
