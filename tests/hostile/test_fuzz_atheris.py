"""Coverage-guided fuzzing (atheris) of the redactor, sanitizer, IP resolver and event builder.

The CI variant runs every target for a few seconds in parallel subprocesses;
``HOSTILE_LONG=1`` runs each for ten minutes. Any crash input is kept next to
the failure message; add it to ``test_fuzz_regressions.py``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import long_only
from .fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]


def _fuzz_all(seconds: int, workdir: Path) -> None:
    procs = {
        name: subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.hostile.fuzz.run",
                name,
                f"-max_total_time={seconds}",
                f"-artifact_prefix={workdir}/{name}-",
                "-print_final_stats=1",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in TARGETS
    }
    failures = []
    for name, proc in procs.items():
        output, _ = proc.communicate(timeout=seconds * 3 + 60)
        if proc.returncode != 0:
            crashes = sorted(p.name for p in workdir.glob(f"{name}-*"))
            tail = output[-3000:]
            failures.append(f"{name}: exit {proc.returncode}, artifacts {crashes}\n{tail}")
        else:
            assert "Done " in output, output[-2000:]
    assert not failures, "\n\n".join(failures)


def test_fuzz_targets_short_run(tmp_path: Path) -> None:
    """A few seconds of coverage-guided fuzzing finds no input that breaks a core promise."""
    _fuzz_all(6, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(1200)
@long_only
def test_fuzz_targets_long_run(tmp_path: Path) -> None:
    """Ten minutes per target of coverage-guided fuzzing finds no input that breaks a promise."""
    _fuzz_all(600, tmp_path)
