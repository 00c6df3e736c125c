"""Run the real ``seclog`` command in a subprocess, as users and CI do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "lint_corpus"
TESTS_ROOT = Path(__file__).resolve().parents[2]


def seclog(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``seclog ARGS...`` via ``python -m seclog_cli`` (no dependence on PATH)."""
    environ = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECLOG_", "OTEL_", "NO_COLOR", "FORCE_COLOR"))
    }
    # Test apps and settings modules under tests/cli are importable as tests.cli.*.
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(TESTS_ROOT), environ.get("PYTHONPATH")])
    )
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "seclog_cli", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
