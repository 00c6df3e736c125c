"""Where events go: the app's OpenTelemetry providers, or seclog's own.

seclog uses the application's providers when it has them (opentelemetry-instrument,
a distro, its own setup). When none are set it builds private ones: OTLP
exporters configured by the standard ``OTEL_*`` variables, or, with no collector
configured, a readable JSON-lines sink on stderr and one warning saying how to
point seclog at a collector. It never installs a global provider, so it can
never become "a second one".
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from opentelemetry import metrics, trace
from opentelemetry._logs import LoggerProvider, NoOpLoggerProvider
from opentelemetry._logs import get_logger_provider as _global_logger_provider
from opentelemetry._logs._internal import ProxyLoggerProvider
from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider
from opentelemetry.sdk._logs import LogRecordProcessor, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
)
from opentelemetry.sdk.metrics import MeterProvider as SdkMeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from .config import Settings

__all__ = [
    "JsonLinesExporter",
    "Providers",
    "collector_configured",
    "get_providers",
    "otlp_protocol",
    "shutdown",
]

logger = logging.getLogger("seclog")


def collector_configured(environ: Mapping[str, str] | None = None) -> bool:
    """True when an OTLP endpoint for logs is configured through ``OTEL_*``."""
    env = os.environ if environ is None else environ
    return bool(
        env.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def otlp_protocol(signal: str, environ: Mapping[str, str] | None = None) -> str:
    """The OTLP protocol for ``signal`` (logs, traces, metrics); the spec's default is HTTP."""
    env = os.environ if environ is None else environ
    value = (
        (
            env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL")
            or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
            or "http/protobuf"
        )
        .strip()
        .lower()
    )
    if value not in ("grpc", "http/protobuf", "http/json"):
        raise ValueError(
            f"OTEL_EXPORTER_OTLP_PROTOCOL={value!r} is not supported: use grpc or http/protobuf"
        )
    return value


