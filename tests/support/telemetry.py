"""In-memory OpenTelemetry providers, for unit tests that read what seclog emitted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from seclog_core import export, pipeline


@dataclass
class Telemetry:
    """What seclog emitted: log records, finished spans and metrics."""

    logs: InMemoryLogRecordExporter
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader
    tracer_provider: TracerProvider

    def records(self) -> list[Any]:
        return [item.log_record for item in self.logs.get_finished_logs()]

    def record(self, event_name: str) -> Any:
        found = [r for r in self.records() if r.event_name == event_name]
        assert len(found) == 1, [r.event_name for r in self.records()]
        return found[0]

    def counter_points(self) -> dict[tuple[tuple[str, Any], ...], int]:
        data = self.metrics.get_metrics_data()
        points: dict[tuple[tuple[str, Any], ...], int] = {}
        if data is None:
            return points
        for resource_metrics in data.resource_metrics:
            for scope in resource_metrics.scope_metrics:
                for metric in scope.metrics:
                    if metric.name != "security.events":
                        continue
                    for point in metric.data.data_points:
                        points[tuple(sorted(point.attributes.items()))] = point.value
        return points


@contextmanager
def in_memory_telemetry(**settings: Any) -> Iterator[Telemetry]:
    """Point a fresh default pipeline at in-memory providers for the block."""
    logs = InMemoryLogRecordExporter()
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    previous = export._providers
    export.set_providers(export.Providers(logger_provider, tracer_provider, meter_provider, ()))
    previous_pipeline = pipeline._default
    pipeline.configure(**settings)
    try:
        yield Telemetry(logs, spans, reader, tracer_provider)
    finally:
        pipeline.set_pipeline(previous_pipeline)
        export.set_providers(previous)
        logger_provider.shutdown()
        tracer_provider.shutdown()
        meter_provider.shutdown()
