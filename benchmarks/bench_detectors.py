"""Detector cost and memory: per-event cost of the detectors, and the cap under a key flood.

Run: python benchmarks/bench_detectors.py [--keys 1000000]
Prints medians (µs per event) for a pipeline with detectors off and on: on the
request thread (which only queues; with the detection thread busy, and held), the
detection thread's own cost per state backend, and the RSS growth while an
attacker cycles through unique user names and client addresses. No pass/fail: numbers to read.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import resource
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from seclog_core import export, pipeline
from seclog_core.context import RequestContext, request_context
from seclog_core.detect import DEFAULT_RULES, DetectorEngine, MemoryState, StateBackend
from seclog_core.detect.redis_state import RedisState
from seclog_core.detect.sqlite_state import SQLiteState
from seclog_core.detect.worker import DetectionQueue
from seclog_core.events import SecurityEvent
from seclog_core.pipeline import settle
from seclog_core.vocabulary import get_event_type


def rss_mib() -> float:
    """Current resident set size in MiB (Linux /proc), falling back to the peak."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _event(user: str, client: str) -> SecurityEvent:
    attrs = {
        "security.event": "authn_login_fail",
        "user.name": user,
        "client.address": client,
        "user_agent.original": "Mozilla/5.0 (X11; Linux x86_64)",
    }
    return SecurityEvent(get_event_type("authn_login_fail"), "x", attrs, time.time_ns())


def _request_thread_cost(
    pipe: pipeline.Pipeline,
    rounds: int,
    per_round: int,
    *,
    hold: bool = False,
) -> float:
    """Median µs per failed-login event on the emitting thread (the worker drained between
    rounds, outside the timing, so none is dropped). ``hold``: the worker waits until the
    round is timed, so the number is the capture alone, not the worker's share of the GIL."""
    engine = pipe.state.get("detectors")
    gate = threading.Event()
    gate.set()
    if isinstance(engine, DetectorEngine) and hold:
        handle_many = engine._handle_many

        def held(items: list[Any]) -> None:
            gate.wait()
            handle_many(items)

        engine.queue = DetectionQueue(engine._handle, name="seclog-detect", handle_many=held)
    samples = []
    with request_context(RequestContext(client_address="198.51.100.1")):
        for r in range(rounds):
            if hold:
                gate.clear()
            start = time.perf_counter()
            for i in range(per_round):
                pipe.emit("authn_login_fail", {"user.name": f"u{r}-{i % 50}"})
            samples.append((time.perf_counter() - start) / per_round * 1e6)
            gate.set()
            settle(60)
    return statistics.median(samples)


def per_event_cost(rounds: int, per_round: int) -> dict[str, float]:
    """Median µs per failed-login event: on the request thread, and for the worker."""
    # Providers with no processors: measures seclog, not an exporter.
    export.set_providers(export.Providers(LoggerProvider(), TracerProvider(), MeterProvider(), ()))
    results: dict[str, float] = {}
    scratch = tempfile.mkdtemp(prefix="seclog-bench-state-")
    off = pipeline.new_pipeline(detectors=False, flood_limit=0)
    results["pipeline, detectors off"] = _request_thread_cost(off, rounds, per_round)
    # Before and after, side by side in one run: each on a state file of its own.
    for n, (label, hold) in enumerate(
        (("queued, worker busy", False), ("queued, capture alone", True))
    ):
        pipe = pipeline.new_pipeline(flood_limit=0, state_dir=os.path.join(scratch, str(n)))
        results[f"host state, {label}"] = _request_thread_cost(pipe, rounds, per_round, hold=hold)
    process = pipeline.new_pipeline(flood_limit=0, detector_state="process")
    results["process state, queued"] = _request_thread_cost(process, rounds, per_round)
    # Default rules: their thresholds also cap what each key keeps (raising them to keep
    # alerts out would inflate every window). Alerts fire once per key, then cooldowns.
    quiet = dict(DEFAULT_RULES)
    events = [_event(f"u{i % 500}", f"198.51.100.{i % 200}") for i in range(per_round)]
    backends: dict[str, StateBackend] = {
        "worker (process state, memory)": MemoryState(),
        "worker (host state, SQLite WAL)": SQLiteState(os.path.join(scratch, "engine.sqlite3")),
    }
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(_redis())
        if url:
            backends["worker (Redis, local)"] = RedisState(url, timeout=1.0)
        for label, backend in backends.items():
            engine = DetectorEngine(pipeline.new_pipeline(detectors=False), quiet, backend)
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                for event in events:
                    engine.observe(event)
                engine.drain(60)  # the worker's time: queued until counted
                samples.append((time.perf_counter() - start) / per_round * 1e6)
            results[label] = statistics.median(samples)
    shutil.rmtree(scratch, ignore_errors=True)
    return results


@contextlib.contextmanager
def _redis() -> Iterator[str | None]:
    """A throwaway local redis-server when one is installed (for the shared-state cost)."""
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def flood_memory(keys: int, max_keys: int) -> tuple[float, float, int]:
    """RSS growth (MiB) after ``keys`` failed logins with unique users and clients."""
    # Real thresholds: alerts fire along the way (distinct-count rules), as in an attack.
    engine = DetectorEngine(
        pipeline.new_pipeline(detectors=False), DEFAULT_RULES, MemoryState(max_keys)
    )
    gc.collect()
    before = rss_mib()
    half = None
    for i in range(keys):
        engine.observe(_event(f"user{i}", f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}"))
        if i % 2000 == 1999:
            engine.drain(60)  # the worker keeps up: nothing dropped from its queue
        if i == keys // 2:
            gc.collect()
            half = rss_mib() - before
    engine.drain(60)
    gc.collect()
    assert isinstance(engine.backend, MemoryState)
    return half or 0.0, rss_mib() - before, engine.backend.size()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--max-keys", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=2000)
    args = parser.parse_args()

    costs = per_event_cost(args.rounds, args.per_round)
    base = costs["pipeline, detectors off"]
    print(f"per-event cost, median of {args.rounds} rounds x {args.per_round} events:")
    for label, micros in costs.items():
        print(f"  {label:34s} {micros:8.2f} µs   ({micros / base:5.2f}x detectors-off pipeline)")
    busy = costs["host state, queued, worker busy"]
    alone = costs["host state, queued, capture alone"]
    print(f"  host state on the request thread: {alone:.2f} µs (the capture adds")
    print(f"  {alone - base:.2f} µs per event; {busy:.2f} µs while the worker shares the GIL)")

    started = time.perf_counter()
    half, full, size = flood_memory(args.keys, args.max_keys)
    took = time.perf_counter() - started
    print(f"flood of {args.keys:,} unique user names and addresses (max_keys={args.max_keys:,}):")
    print(f"  RSS growth after {args.keys // 2:,} events: {half:7.1f} MiB")
    print(f"  RSS growth after {args.keys:,} events: {full:7.1f} MiB  (cap holds if these match)")
    print(f"  keys held by the state: {size:,}   ({took / args.keys * 1e6:.2f} µs per event)")


if __name__ == "__main__":
    main()
