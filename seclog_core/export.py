"""Where events go: the app's OpenTelemetry providers, or seclog's own.

Providers are resolved for each pipeline when it is built (at the app's start-up,
never at the first event): the providers the app hands seclog explicitly
(``logger_provider=``, ``tracer_provider=``, ``meter_provider=`` settings) first,
then the app's global providers (opentelemetry-instrument, a distro, its own
setup), else private ones built from that pipeline's export settings: OTLP
exporters configured by the standard ``OTEL_*`` variables, or, with no collector
configured, a readable JSON-lines sink on stderr and one warning saying how to
point seclog at a collector. Pipelines whose export settings agree share one set
of private providers; pipelines whose settings differ each get their own. seclog
never installs a global provider, so it can never become "a second one".
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import sys
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import IO, Any

from opentelemetry import metrics, trace
from opentelemetry._logs import LoggerProvider
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

from . import _otel_compat as compat
from ._internal import guarded, logger
from ._threads import prepare_bounded_exit, run_bounded
from .config import Settings

__all__ = [
    "JsonLinesExporter",
    "Providers",
    "collector_configured",
    "force_flush",
    "get_providers",
    "otlp_endpoint",
    "otlp_protocol",
    "providers_for",
    "set_providers",
    "shutdown",
]


def otlp_endpoint(signal: str = "logs", environ: Mapping[str, str] | None = None) -> str | None:
    """The configured OTLP endpoint for ``signal`` (its own variable, else the shared one)."""
    env = os.environ if environ is None else environ
    return (
        env.get(f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT")
        or env.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or None
    )


def collector_configured(environ: Mapping[str, str] | None = None) -> bool:
    """True when an OTLP endpoint for logs is configured through ``OTEL_*``."""
    return otlp_endpoint("logs", environ) is not None


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
    """Writes each log record as one JSON line: the readable local sink.

    The stream is bound when the sink is made (``sys.stderr`` at that moment), so a
    later ``redirect_stderr`` or a CLI runner's capture never receives its lines.
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        try:
            lines = [json.dumps(record_to_dict(item), ensure_ascii=True) for item in batch]
            with self._lock:
                self._stream.write("\n".join(lines) + "\n")
                self._stream.flush()
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


_lock = threading.RLock()
# Set by set_providers (tests, benchmarks): every pipeline built meanwhile uses these.
_providers: Providers | None = None
# seclog's own providers, by signal and the export settings they were built from.
_private: dict[tuple[str, Hashable], object] = {}
_warned_no_collector = False
_exit_hook_registered = False
# Run before a flush or shutdown (the pipeline module registers "emit held-back events").
_before_flush: list[Callable[[], object]] = []
# Turns a delivery loss into a ``seclog_events_lost`` event (registered by the pipeline).
_loss_reporter: list[Callable[[str, int], None]] = []


def on_flush(callback: Callable[[], object]) -> None:
    """Run ``callback`` before every flush and at shutdown."""
    _before_flush.append(callback)


def set_loss_reporter(reporter: Callable[[str, int], None]) -> None:
    """How the durable processor reports what it could not deliver."""
    _loss_reporter[:] = [reporter]


def _report_loss(reason: str, count: int) -> None:
    for reporter in _loss_reporter:
        reporter(reason, count)


def _env_key() -> tuple[tuple[str, str], ...]:
    # Every OTEL_* variable shapes the exporters and the resource.
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("OTEL_")))


def _log_exporter() -> LogRecordExporter:
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
    collector = collector_configured()
    if collector:
        processors.append(_wrap_durable(_log_exporter(), settings))
    if settings.local_sink == "stderr" or (settings.local_sink == "auto" and not collector):
        processors.append(BatchLogRecordProcessor(JsonLinesExporter(), schedule_delay_millis=200))
        if not collector and not _warned_no_collector:
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
    spool_dir = resolve_spool_dir(settings.spool_dir, compat.exporter_endpoint(exporter))
    return DurableLogProcessor(
        exporter,
        sender,
        spool_dir,
        max_bytes=settings.spool_max_bytes,
        drop=settings.spool_drop,
        report_loss=_report_loss,
    )


def _register_exit_hook() -> None:
    global _exit_hook_registered
    if not _exit_hook_registered:
        # One bounded exit hook instead of the SDK's per-provider ones, which block for
        # the exporters' full retry window with the collector down or hung.
        _exit_hook_registered = True
        prepare_bounded_exit()
        atexit.register(shutdown)


