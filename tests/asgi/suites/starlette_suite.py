"""Starlette's own middleware tests with seclog wired in, compared with a baseline run.

Starlette's tests are not in the wheel but are in its source distribution on
PyPI: this script downloads the sdist of the installed Starlette version
(nothing else), runs ``tests/middleware`` twice with Starlette's own conftest
(its BlockBuster blocking-call detector is on whenever ``blockbuster`` is
installed), once as shipped and once with ``-p seclog_suite_plugin`` (every app
behind ``SecurityLoggingMiddleware``), and fails if seclog adds a failure or an
error, counts an internal failure, or reports no event at all.

    python tests/asgi/suites/starlette_suite.py [--workdir DIR] [pytest path ...]

Needs, besides seclog: ``starlette[full]``, ``httpx2``, ``blockbuster``, ``trio``,
``pytest`` (the ``starlette-suites`` tox env installs them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import starlette

HERE = Path(__file__).resolve().parent
DEFAULT_PATHS = ("tests/middleware", "tests/test_authentication.py", "tests/test_websockets.py")


def fetch_tests(workdir: Path) -> Path:
    """The unpacked sdist of the installed Starlette version (PyPI only)."""
    version = starlette.__version__
    root = workdir / f"starlette-{version}"
    if (root / "tests" / "conftest.py").exists():
        return root
    download = [sys.executable, "-m", "pip", "download", f"starlette=={version}"]
    subprocess.run(
        [*download, "--no-binary", ":all:", "--no-deps", "--quiet", "-d", str(workdir)],
        check=True,
    )
    archive = workdir / f"starlette-{version}.tar.gz"
    with tarfile.open(archive) as tar:
        tar.extractall(workdir, filter="data")
    return root


def outcomes(report: Path) -> dict[str, str]:
    """Test id -> passed / failed / error / skipped, from a JUnit XML report."""
    found: dict[str, str] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
            elif child.tag == "skipped" and outcome == "passed":
                outcome = "skipped"
        found[test_id] = outcome
    return found


def run(root: Path, paths: list[str], workdir: Path, with_seclog: bool) -> dict[str, str]:
    report = workdir / ("seclog.xml" if with_seclog else "baseline.xml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    # seclog's host state and spool stay in this run's directory, never the user's cache.
    env["SECLOG_STATE_DIR"] = str(workdir / "state")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths]
    command += ["--junitxml", str(report), "-o", "junit_family=xunit2"]
    if with_seclog:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
        env["STARLETTE_SUITE_SECLOG_REPORT"] = str(workdir / "seclog-report.json")
        command += ["-p", "seclog_suite_plugin"]
    subprocess.run(command, cwd=root, env=env, check=False)
    return outcomes(report)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="reuse a download (default: a temp dir)")
    parser.add_argument("paths", nargs="*", default=list(DEFAULT_PATHS))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="starlette-suite-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        root = fetch_tests(workdir)
        baseline = run(root, args.paths, workdir, with_seclog=False)
        wired = run(root, args.paths, workdir, with_seclog=True)
        seen = json.loads((workdir / "seclog-report.json").read_text())
    bad = ("failed", "error")
    added = sorted(t for t, o in wired.items() if o in bad and baseline.get(t) not in bad)
    print(
        f"\nstarlette {starlette.__version__}: {len(baseline)} tests; baseline "
        f"{sum(o in bad for o in baseline.values())} failing, with seclog "
        f"{sum(o in bad for o in wired.values())} failing; events {seen['events']}"
    )
    for test_id in added:
        print(f"  added by seclog: {test_id} ({wired[test_id]})")
    if seen["failures"]:
        print(f"  seclog internal failures: {seen['failures']}")
    if not seen["events"]:
        print("  seclog reported no event: it was not wired in")
    return 1 if added or seen["failures"] or not seen["events"] else 0


if __name__ == "__main__":
    sys.exit(main())