class JsonLinesExporter(LogRecordExporter):
    """Writes each log record as one JSON line: the readable local sink."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        stream = self._stream or sys.stderr
        try:
            lines = [json.dumps(record_to_dict(item), ensure_ascii=True) for item in batch]
            with self._lock:
                stream.write("\n".join(lines) + "\n")
                stream.flush()
        except Exception:
            return LogRecordExportResult.FAILURE
        return LogRecordExportResult.SUCCESS

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def record_to_dict(item: ReadableLogRecord) -> dict[str, Any]:
    """A log record as a plain dict (JSON sink, `seclog verify`, the demo)."""
    record = item.log_record
    ctx = record.context
    span_ctx = trace.get_current_span(ctx).get_span_context() if ctx is not None else None
    trace_id = getattr(record, "trace_id", None) or (span_ctx.trace_id if span_ctx else 0)
    span_id = getattr(record, "span_id", None) or (span_ctx.span_id if span_ctx else 0)
    return {
        "timestamp": record.timestamp,
        "event_name": record.event_name,
        "severity_text": record.severity_text,
        "severity_number": record.severity_number.value if record.severity_number else None,
        "body": record.body,
        "trace_id": f"{trace_id:032x}" if trace_id else None,
        "span_id": f"{span_id:016x}" if span_id else None,
        "attributes": dict(record.attributes or {}),
    }


@dataclass
class Providers:
    """The three providers seclog emits through, and which of them it owns."""

    logger_provider: LoggerProvider
    tracer_provider: trace.TracerProvider
    meter_provider: metrics.MeterProvider
    owned: tuple[object, ...] = ()


_lock = threading.Lock()
_providers: Providers | None = None
_warned_no_collector = False
_exit_hook_registered = False


def _app_has_logger_provider() -> bool:
    return not isinstance(_global_logger_provider(), NoOpLoggerProvider | ProxyLoggerProvider)


def _app_has_tracer_provider() -> bool:
    return not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider
    )


def _app_has_meter_provider() -> bool:
    provider = metrics.get_meter_provider()
    return not isinstance(provider, metrics.NoOpMeterProvider) and type(provider).__name__ != (
        "_ProxyMeterProvider"
    )


def _log_exporter(settings: Settings) -> LogRecordExporter:
    if otlp_protocol("logs") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        return OTLPLogExporter()
    from opentelemetry.exporter.otlp.proto.http._log_exporter import (
        OTLPLogExporter as HttpLogExporter,
    )

    return HttpLogExporter()


def _log_processors(settings: Settings) -> list[LogRecordProcessor]:
    global _warned_no_collector
    processors: list[LogRecordProcessor] = []
    if collector_configured():
        exporter = _log_exporter(settings)
        processors.append(_wrap_durable(exporter, settings))
    if settings.local_sink == "stderr" or (
        settings.local_sink == "auto" and not collector_configured()
    ):
        processors.append(BatchLogRecordProcessor(JsonLinesExporter(), schedule_delay_millis=200))
        if not collector_configured() and not _warned_no_collector:
            _warned_no_collector = True
            logger.warning(
                "seclog: no OpenTelemetry collector configured; security events are written "
                "as JSON lines to stderr. Set OTEL_EXPORTER_OTLP_ENDPOINT (and optionally "
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc|http/protobuf) to send them to a collector."
            )
    return processors


def _wrap_durable(exporter: LogRecordExporter, settings: Settings) -> LogRecordProcessor:
    """The processor that carries security events to the collector.

    seclog's durable processor (see :mod:`seclog_core.spool`): a bounded hand-off,
    one short send per batch, the on-disk spool when the collector is away, every
    loss counted and reported, shutdown bounded. For an exporter it cannot drive,
    the SDK's batch processor, sized so a burst is queued, not dropped.
    """
    from .spool import DurableLogProcessor, resolve_spool_dir, sender_for

    sender = sender_for(exporter)
    if sender is None:
        return BatchLogRecordProcessor(
            exporter, max_queue_size=65536, max_export_batch_size=512, schedule_delay_millis=500
        )
    spool_dir = resolve_spool_dir(settings.spool_dir, str(getattr(exporter, "_endpoint", "")))
    return DurableLogProcessor(
        exporter,
        sender,
        spool_dir,
        max_bytes=settings.spool_max_bytes,
        drop=settings.spool_drop,
    )


def _build(settings: Settings) -> Providers:
    global _exit_hook_registered
    if not _exit_hook_registered:
        # One bounded exit hook instead of the SDK's per-provider ones, which block for
        # the exporters' full retry window with the collector down or hung.
        _exit_hook_registered = True
        from .spool import prepare_bounded_exit

        prepare_bounded_exit()
        atexit.register(shutdown)
    resource = Resource.create()
    owned: list[object] = []
    if _app_has_logger_provider():
        logger_provider: LoggerProvider = _global_logger_provider()
    else:
        sdk_logger_provider = SdkLoggerProvider(resource=resource, shutdown_on_exit=False)
        for processor in _log_processors(settings):
            sdk_logger_provider.add_log_record_processor(processor)
        logger_provider = sdk_logger_provider
        owned.append(sdk_logger_provider)
    if _app_has_tracer_provider():
        tracer_provider = trace.get_tracer_provider()
    else:
        sdk_tracer_provider = SdkTracerProvider(resource=resource, shutdown_on_exit=False)
        if collector_configured():
            sdk_tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter()))
        tracer_provider = sdk_tracer_provider
        owned.append(sdk_tracer_provider)
    if _app_has_meter_provider():
        meter_provider = metrics.get_meter_provider()
    else:
        readers: list[MetricReader] = []
        if collector_configured():
            readers.append(PeriodicExportingMetricReader(_metric_exporter()))
        sdk_meter_provider = SdkMeterProvider(
            metric_readers=readers, resource=resource, shutdown_on_exit=False
        )
        meter_provider = sdk_meter_provider
        owned.append(sdk_meter_provider)
    return Providers(logger_provider, tracer_provider, meter_provider, tuple(owned))


def _span_exporter() -> Any:
    if otlp_protocol("traces") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter()


def _metric_exporter() -> Any:
    if otlp_protocol("metrics") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter()


def get_providers(settings: Settings) -> Providers:
    """The process's providers, resolved once (lazily, so pre-fork servers are safe)."""
    global _providers
    with _lock:
        if _providers is None:
            _providers = _build(settings)
        return _providers


def set_providers(providers: Providers | None) -> None:
    """Use these providers from now on (tests, or apps wiring seclog explicitly)."""
    global _providers
    with _lock:
        _providers = providers


def _flush_pending_events() -> None:
    # Imported here: the pipeline module imports this one.
    from .pipeline import flush_pending_events

    with contextlib.suppress(Exception):
        flush_pending_events()


def force_flush(timeout_millis: int = 2000) -> bool:
    """Emit held-back events, then flush seclog's own providers; bounded by ``timeout_millis``."""
    _flush_pending_events()
    with _lock:
        providers = _providers
    if providers is None:
        return True
    from .spool import run_bounded

    # In parallel and abandoned at the deadline: the SDK's flushes ignore their timeout.
    flushes = [getattr(p, "force_flush", None) for p in providers.owned]
    return run_bounded(
        [partial(flush, timeout_millis) for flush in flushes if flush is not None],
        timeout_millis / 1000,
    )


def shutdown() -> None:
    """Flush and shut down the providers seclog owns; the app's are left alone."""
    global _providers
    _flush_pending_events()
    with _lock:
        providers, _providers = _providers, None
    if providers is None:
        return
    from .spool import run_bounded

    # Bounded (about 2 s) with the collector dead or hung; undelivered security events
    # are in the spool by then. Never raises into the app.
    with contextlib.suppress(Exception):
        run_bounded([p.shutdown for p in providers.owned], 2.0)  # type: ignore[attr-defined]
