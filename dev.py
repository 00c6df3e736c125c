#!/usr/bin/env python3
"""One entry point for a fresh checkout: `python3 dev.py demo | test | bench | lint | tox`.

It needs only Python 3 (3.10 or newer): it creates `.venv` beside this file,
installs seclog with its extras there on first use, and runs the command.
`test` also makes sure a `redis-server` binary exists (installing it with
apt-get when running as root), because the shared-state detector tests use a
real Redis.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".seclog-installed"
PACKAGES = ["seclog_core", "seclog_django", "seclog_flask", "seclog_asgi", "seclog_cli"]


def _run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def ensure_venv() -> None:
    """Create .venv and install seclog[dev] once (again when pyproject.toml changes)."""
    pyproject = ROOT / "pyproject.toml"
    if STAMP.exists() and STAMP.read_text() == str(pyproject.stat().st_mtime_ns):
        return
    if not PYTHON.exists():
        print(f"dev.py: creating {VENV.name} with {sys.executable}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("dev.py: installing seclog[dev] (first run only)", flush=True)
    quiet = ["-q"] if os.environ.get("CI") else []
    if _run(PYTHON, "-m", "pip", "install", *quiet, "--upgrade", "pip") != 0:
        sys.exit("dev.py: could not upgrade pip")
    if _run(PYTHON, "-m", "pip", "install", *quiet, "-e", ".[dev]") != 0:
        sys.exit("dev.py: could not install seclog[dev]")
    STAMP.write_text(str(pyproject.stat().st_mtime_ns))


def ensure_redis() -> None:
    """The Redis-backed tests need a real redis-server binary."""
    if shutil.which("redis-server"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("dev.py: installing redis-server with apt-get", flush=True)
        _run("apt-get", "update", "-qq")
        _run("apt-get", "install", "-y", "-qq", "redis-server")
    if not shutil.which("redis-server"):
        sys.exit(
            "dev.py: the test suite needs redis-server on PATH "
            "(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)"
        )


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    ensure_venv()
    if command == "demo":
        return _run(BIN / "seclog", "demo", *rest)
    if command == "test":
        ensure_redis()
        return _run(PYTHON, "-m", "pytest", *rest)
    if command == "bench":
        return _run(PYTHON, "-m", "benchmarks", *rest)
    if command == "tox":
        # The supported framework lines, each in its own env (see tox.ini).
        envs = rest or ["django42", "django52", "flask23", "asgi-older", "min", "typing", "lint"]
        return _run(BIN / "tox", "run-parallel", "-p", "2", "-e", ",".join(envs))
    if command == "lint":
        paths = [*PACKAGES, "tests", "benchmarks", "example_projects", "dev.py"]
        status = _run(PYTHON, "-m", "ruff", "check", *paths, *rest)
        status |= _run(PYTHON, "-m", "ruff", "format", "--check", *paths)
        status |= _run(PYTHON, "-m", "mypy", "--strict", *PACKAGES, "tests/typing")
        return status
    print(
        f"dev.py: unknown command {command!r}; use demo, test, bench, lint or tox", file=sys.stderr
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
