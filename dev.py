#!/usr/bin/env python3
"""One entry point for a fresh checkout: `python3 dev.py demo | example NAME | test | bench | lint
| docs | tox`.

It needs only Python 3 (3.10 or newer): it creates `.venv` beside this file,
installs there what the command needs on first use, and runs the command:

    demo                  a scripted attack on a small app; installs seclog's core only
    example django|flask|fastapi
                          run an example app and print what to try against it
    test                  the test suite; installs the full development set
    docs                  build the documentation site in strict mode (into site/)
    bench, lint, tox      benchmarks; ruff + mypy; the other framework lines
`test` also makes sure a `redis-server` binary exists (installing it with
apt-get when running as root), because the shared-state detector tests use a
real Redis.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
PACKAGES = [
    "seclog_core",
    "seclog_django",
    "seclog_flask",
    "seclog_asgi",
    "seclog_cli",
    "seclog_instrumentation",
]
# What each command installs: the demo needs the core only; `dev` covers every other set.
EXTRAS = {
    "dev": "dev",
    "docs": "docs",
    "example-django": "django",
    "example-flask": "flask",
    "example-fastapi": "fastapi",
}
# The demo runs seclog from this checkout (python -m seclog_cli) and needs only the core's
# dependencies, with the OTLP/HTTP exporter instead of the meta-package that also pulls gRPC:
# no build step and a fifth of the download, so the first contact takes seconds.
DEMO_REQUIREMENTS = [
    "opentelemetry-api>=1.45",
    "opentelemetry-sdk>=1.45",
    "opentelemetry-exporter-otlp-proto-http>=1.45",
    "python-ipware>=4.1,<5",
    "tomli>=2; python_version < '3.11'",
]
# Packages an example app uses beyond seclog's extra.
EXAMPLE_PACKAGES = {"flask": ["flask-login>=0.6"], "fastapi": ["uvicorn>=0.30"], "django": []}
EXAMPLES = {
    "django": (
        ["example_projects/django_site/run.py"],
        "http://127.0.0.1:8000/",
        [
            "open http://127.0.0.1:8000/login/ and sign in wrongly  -> authn_login_fail",
            "sign in as demo / demo-password-123                    -> authn_login_success",
            "open http://127.0.0.1:8000/staff/ as demo              -> authz_fail (403)",
            "curl -X POST http://127.0.0.1:8000/login/              -> input_validation_fail",
            "curl http://127.0.0.1:8000/fail/                       -> sys_error, secret scrubbed",
            "admin / admin-password-123 at /admin/: change a user   -> authz_admin, authz_change",
        ],
    ),
    "flask": (
        ["example_projects/flask_app/app.py"],
        "http://127.0.0.1:5000/",
        [
            "curl -d username=bob -d password=wrong http://127.0.0.1:5000/login"
            "   -> authn_login_fail",
            "curl http://127.0.0.1:5000/profile                     -> authn_fail (401)",
            "log in as bob / builder, then open /admin              -> authz_fail (403)",
            "curl http://127.0.0.1:5000/boom                        -> sys_error, secret scrubbed",
            "curl -A sqlmap/1.7 http://127.0.0.1:5000/              -> malicious_attack_tool",
        ],
    ),
    "fastapi": (
        ["example_projects/fastapi_app/app.py"],
        "http://127.0.0.1:8000/",
        [
            "curl -X POST http://127.0.0.1:8000/login -H 'content-type: application/json' "
            '-d \'{"username": "alice", "password": "wrong"}\'   -> authn_login_fail',
            "curl http://127.0.0.1:8000/me                          -> authn_fail (401)",
            "curl http://127.0.0.1:8000/admin -H 'Authorization: Bearer token-alice'"
            "   -> authz_fail (403)",
            "curl http://127.0.0.1:8000/boom                        -> sys_error",
        ],
    ),
}


def _run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    return subprocess.call([str(a) for a in args], cwd=ROOT, env=env)


def _stamp(name: str) -> Path:
    return VENV / f".seclog-installed-{name}"


def _fresh(name: str) -> bool:
    pyproject = ROOT / "pyproject.toml"
    stamp = _stamp(name)
    return stamp.exists() and stamp.read_text() == str(pyproject.stat().st_mtime_ns)


def _system_pip() -> bool:
    """True when this interpreter's pip can install into another environment (pip >= 22.3)."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=False
    )
    parts = result.stdout.split()
    if result.returncode != 0 or len(parts) < 2:
        return False
    numbers = [int(n) for n in parts[1].split(".")[:2] if n.isdigit()]
    return len(numbers) == 2 and tuple(numbers) >= (22, 3)


