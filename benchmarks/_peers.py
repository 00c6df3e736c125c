"""Adapters for suites other engineers own, whose modules expose their own entry points.

A module with ``run(settings)`` needs none. Otherwise: the detectors suite's
``per_event_cost`` becomes table rows, and any other module's ``main()`` is run
with its output captured and printed under the table.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path
from types import ModuleType

from ._harness import Row, Settings

__all__ = ["adapt"]

ROOT = Path(__file__).resolve().parent.parent
# Arguments that keep another suite's main() CI-sized.
_ARGS = {"lint": [str(ROOT / "seclog_core")], "integrity": []}


def _detectors(module: ModuleType, settings: Settings) -> list[Row]:
    costs: dict[str, float] = module.per_event_cost(
        settings.rounds(15, 5), settings.rounds(2000, 500)
    )
    base = costs.get("pipeline, detectors off")
    rows = []
    for label, micros in costs.items():
        ratio = f"{micros / base:.2f}x" if base else ""
        rows.append(Row("detectors", "one failed login", label, micros, "µs/event", ratio))
    # The goal: state shared by the workers of a host (SQLite, the default) costs at
    # most 1.2x keeping it per process, per event through the whole pipeline.
    # Labels as the detectors suite names them (the default path: queued, worker busy).
    host = costs.get("host state, queued, worker busy") or costs.get(
        "pipeline, detectors on (host state)"
    )
    process = costs.get("process state, queued") or costs.get(
        "pipeline, detectors on (process state)"
    )
    if host and process:
        shared = host / process
        rows.append(
            Row(
                "detectors",
                "one failed login, shared state vs per process",
                "seclog, host state",
                host,
                "µs/event",
                f"{shared:.2f}x",
                "<= 1.2x process state",
                "met" if shared <= 1.2 else "NOT MET",
                f"process state {process:.1f} µs/event",
            )
        )
    # The same comparison on the detection thread, where the counting now runs.
    host_worker = costs.get("worker (host state, SQLite WAL)")
    process_worker = costs.get("worker (process state, memory)")
    if host_worker and process_worker:
        rows.append(
            Row(
                "detectors",
                "detection thread, shared state vs per process",
                "seclog, host state",
                host_worker,
                "µs/event",
                f"{host_worker / process_worker:.2f}x",
                note=f"process state {process_worker:.1f} µs/event, off the request thread",
            )
        )
    return rows


def adapt(name: str, module: ModuleType, settings: Settings) -> tuple[list[Row], str]:
    """Rows for the table and any free text the suite printed."""
    if name == "detectors" and hasattr(module, "per_event_cost"):
        return _detectors(module, settings), ""
    main = getattr(module, "main", None)
    if main is None:
        raise RuntimeError(f"bench_{name} has neither run(settings) nor main()")
    argv = sys.argv
    sys.argv = [f"bench_{name}.py", *_ARGS.get(name, [])]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            main()
    finally:
        sys.argv = argv
    return [], out.getvalue().strip()
