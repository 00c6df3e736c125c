"""Detector cost and memory: per-event cost of the detectors, and the cap under a key flood.

Run: python benchmarks/bench_detectors.py [--keys 1000000]
Prints medians (µs per event) for a pipeline with detectors off and on, the
detector engine alone, and the RSS growth while an attacker cycles through
unique user names and client addresses. No pass/fail: numbers to read.
"""

from __future__ import annotations

import argparse
import gc
import resource
import statistics
import time
from dataclasses import replace

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

from seclog_core import export, pipeline
from seclog_core.context import RequestContext, request_context
from seclog_core.detect import DEFAULT_RULES, DetectorEngine, MemoryState
from seclog_core.events import SecurityEvent
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


def per_event_cost(rounds: int, per_round: int) -> dict[str, float]:
    """Median µs per failed-login event, end to end and for the engine alone."""
    # Providers with no processors: measures seclog, not an exporter.
    export.set_providers(export.Providers(LoggerProvider(), TracerProvider(), MeterProvider(), ()))
    results: dict[str, float] = {}
    for label, options in (
        ("pipeline, detectors off", {"detectors": False, "flood_limit": 0}),
        ("pipeline, detectors on", {"flood_limit": 0}),
    ):
        pipe = pipeline.new_pipeline(**options)
        samples = []
        with request_context(RequestContext(client_address="198.51.100.1")):
            for r in range(rounds):
                start = time.perf_counter()
                for i in range(per_round):
                    pipe.emit("authn_login_fail", {"user.name": f"u{r}-{i % 50}"})
                samples.append((time.perf_counter() - start) / per_round * 1e6)
        results[label] = statistics.median(samples)
    # Thresholds out of reach: this measures counting, not the (rare) alert emission.
    quiet = {name: replace(rule, threshold=10**9) for name, rule in DEFAULT_RULES.items()}
    engine = DetectorEngine(pipeline.new_pipeline(detectors=False), quiet, MemoryState())
    events = [_event(f"u{i % 500}", f"198.51.100.{i % 200}") for i in range(per_round)]
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for event in events:
            engine.observe(event)
        samples.append((time.perf_counter() - start) / per_round * 1e6)
    results["engine alone (in-memory state)"] = statistics.median(samples)
    return results


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
        if i == keys // 2:
            gc.collect()
            half = rss_mib() - before
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
    print(f"  detector overhead in the pipeline   {costs['pipeline, detectors on'] - base:8.2f} µs")

    started = time.perf_counter()
    half, full, size = flood_memory(args.keys, args.max_keys)
    took = time.perf_counter() - started
    print(f"flood of {args.keys:,} unique user names and addresses (max_keys={args.max_keys:,}):")
    print(f"  RSS growth after {args.keys // 2:,} events: {half:7.1f} MiB")
    print(f"  RSS growth after {args.keys:,} events: {full:7.1f} MiB  (cap holds if these match)")
    print(f"  keys held by the state: {size:,}   ({took / args.keys * 1e6:.2f} µs per event)")


if __name__ == "__main__":
    main()