def _pip(*args: str, quiet: bool) -> int:
    """pip install into .venv: its own pip when it has one, else this interpreter's."""
    if (BIN / "pip").exists() or not _system_pip():
        command = [str(PYTHON), "-m", "pip", "install"]
    else:
        command = [sys.executable, "-m", "pip", "--python", str(PYTHON), "install"]
    command += ["--disable-pip-version-check", *args]
    if not quiet:
        return subprocess.call(command, cwd=ROOT)
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:  # the held-back output is what explains the failure
        sys.stderr.write(result.stdout + result.stderr)
    return result.returncode


def ensure_venv(name: str = "dev") -> None:
    """Create .venv and install what `name` needs, once (again when pyproject.toml changes).

    The full development set covers every other set, so after `dev.py test` nothing else
    installs; the demo alone installs the core's dependencies only, in seconds.
    """
    if _fresh(name) or _fresh("dev"):
        return
    started = time.monotonic()
    if not PYTHON.exists():
        # Without pip when this interpreter's pip can fill the venv: ensurepip costs seconds.
        venv.EnvBuilder(with_pip=name == "dev" or not _system_pip()).create(VENV)
    if name == "dev":
        print("dev.py: installing seclog[dev] into .venv (first run only)", flush=True)
        quiet = ["-q"] if os.environ.get("CI") else []
        if not (BIN / "pip").exists() and _run(PYTHON, "-m", "ensurepip") != 0:
            sys.exit("dev.py: could not install pip into .venv")
        if _run(PYTHON, "-m", "pip", "install", *quiet, "--upgrade", "pip") != 0:
            sys.exit("dev.py: could not upgrade pip")
        if _run(PYTHON, "-m", "pip", "install", *quiet, "-e", ".[dev]") != 0:
            sys.exit("dev.py: could not install seclog[dev]")
    else:
        if name == "demo":
            what, args = "the demo's dependencies", ["--no-compile", *DEMO_REQUIREMENTS]
        else:
            extra = EXTRAS[name]
            extras = EXAMPLE_PACKAGES.get(name.removeprefix("example-"), [])
            what, args = f"seclog[{extra}]", ["-e", f".[{extra}]", *extras]
        # One progress line: the first contact should not scroll pages of pip output.
        print(f"dev.py: installing {what} into .venv (first run only) ...", end="", flush=True)
        if _pip("-q", *args, quiet=True) != 0:
            sys.exit(f"\ndev.py: could not install {what}")
        print(f" done in {time.monotonic() - started:.0f} s", flush=True)
    _stamp(name).write_text(str((ROOT / "pyproject.toml").stat().st_mtime_ns))


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


def example(name: str, rest: list[str]) -> int:
    """Run one example app with the venv, after saying what to try against it."""
    argv, url, tries = EXAMPLES[name]
    ensure_venv(f"example-{name}")
    print(f"dev.py: the {name} example at {url} (Ctrl-C to stop). Security events are printed")
    print("on stderr as JSON lines (set OTEL_EXPORTER_OTLP_ENDPOINT to send them to a collector).")
    print("Try:")
    for line in tries:
        print(f"  {line}")
    print(flush=True)
    try:
        return _run(PYTHON, *argv, *rest)
    except KeyboardInterrupt:
        return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    if command == "demo":
        ensure_venv("demo")
        return _run(PYTHON, "-m", "seclog_cli", "demo", *rest)
    if command == "example":
        if not rest or rest[0] not in EXAMPLES:
            print(f"dev.py: use: example {'|'.join(EXAMPLES)}", file=sys.stderr)
            return 2
        return example(rest[0], rest[1:])
    if command == "docs":
        ensure_venv("docs")
        return _run(BIN / "mkdocs", "build", "--strict", *rest)
    ensure_venv("dev")
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
        paths = [*PACKAGES, "tests", "benchmarks", "example_projects", "dev.py", "docs"]
        status = _run(PYTHON, "-m", "ruff", "check", *paths, *rest)
        status |= _run(PYTHON, "-m", "ruff", "format", "--check", *paths)
        status |= _run(PYTHON, "-m", "mypy", "--strict", *PACKAGES, "tests/typing")
        return status
    print(
        f"dev.py: unknown command {command!r}; use demo, example, test, bench, lint, docs or tox",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
