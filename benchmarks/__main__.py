"""Run every benchmark suite and print one table: ``python -m benchmarks [--quick] [--only NAME]``.

``--record FILE`` stores the run's ratios; ``--check FILE`` fails (exit 1) when a
ratio is more than twice as bad as the recorded one (CI runs the quick event and
request suites this way against ``benchmarks/baseline.json``).

Each suite is a module ``bench_<name>.py`` with ``run(settings) -> list[Row]``;
a suite whose module is absent (another engineer's, not written yet) is
skipped with a line saying so. Every number in the table comes from this run.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import os
import platform
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._baseline import check, record
from ._harness import Row, Settings, render_goals, render_table
from ._peers import adapt

# In the order they run: cheap, in-process suites first, servers and floods last.
SUITES = (
    "event",
    "redaction",
    "requests",
    "detectors",
    "detection",
    "integrity",
    "lint",
    "export",
    "server",
    "memory",
)
PEERS = (
    "opentelemetry-sdk",
    "opentelemetry-instrumentation-django",
    "opentelemetry-instrumentation-flask",
    "opentelemetry-instrumentation-starlette",
    "opentelemetry-instrumentation-fastapi",
    "sentry-sdk",
    "django-axes",
    "django",
    "flask",
    "starlette",
    "fastapi",
    "uvicorn",
    "gunicorn",
)


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _as_rows(suite: str, result: Any) -> list[Row]:
    """Accept Rows, or plain mappings with the same fields (suites written elsewhere)."""
    rows: list[Row] = []
    for item in result or ():
        if isinstance(item, Row):
            rows.append(item)
        elif isinstance(item, Mapping):
            fields = {k: item[k] for k in Row.__dataclass_fields__ if k in item}
            fields.setdefault("suite", suite)
            fields.setdefault("case", "")
            fields.setdefault("variant", "")
            fields.setdefault("value", float("nan"))
            fields.setdefault("unit", "")
            rows.append(Row(**fields))
    return rows


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs, {model}, Python {platform.python_version()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="CI-sized run (under 2 minutes)")
    size.add_argument("--full", action="store_true", help="the full run (the default; ~10 min)")
    parser.add_argument(
        "--only",
        action="append",
        choices=SUITES,
        metavar="NAME",
        help=f"run only this suite (repeatable): {', '.join(SUITES)}",
    )
    parser.add_argument("--record", type=Path, metavar="FILE", help="store this run's ratios")
    parser.add_argument(
        "--check",
        type=Path,
        metavar="FILE",
        help="fail when a ratio is over 2x worse than recorded in FILE",
    )
    args = parser.parse_args(argv)
    settings = Settings(quick=args.quick)
    rows: list[Row] = []
    notes: list[str] = []
    texts: list[str] = []
    for name in args.only or SUITES:
        started = time.monotonic()
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
        except ModuleNotFoundError as exc:
            if exc.name and (
                exc.name == f"benchmarks.bench_{name}" or exc.name.startswith("seclog")
            ):
                notes.append(f"{name}: skipped ({exc.name} is not there yet)")
                continue
            notes.append(f"{name}: FAILED (ImportError: {exc})")
            continue
        except Exception as exc:  # a half-changed module elsewhere must not lose the run
            notes.append(f"{name}: FAILED ({type(exc).__name__} on import: {exc})")
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            if hasattr(module, "run"):
                rows.extend(_as_rows(name, module.run(settings)))
            else:  # another engineer's suite with its own entry point
                extra, text = adapt(name, module, settings)
                rows.extend(extra)
                if text:
                    texts.append(f"[{name}]\n{text}")
        except Exception as exc:  # one broken suite must not hide the others' numbers
            notes.append(f"{name}: FAILED ({type(exc).__name__}: {exc})")
            continue
        notes.append(f"{name}: {time.monotonic() - started:.0f} s")
    print(f"seclog benchmarks ({'quick' if args.quick else 'full'} run) on {_machine()}")
    print(render_table(rows))
    goals = [r for r in rows if r.target]
    if goals:
        # The goals of the performance issue, each with its measured ratio and verdict.
        print()
        print(f"goals: {sum(r.verdict in ('met', 'ok') for r in goals)} of {len(goals)} met")
        print(render_goals(goals))
    print()
    print("peers: " + ", ".join(f"{p} {_version(p)}" for p in PEERS))
    for text in texts:
        print(text)
    print("suites: " + "; ".join(notes))
    failed = any("FAILED" in note for note in notes)
    if args.record:
        record(rows, args.record)
        print(f"ratios recorded in {args.record}")
    if args.check:
        problems = check(rows, args.check)
        for problem in problems:
            print(f"REGRESSION {problem}")
        print(f"regression check against {args.check}: {len(problems)} problem(s)")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
