"""OpenTelemetry providers for benchmarks: the real SDK pipeline, exporting into nothing.

Batch processors and the metric SDK do their usual work on the calling thread;
only the final export is discarded, so the numbers are what an app pays on
its request thread.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from seclog_core import export, pipeline

__all__ = ["Discarding", "discarding_providers", "seclog_pipeline"]


class _NullLogs(LogRecordExporter):
    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


class _NullSpans(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


@dataclass
class Discarding:
    logger_provider: LoggerProvider
    tracer_provider: TracerProvider
    meter_provider: MeterProvider

    def shutdown(self) -> None:
        self.logger_provider.shutdown()
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


def discarding_providers() -> Discarding:
    logs = LoggerProvider(shutdown_on_exit=False)
    logs.add_log_record_processor(BatchLogRecordProcessor(_NullLogs(), max_queue_size=65536))
    traces = TracerProvider(shutdown_on_exit=False)
    traces.add_span_processor(BatchSpanProcessor(_NullSpans(), max_queue_size=65536))
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    return Discarding(logs, traces, meters)


@contextmanager
def seclog_pipeline(providers: Discarding | None = None, **settings: Any) -> Iterator[Any]:
    """A configured default seclog pipeline emitting through ``providers`` for the block."""
    own = providers is None
    prov = providers or discarding_providers()
    previous_providers = export._providers
    previous_pipeline = pipeline._default
    export.set_providers(
        export.Providers(prov.logger_provider, prov.tracer_provider, prov.meter_provider, ())
    )
    pipeline.configure(**settings)
    try:
        yield pipeline.get_pipeline()
    finally:
        pipeline.set_pipeline(previous_pipeline)
        export.set_providers(previous_providers)
        if own:
            prov.shutdown()
