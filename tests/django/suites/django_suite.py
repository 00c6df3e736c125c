"""Django's own test suite with seclog wired in, compared with a baseline run without it.

Django's test suite is not in the wheel but is in its source distribution on
PyPI: this script downloads the sdist of the installed Django version (nothing
else), runs the chosen modules twice with Django's ``runtests.py`` (once as
shipped, once with ``"seclog_django"`` in INSTALLED_APPS and the middleware
after ``AuthenticationMiddleware``, as the docs say), and fails if seclog adds a
failure or an error, raises an internal failure, or reports no event at all.

    python tests/django/suites/django_suite.py [--workdir DIR] [module ...]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import django

MODULES = ("auth_tests", "admin_utils", "modeladmin", "admin_views", "csrf_tests")
MIDDLEWARE = "seclog_django.middleware.SecurityLoggingMiddleware"
AUTH_MIDDLEWARE = '"django.contrib.auth.middleware.AuthenticationMiddleware",'
# Written at the end of the patched runtests.py: what seclog saw and what failed inside it.
_REPORT_HOOK = """

def _seclog_report():
    import atexit, collections, json, os
    from seclog_core import failure_counts
    from seclog_core.testing import capture_security_events

    capture = capture_security_events()  # referenced by write(): collected, it would stop
    captured = capture.__enter__()

    def write():
        assert capture is not None
        with open(os.environ["DJANGO_SUITE_SECLOG_REPORT"], "w") as out:
            json.dump({"events": collections.Counter(captured.types),
                       "failures": failure_counts()}, out)

    atexit.register(write)


_seclog_report()
"""
_RESULT = re.compile(r"^(FAIL|ERROR): (\S+) \(([\w.]+)\)", re.MULTILINE)
_RAN = re.compile(r"^Ran (\d+) tests? in ([\d.]+)s", re.MULTILINE)


def fetch_tests(workdir: Path) -> Path:
    """Django's tests/ directory from the sdist of the installed version (PyPI only)."""
    version = django.get_version()
    root = workdir / f"django-{version}" / "tests"
    if (root / "runtests.py").exists():
        return root
    sdist = workdir / "sdist"
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"django=={version}", "--no-binary", ":all:",
         "--no-deps", "-q", "-d", str(sdist)],
        check=True,
    )  # fmt: skip
    archive = next(sdist.glob("*.tar.gz"), None)
    if archive is None:
        raise SystemExit(f"no sdist of Django {version} on the package index")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith(f"django-{version}/tests/")]
        if not members:
            raise SystemExit(f"Django {version}'s sdist has no tests/ directory")
        tar.extractall(workdir, members=members, filter="data")
    return root


def wire_seclog(tests: Path) -> Path:
    """A copy of runtests.py with seclog added the way the docs say."""
    source = (tests / "runtests.py").read_text()
    apps = '"django.contrib.staticfiles",\n]'
    if apps not in source or AUTH_MIDDLEWARE not in source:
        raise SystemExit("runtests.py changed shape: update wire_seclog()")
    source = source.replace(apps, '"django.contrib.staticfiles",\n    "seclog_django",\n]', 1)
    source = source.replace(AUTH_MIDDLEWARE, f'{AUTH_MIDDLEWARE}\n    "{MIDDLEWARE}",', 1)
    source = source.replace(
        '\nif __name__ == "__main__":', _REPORT_HOOK + '\nif __name__ == "__main__":'
    )
    patched = tests / "runtests_seclog.py"
    patched.write_text(source)
    return patched


def run(tests: Path, script: str, modules: list[str], env: dict[str, str]) -> tuple[set[str], str]:
    """Run Django's runner; the failed and errored test ids, and the summary line."""
    proc = subprocess.run(
        [sys.executable, script, "--parallel=1", "--noinput", "-v", "1", *modules],
        cwd=tests,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = proc.stderr + proc.stdout
    failed = {f"{kind} {cls}.{name}" for kind, name, cls in _RESULT.findall(output)}
    summary = next(
        (ln for ln in reversed(output.splitlines()) if ln.startswith(("OK", "FAILED"))), ""
    )
    if not summary:
        raise SystemExit(f"{script} did not finish:\n{output[-4000:]}")
    ran = _RAN.search(output)
    if ran:
        summary = f"{summary} ({ran.group(1)} tests, {ran.group(2)} s)"
    return failed, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES))
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="seclog-django-suite-"))
    workdir.mkdir(parents=True, exist_ok=True)
    tests = fetch_tests(workdir)
    wire_seclog(tests)
    report = workdir / "seclog-report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    repo = str(Path(__file__).resolve().parents[3])
    env.update(
        PYTHONPATH=os.pathsep.join([repo, env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONWARNINGS="ignore",
        SECLOG_LOCAL_SINK="none",
        SECLOG_SPOOL_DIR="off",
        SECLOG_STATE_DIR=str(workdir / "state"),
        DJANGO_SUITE_SECLOG_REPORT=str(report),
    )
    baseline, base_summary = run(tests, "runtests.py", args.modules, env)
    wired, wired_summary = run(tests, "runtests_seclog.py", args.modules, env)
    seen = json.loads(report.read_text()) if report.exists() else {"events": {}, "failures": {}}
    print(f"baseline:    {base_summary}")
    print(f"with seclog: {wired_summary}")
    print(f"events seen: {sum(seen['events'].values())} {dict(sorted(seen['events'].items()))}")
    print(f"seclog internal failures: {seen['failures'] or 'none'}")
    added = sorted(wired - baseline)
    for test in added:
        print(f"  new with seclog: {test}")
    ok = not added and not seen["failures"] and sum(seen["events"].values()) > 0
    print("OK: seclog adds no failure" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
