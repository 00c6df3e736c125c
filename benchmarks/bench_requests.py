"""Per-request overhead: bare app vs seclog vs OpenTelemetry contrib vs sentry-sdk (vs django-axes).

Each variant runs in its own process (the peers patch frameworks process-wide)
and is driven round by round, variants alternating, so all of them see the
same machine noise; apps are called directly (WSGI callable, raw ASGI call).
Paths: a 200 page (no security event), a 403, and for Django a failing login
through Django's real auth with the MD5 hasher.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ._harness import Row, Settings, Timings, overhead_rows

__all__ = ["GROUPS", "run"]

ROOT = Path(__file__).resolve().parent.parent
# framework -> (paths, variants)
GROUPS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "django": (("ok", "forbidden", "login_fail"), ("bare", "seclog", "otel", "sentry", "axes")),
    "flask": (("ok", "forbidden"), ("bare", "seclog", "otel", "sentry")),
    "starlette": (("ok", "forbidden"), ("bare", "seclog", "otel", "sentry")),
    "fastapi": (("ok", "forbidden"), ("bare", "seclog", "otel", "sentry")),
}
_CASES = {"ok": "200, no event", "forbidden": "403", "login_fail": "failing login"}


class _Worker:
    def __init__(self, framework: str, variant: str, path: str) -> None:
        self.variant = variant
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._request_worker", framework, variant, path],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # peers' own logging (axes) must not fill a pipe
            text=True,
        )

    def ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"{self.variant} worker did not start (exit {self.proc.poll()})")

    def time(self, count: int) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{count}\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline()) / count / 1000.0  # µs per request

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()


def _measure(
    framework: str, path: str, variants: tuple[str, ...], rounds: int, inner: int
) -> Timings:
    workers = [_Worker(framework, v, path) for v in variants]
    try:
        for worker in workers:
            worker.ready()
        for worker in workers:
            worker.time(inner)  # one untimed round each
        timings = Timings({v: [] for v in variants})
        for index in range(rounds):
            shift = index % len(workers)
            for worker in workers[shift:] + workers[:shift]:
                timings.samples[worker.variant].append(worker.time(inner))
        return timings
    finally:
        for worker in workers:
            worker.close()


def run(settings: Settings, frameworks: tuple[str, ...] | None = None) -> list[Row]:
    rows: list[Row] = []
    rounds, inner = settings.rounds(40, 10), settings.rounds(200, 60)
    for framework, (paths, variants) in GROUPS.items():
        if frameworks is not None and framework not in frameworks:
            continue
        for path in paths:
            timings = _measure(framework, path, variants, rounds, inner)
            case = f"{framework} {_CASES[path]}"
            if path == "ok":
                wsgi = framework in ("django", "flask")
                rows += overhead_rows(
                    "requests",
                    case,
                    timings,
                    max_ratio=1.05 if wsgi else None,
                    peer_share=("otel", 0.03),
                )
            elif path == "login_fail":
                rows += overhead_rows("requests", case, timings, max_ratio=1.10)
            else:
                rows += overhead_rows("requests", case, timings)
    return rows
