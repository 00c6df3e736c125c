"""Memory under a flood: RSS while an attacker cycles unique user names and client addresses.

The detectors' state is capped (``detector_max_keys``); the cap holds when RSS
after the whole flood is no higher than after its first half. Uses the
detector engineer's ``bench_detectors.flood_memory`` when present.
"""

from __future__ import annotations

import gc
import resource
import time

from ._harness import Row, Settings

__all__ = ["run"]

_SLACK_MIB = 8.0  # allocator noise tolerated between the half-way and final readings


def _rss_mib() -> float:
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pipeline_flood(keys: int) -> tuple[float, float, int]:
    """The whole pipeline (detectors and flood control on) fed failed logins."""
    from seclog_core import RequestContext

    from ._otel import seclog_pipeline

    # Per-process state: the in-memory cap is what this checks (host state lives on disk).
    with seclog_pipeline(detector_state="process") as pipe:
        ctx = RequestContext(method="POST", path="/login/")
        gc.collect()
        before = _rss_mib()
        half = 0.0
        for i in range(keys):
            ctx.client_address = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            ctx.emitted.clear()
            pipe.emit("authn_login_fail", {"user.name": f"user{i}"}, context=ctx)
            if i == keys // 2:
                gc.collect()
                half = _rss_mib() - before
        gc.collect()
        engine = pipe.state.get("detectors")
        size_of = getattr(getattr(engine, "backend", None), "size", None)
        size = int(size_of()) if callable(size_of) else -1
        return half, _rss_mib() - before, size


def run(settings: Settings) -> list[Row]:
    rows: list[Row] = []
    try:
        from .bench_detectors import flood_memory
    except ImportError:
        flood_memory = None  # type: ignore[assignment]
    keys = settings.rounds(1_000_000, 100_000)
    if flood_memory is not None:
        started = time.perf_counter()
        half, full, size = flood_memory(keys, 10_000)
        took = time.perf_counter() - started
        rows.append(_row(f"detector engine, {keys:,} unique keys", half, full, size, took, keys))
    events = settings.rounds(200_000, 30_000)
    started = time.perf_counter()
    half, full, size = _pipeline_flood(events)
    took = time.perf_counter() - started
    rows.append(_row(f"whole pipeline, {events:,} failed logins", half, full, size, took, events))
    return rows


def _row(case: str, half: float, full: float, size: int, took: float, count: int) -> Row:
    holds = full <= half + _SLACK_MIB
    return Row(
        "memory",
        case,
        "seclog",
        full,
        "MiB RSS growth",
        target="cap holds (2nd half adds < 8 MiB)",
        verdict="met" if holds else "NOT MET",
        note=f"{half:.1f} MiB at half-way; {size:,} keys held; {took / count * 1e6:.1f} µs/event",
    )
