"""Request-thread cost of emission with integrity on vs off, and on-disk spool throughput.

Run: python benchmarks/bench_integrity.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import seclog_core as seclog
from seclog_core import export, pipeline
from seclog_core._segments import Spool
from seclog_core.spool import DurableLogProcessor, Outcome

EVENTS, ROUNDS = 2000, 7


def _emission_median_us(**settings: Any) -> float:
    """Median per-event time on the calling thread, through the real durable hand-off."""
    provider = LoggerProvider(shutdown_on_exit=False)
    processor = DurableLogProcessor(
        InMemoryLogRecordExporter(), lambda payload, timeout: Outcome.OK, None
    )
    provider.add_log_record_processor(processor)
    export.set_providers(
        export.Providers(provider, TracerProvider(shutdown_on_exit=False), MeterProvider(), ())
    )
    pipeline.configure(own_spans=False, detectors=False, **settings)
    rounds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for n in range(EVENTS):
            seclog.login_failed(username=f"user{n}", reason="bad_credentials")
        rounds.append((time.perf_counter() - started) / EVENTS * 1e6)
        processor.force_flush(5000)
    processor.shutdown()
    return statistics.median(rounds)


def _sample_batch(size: int = 512) -> tuple[int, bytes]:
    memory = InMemoryLogRecordExporter()
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    export.set_providers(
        export.Providers(provider, TracerProvider(shutdown_on_exit=False), MeterProvider(), ())
    )
    pipeline.configure(own_spans=False, detectors=False, integrity_key="bench-key-" * 4)
    for n in range(size):
        seclog.login_failed(username=f"user{n}", reason="bad_credentials")
    return size, encode_logs(memory.get_finished_logs()).SerializeToString()


def _spool_throughput() -> dict[str, float]:
    count, payload = _sample_batch()
    batches = 200
    with tempfile.TemporaryDirectory() as directory:
        spool = Spool(directory, 1 << 30)
        started = time.perf_counter()
        for _ in range(batches):
            spool.append(count, payload, lambda n, r: None)
        write_s = time.perf_counter() - started
        spool.seal()
        started = time.perf_counter()
        with spool.replay_lock():
            spool.replay(lambda frame: True, lambda n: None)
        replay_s = time.perf_counter() - started
    total = len(payload) * batches
    return {
        "batch_records": count,
        "batch_kib": len(payload) / 1024,
        "write_mb_s": total / write_s / 1e6,
        "write_records_s": count * batches / write_s,
        "replay_mb_s": total / replay_s / 1e6,
        "replay_records_s": count * batches / replay_s,
    }


def main() -> None:
    off = _emission_median_us()
    on = _emission_median_us(integrity_key="bench-key-0123456789abcdef")
    print(f"emission on the request thread, median of {ROUNDS} x {EVENTS} events:")
    print(f"  integrity off: {off:7.1f} us/event")
    print(f"  integrity on:  {on:7.1f} us/event  (ratio {on / off:.2f})")
    stats = _spool_throughput()
    print(
        f"spool, {stats['batch_records']:.0f}-record batches of {stats['batch_kib']:.0f} KiB, "
        "fsync per batch:"
    )
    print(f"  append: {stats['write_mb_s']:7.1f} MB/s  {stats['write_records_s']:9.0f} records/s")
    print(f"  replay: {stats['replay_mb_s']:7.1f} MB/s  {stats['replay_records_s']:9.0f} records/s")


if __name__ == "__main__":
    main()
