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


def test_quick_event_and_redaction_suites_print_one_table_with_peer_versions() -> None:
    """`python -m benchmarks --quick --only ...` prints one table of ratios and peers' versions."""
    done = _run("--only", "event", "--only", "redaction")
    assert done.returncode == 0, done.stderr[-2000:]
    out = done.stdout
    assert out.count("| suite ") == 1
    assert "| event " in out and "sdk floor" in out
    assert "| redaction " in out and "sentry EventScrubber" in out
    assert "peers: opentelemetry-sdk " in out and "sentry-sdk " in out
    assert "physical floor" in out
    assert "x sdk floor" in out  # a ratio against the floor, never a lone absolute time
    assert "seclog, integrity key" in out and "x no key" in out  # integrity on vs off, a row
    assert "goals: " in out  # the goals summary under the table


def test_an_unknown_suite_name_is_refused() -> None:
    """Naming a suite that does not exist is an error, not an empty table."""
    done = _run("--only", "nonexistent")
    assert done.returncode != 0
    assert "invalid choice" in done.stderr


def test_the_regression_guard_fails_on_a_grossly_worse_ratio_and_passes_on_noise(
    tmp_path: Path,
) -> None:
    """``--check`` fails only when a ratio is more than twice as bad as the recorded one."""
    sys.path.insert(0, str(ROOT))
    from benchmarks._baseline import check, record
    from benchmarks._harness import Row

    recorded = tmp_path / "baseline.json"
    rows = [
        Row("requests", "flask 200", "seclog", 70.0, "µs/req", "1.100x"),
        Row("server", "uvicorn 200", "seclog", 6000.0, "req/s", "0.970x"),
        Row("requests", "flask 200", "bare", 60.0, "µs/req", ""),
    ]
    record(rows, recorded)
    noisy = [
        Row("requests", "flask 200", "seclog", 90.0, "µs/req", "1.900x"),
        Row("server", "uvicorn 200", "seclog", 5000.0, "req/s", "0.600x"),
    ]
    assert check(noisy, recorded) == []
    regressed = [
        Row("requests", "flask 200", "seclog", 300.0, "µs/req", "2.300x"),
        Row("server", "uvicorn 200", "seclog", 2000.0, "req/s", "0.400x"),
    ]
    problems = check(regressed, recorded)
    assert len(problems) == 2
    assert "requests | flask 200 | seclog" in problems[0]


def test_a_recorded_ratio_better_than_bare_is_taken_as_bare(tmp_path: Path) -> None:
    """A noisy round that made seclog look faster than the bare app cannot arm a false alarm."""
    sys.path.insert(0, str(ROOT))
    from benchmarks._baseline import check, record
    from benchmarks._harness import Row

    recorded = tmp_path / "baseline.json"
    record([Row("requests", "django 403", "seclog", 900.0, "µs/req", "0.891x")], recorded)
    ordinary = [Row("requests", "django 403", "seclog", 1000.0, "µs/req", "1.995x")]
    assert check(ordinary, recorded) == []
    gross = [Row("requests", "django 403", "seclog", 2000.0, "µs/req", "2.400x")]
    assert len(check(gross, recorded)) == 1