def _private_provider(signal: str, settings: Settings) -> object:
    """seclog's own provider for ``signal``, shared by pipelines with the same export settings."""
    env = _env_key()
    key: tuple[str, Hashable]
    if signal == "logs":
        export_settings = (
            settings.local_sink,
            settings.spool_dir,
            settings.spool_max_bytes,
            settings.spool_drop,
        )
        key = (signal, (export_settings, env))
    else:
        key = (signal, env)
    provider = _private.get(key)
    if provider is not None:
        return provider
    _register_exit_hook()
    resource = Resource.create()
    collector = collector_configured()
    if signal == "logs":
        logs = SdkLoggerProvider(resource=resource, shutdown_on_exit=False)
        for processor in _log_processors(settings):
            logs.add_log_record_processor(processor)
        provider = logs
    elif signal == "traces":
        traces = _OwnTracerProvider(resource=resource, shutdown_on_exit=False)
        if collector:
            traces.add_span_processor(_span_processor(_span_exporter()))
        provider = traces
    else:
        readers: list[MetricReader] = []
        if collector:
            readers.append(PeriodicExportingMetricReader(_metric_exporter()))
        provider = SdkMeterProvider(
            metric_readers=readers, resource=resource, shutdown_on_exit=False
        )
    _private[key] = provider
    return provider


def providers_for(settings: Settings) -> Providers:
    """The providers a pipeline with ``settings`` emits through (resolved at start-up).

    Per signal: the provider given in the settings, else the one set with
    :func:`set_providers`, else the app's global provider, else seclog's own.
    """
    given_logs = getattr(settings, "logger_provider", None)
    given_traces = getattr(settings, "tracer_provider", None)
    given_metrics = getattr(settings, "meter_provider", None)
    with _lock:
        override = _providers
        if override is not None and given_logs is given_traces is given_metrics is None:
            return override
        owned: list[object] = []

        def pick(given: Any, overridden: Any, app: Any, signal: str) -> Any:
            if given is not None:
                return given
            if overridden is not None:
                return overridden
            if app is not None:
                return app
            private = _private_provider(signal, settings)
            owned.append(private)
            return private

        logs: LoggerProvider = pick(
            given_logs,
            override.logger_provider if override else None,
            compat.app_logger_provider(),
            "logs",
        )
        traces: trace.TracerProvider = pick(
            given_traces,
            override.tracer_provider if override else None,
            compat.app_tracer_provider(),
            "traces",
        )
        meters: metrics.MeterProvider = pick(
            given_metrics,
            override.meter_provider if override else None,
            compat.app_meter_provider(),
            "metrics",
        )
        return Providers(logs, traces, meters, tuple(owned))


def _span_exporter() -> Any:
    if otlp_protocol("traces") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpSpanExporter,
    )

    return HttpSpanExporter()


class _OwnTracerProvider(SdkTracerProvider):
    """seclog's private tracer provider: its tracers hand out light root spans when the
    only processor is seclog's own (see :mod:`seclog_core._own_spans`)."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        from ._own_spans import light_tracer

        tracer = super().get_tracer(*args, **kwargs)
        return light_tracer(tracer, compat.span_processors(self) or ())


def _span_processor(exporter: Any) -> Any:
    """seclog's own span processor (direct OTLP encoding, one short send per batch) when it
    can drive ``exporter``; else the SDK's batch span processor, as an app would have."""
    from .senders import span_sender_for
    from .span_delivery import SpanDelivery

    sender = span_sender_for(exporter)
    if sender is None:
        return BatchSpanProcessor(exporter)
    return SpanDelivery(exporter, sender)


def _metric_exporter() -> Any:
    if otlp_protocol("metrics") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter

        return OTLPMetricExporter()
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HttpMetricExporter,
    )

    return HttpMetricExporter()


def get_providers(settings: Settings) -> Providers:
    """The providers for ``settings`` (kept for callers of 0.1.0; see :func:`providers_for`)."""
    return providers_for(settings)


def set_providers(providers: Providers | None) -> None:
    """Pipelines built from now on use these providers (tests, benchmarks); None undoes it."""
    global _providers
    with _lock:
        _providers = providers


def _flush_pending_events() -> None:
    for callback in list(_before_flush):
        with guarded("export.before_flush"):
            callback()


def _owned() -> list[object]:
    with _lock:
        found = list(_private.values())
        if _providers is not None:
            found.extend(p for p in _providers.owned if p not in found)
    return found


def force_flush(timeout_millis: int = 2000) -> bool:
    """Emit held-back events, then flush seclog's own providers; bounded by ``timeout_millis``."""
    _flush_pending_events()
    flushes = [getattr(p, "force_flush", None) for p in _owned()]
    calls = [partial(flush, timeout_millis) for flush in flushes if flush is not None]
    if not calls:
        return True
    # In parallel and abandoned at the deadline: the SDK's flushes ignore their timeout.
    return run_bounded(calls, timeout_millis / 1000)


def shutdown() -> None:
    """Flush and shut down the providers seclog owns; the app's are left alone."""
    global _providers
    _flush_pending_events()
    owned = _owned()
    with _lock:
        _private.clear()
        _providers = None
    calls = [getattr(p, "shutdown", None) for p in owned]
    # Bounded (about 2 s) with the collector dead or hung; undelivered security events
    # are in the spool by then. Never raises into the app.
    with contextlib.suppress(Exception):
        run_bounded([call for call in calls if call is not None], 2.0)
