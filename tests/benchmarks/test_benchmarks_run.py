"""The benchmark suite runs and prints its table (no timing is asserted: machines are noisy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_quick_event_and_redaction_suites_print_one_table_with_peer_versions():
    """`python -m benchmarks --quick --only ...` prints one table of ratios and peers' versions."""
    done = _run("--only", "event", "--only", "redaction")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert out.count("| suite ") == 1
    assert "| event " in out and "sdk floor" in out
    assert "| redaction " in out and "sentry EventScrubber" in out
    assert "peers: opentelemetry-sdk " in out and "sentry-sdk " in out
    assert "x floor" in out  # a ratio, never a lone absolute time


def test_an_unknown_suite_name_is_refused():
    """Naming a suite that does not exist is an error, not an empty table."""
    done = _run("--only", "nonexistent")
    assert done.returncode != 0
    assert "invalid choice" in done.stderr
