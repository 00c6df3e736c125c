"""Request-thread cost of emission with integrity on vs off, and on-disk spool throughput.

Run: python benchmarks/bench_integrity.py, or as the ``integrity`` suite of
``python -m benchmarks`` (table rows; the event suite also has the key on vs
off with seclog's defaults and real export).
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

from ._harness import Row, Settings

EVENTS, ROUNDS = 2000, 7


def _emission_median_us(**settings: Any) -> tuple[float, float]:
    """Median per-event time on the calling thread, and including seclog's thread (the
    sequence number and MAC are taken there), through the real durable hand-off."""
    provider = LoggerProvider(shutdown_on_exit=False)
    processor = DurableLogProcessor(
        InMemoryLogRecordExporter(),  # type: ignore[no-untyped-call]
        lambda payload, timeout: Outcome.OK,
        None,
    )
    provider.add_log_record_processor(processor)
    export.set_providers(
        export.Providers(provider, TracerProvider(shutdown_on_exit=False), MeterProvider(), ())
    )
    pipeline.configure(own_spans=False, detectors=False, **settings)
    calling, handled = [], []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for n in range(EVENTS):
            seclog.login_failed(username=f"user{n}", reason="bad_credentials")
        calling.append((time.perf_counter() - started) / EVENTS * 1e6)
        pipeline.settle(30.0)
        handled.append((time.perf_counter() - started) / EVENTS * 1e6)
        processor.force_flush(5000)
    processor.shutdown()
    return statistics.median(calling), statistics.median(handled)


def _sample_batch(size: int = 512) -> tuple[int, bytes]:
    memory = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
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


def run(settings: Settings) -> list[Row]:
    """Table rows: integrity off vs on per event (rounds alternate), then spool throughput."""
    offs: list[tuple[float, float]] = []
    ons: list[tuple[float, float]] = []
    for _ in range(settings.rounds(5, 2)):
        offs.append(_emission_median_us())
        ons.append(_emission_median_us(integrity_key="bench-key-0123456789abcdef"))
    stats = _spool_throughput()
    batch = f"{stats['batch_records']:.0f}-record batches of {stats['batch_kib']:.0f} KiB"
    rows = []
    cases = (
        (0, "emission, calling thread", "request thread: sequence and MAC run on seclog's"),
        (1, "emission, incl. seclog's thread", "sequence + MAC, every thread's work"),
    )
    for index, case, note in cases:
        off = statistics.median(pair[index] for pair in offs)
        on = statistics.median(pair[index] for pair in ons)
        ratio = statistics.median(b[index] / a[index] for a, b in zip(offs, ons, strict=True))
        goal = index == 0
        rows += [
            Row("integrity", case, "integrity off", off, "µs/event", "1.00x"),
            Row(
                "integrity",
                case,
                "seclog, integrity key",
                on,
                "µs/event",
                f"{ratio:.2f}x",
                "<= 1.2x off" if goal else "",
                ("met" if ratio <= 1.2 else "NOT MET") if goal else "",
                note + " (detectors and own span off)",
            ),
        ]
    return [
        *rows,
        Row(
            "integrity",
            "spool append, fsync per batch",
            "seclog",
            stats["write_records_s"],
            "records/s",
            note=f"{stats['write_mb_s']:.0f} MB/s, {batch}",
        ),
        Row(
            "integrity",
            "spool replay",
            "seclog",
            stats["replay_records_s"],
            "records/s",
            note=f"{stats['replay_mb_s']:.0f} MB/s",
        ),
    ]


def main() -> None:
    off, off_all = _emission_median_us()
    on, on_all = _emission_median_us(integrity_key="bench-key-0123456789abcdef")
    print(f"emission, median of {ROUNDS} x {EVENTS} events (calling thread / all threads):")
    print(f"  integrity off: {off:7.1f} / {off_all:7.1f} us/event")
    print(f"  integrity on:  {on:7.1f} / {on_all:7.1f} us/event  (ratio {on / off:.2f})")
    stats = _spool_throughput()
    print(
        f"spool, {stats['batch_records']:.0f}-record batches of {stats['batch_kib']:.0f} KiB, "
        "fsync per batch:"
    )
    print(f"  append: {stats['write_mb_s']:7.1f} MB/s  {stats['write_records_s']:9.0f} records/s")
    print(f"  replay: {stats['replay_mb_s']:7.1f} MB/s  {stats['replay_records_s']:9.0f} records/s")


if __name__ == "__main__":
    main()
