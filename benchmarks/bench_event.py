"""One security event vs the hand-written plain-SDK floor and the physical floor.

Each variant runs in its own process (``benchmarks._event_worker``) and exports
over OTLP/gRPC to a real receiver in this process; variants alternate round
by round. A round is N events (one request each, a new user and client each
time, no tracing in the app), timed on the calling thread, then a flush of
what the batch left for the export threads, timed separately.

Rows: the physical floor (a dict build and a deque append: what capturing the
facts costs at the least), the plain-SDK floor (a short span, one span event
and one LogRecord with the same attributes, the SDK's batch processors and
OTLP exporters), seclog with its defaults, seclog without detectors, and
seclog with an integrity key (its ratio is against seclog without one).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ._harness import Row, Settings, Timings, private_tmpdir

__all__ = ["INTEGRITY_TARGET", "TARGET", "VARIANTS", "run"]

TARGET = 1.0  # an event may cost at most the plain-SDK floor (aim: 0.7x)
INTEGRITY_TARGET = 1.2  # an integrity key may add at most 20% to an event
ROOT = Path(__file__).resolve().parent.parent
VARIANTS = (
    "physical floor",
    "sdk floor",
    "seclog",
    "seclog, no detectors",
    "seclog, integrity key",
)
CASE = "one authn_login_fail"


class _Worker:
    def __init__(self, variant: str, env: dict[str, str]) -> None:
        self.variant = variant
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._event_worker", variant],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )

    def ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{self.variant} worker did not start (exit {self.proc.poll()})")

    def time(self, count: int) -> tuple[float, float]:
        """µs per event on the calling thread, and µs per event including the flush."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{count}\n")
        self.proc.stdin.flush()
        emit_ns, flush_ns = (int(part) for part in self.proc.stdout.readline().split())
        return emit_ns / count / 1000.0, (emit_ns + flush_ns) / count / 1000.0

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def measure(
    variants: tuple[str, ...], rounds: int, inner: int, env: dict[str, str]
) -> tuple[Timings, Timings]:
    """Request-thread timings and timings with the export flush, paired by round."""
    workers = [_Worker(v, env) for v in variants]
    try:
        for worker in workers:
            worker.ready()
        thread = Timings({v: [] for v in variants})
        total = Timings({v: [] for v in variants})
        for index in range(rounds):
            shift = index % len(workers)
            for worker in workers[shift:] + workers[:shift]:
                emit_us, total_us = worker.time(inner)
                thread.samples[worker.variant].append(emit_us)
                total.samples[worker.variant].append(total_us)
        return thread, total
    finally:
        for worker in workers:
            worker.close()


def _ratio(timings: Timings, name: str, base: str) -> float:
    base_us = timings.median(base)
    return (base_us + timings.median_diff(name, base)) / base_us


def rows_from(thread: Timings, total: Timings) -> list[Row]:
    rows: list[Row] = []
    notes = {
        "physical floor": "dict of 13 attributes + deque append",
        "sdk floor": "short span + span event + LogRecord, 13 attributes, OTLP/gRPC",
        "seclog": "defaults: redaction, detectors (host state), flood gate, own span",
        "seclog, no detectors": "detectors and flood gate off",
        "seclog, integrity key": "ratio vs seclog without a key",
    }
    for name in thread.samples:
        if name == "seclog, integrity key":
            ratio = _ratio(thread, name, "seclog")
            target, ok = f"<= {INTEGRITY_TARGET:.1f}x no key", ratio <= INTEGRITY_TARGET
        else:
            ratio = _ratio(thread, name, "sdk floor")
            target, ok = (
                (f"<= {TARGET:.1f}x sdk floor", ratio <= TARGET) if name == "seclog" else ("", True)
            )
        physical = thread.median_diff(name, "physical floor")
        note = notes.get(name, "")
        if name != "physical floor":
            note += f"; +{physical:.1f} µs over the physical floor"
        rows.append(
            Row(
                "event",
                f"{CASE}, request thread",
                name,
                thread.median(name),
                "µs/event",
                f"{ratio:.2f}x",
                target,
                ("met" if ok else "NOT MET") if target else "",
                note,
            )
        )
    for name in total.samples:
        if name == "physical floor":
            continue
        base = "seclog" if name == "seclog, integrity key" else "sdk floor"
        rows.append(
            Row(
                "event",
                f"{CASE}, incl. export flush",
                name,
                total.median(name),
                "µs/event",
                f"{_ratio(total, name, base):.2f}x",
                note=f"vs {base}; every thread's work",
                guard=False,  # gRPC round trips in the flush: context, not a CI guard
            )
        )
    return rows


def run(settings: Settings) -> list[Row]:
    sys.path.insert(0, str(ROOT))
    from tests.support.otlp import otlp_receiver

    with otlp_receiver() as receiver, private_tmpdir() as scratch:
        env = {**os.environ, **receiver.env("grpc"), "PYTHONPATH": str(ROOT)}
        for name in ("OTEL_BLRP_SCHEDULE_DELAY", "OTEL_BSP_SCHEDULE_DELAY"):
            env.pop(name, None)  # every variant keeps the SDK's defaults
        env["BENCH_STATE_DIR"] = str(Path(scratch, "state"))
        env["SECLOG_SPOOL_DIR"] = str(Path(scratch, "spool"))
        env["SECLOG_LOCAL_SINK"] = "none"
        thread, total = measure(
            VARIANTS,
            rounds=settings.rounds(30, 8),
            inner=settings.rounds(300, 150),
            env=env,
        )
    return rows_from(thread, total)
