"""Every touch of OpenTelemetry's private internals, fenced in one place.

seclog reaches past the public API in a few places to be fast and durable: the
OTLP exporters' one-attempt send (so a failed batch goes to the spool instead of
the SDK's retry loop), the SDK's proxy providers (to tell "the app set a provider"
from "nobody did"), ``BoundedAttributes``' plain dict and the OTLP encoder's
resource/scope helpers. Each is feature-detected here, once, at import; when a
release renames one, seclog falls back to public API (the SDK's batch processor and
encoder, class checks by behaviour) or refuses that optimisation with one clear
warning. Nothing outside this module may name a private OpenTelemetry attribute.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry._logs import LoggerProvider, NoOpLoggerProvider
from opentelemetry._logs import get_logger_provider as _global_logger_provider

__all__ = [
    "GrpcChannel",
    "app_logger_provider",
    "app_meter_provider",
    "app_tracer_provider",
    "attribute_items",
    "can_encode_logs",
    "can_encode_spans",
    "encode_resource_and_scope",
    "exporter_endpoint",
    "exports_in_background",
    "http_poster",
    "is_retryable_status",
    "sdk_encode_logs",
    "sdk_encode_spans",
    "span_attribute_items",
    "span_processors",
    "suppress_instrumentation",
    "tracer_enabled",
    "tracer_scope",
    "tracer_span_limits",
]

logger = logging.getLogger("seclog")


def _private(module: str, name: str) -> Any:
    """``module.name`` when this release has it, else None (the caller falls back)."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


# The proxy the API hands out before a provider is set (else compared by name below).
_ProxyLogger: Any = _private("opentelemetry._logs._internal", "ProxyLoggerProvider")

_UNSET_NAMES = frozenset(
    {
        "ProxyLoggerProvider",
        "NoOpLoggerProvider",
        "ProxyTracerProvider",
        "NoOpTracerProvider",
        "_ProxyMeterProvider",
        "NoOpMeterProvider",
    }
)


def _unset(provider: object) -> bool:
    # Public classes first; the name check covers proxies the API keeps private.
    if isinstance(
        provider,
        NoOpLoggerProvider
        | trace.ProxyTracerProvider
        | trace.NoOpTracerProvider
        | metrics.NoOpMeterProvider,
    ):
        return True
    if _ProxyLogger is not None and isinstance(provider, _ProxyLogger):
        return True
    return type(provider).__name__ in _UNSET_NAMES


def app_logger_provider() -> LoggerProvider | None:
    """The logger provider the app installed globally, or None when it set none."""
    provider = _global_logger_provider()
    return None if _unset(provider) else provider


def app_tracer_provider() -> trace.TracerProvider | None:
    """The tracer provider the app installed globally, or None when it set none."""
    provider = trace.get_tracer_provider()
    return None if _unset(provider) else provider


def app_meter_provider() -> metrics.MeterProvider | None:
    """The meter provider the app installed globally, or None when it set none."""
    provider = metrics.get_meter_provider()
    return None if _unset(provider) else provider


_SUPPRESS_KEY: str | None = getattr(otel_context, "_SUPPRESS_INSTRUMENTATION_KEY", None)


def suppress_instrumentation() -> None:
    """Mark the calling (seclog-owned) thread so instrumented HTTP/gRPC clients stay quiet."""
    if _SUPPRESS_KEY is not None:
        otel_context.attach(otel_context.set_value(_SUPPRESS_KEY, True))


def attribute_items(attributes: Mapping[str, Any]) -> Any:
    """``attributes.items()``, through ``BoundedAttributes``' plain dict when it has one.

    The Mapping ABC takes a lock per item; the dict holds the same items in order.
    """
    plain = getattr(attributes, "_dict", None)
    return (plain if isinstance(plain, dict) else attributes).items()


def exporter_endpoint(exporter: object) -> str:
    """The endpoint an OTLP exporter sends to, for messages and the spool's name."""
    return str(getattr(exporter, "_endpoint", "") or "")


# --- OTLP encoding helpers -------------------------------------------------------------

_COMMON = "opentelemetry.exporter.otlp.proto.common._internal"
_encode_resource: Any = _private(_COMMON, "_encode_resource")
_encode_instrumentation_scope: Any = _private(_COMMON, "_encode_instrumentation_scope")


def encode_resource_and_scope(resource: Any, scope: Any) -> tuple[bytes, bytes]:
    """The serialized Resource and InstrumentationScope messages, as the SDK encodes them.

    Raises RuntimeError when this SDK release has no such helpers: the caller then
    uses the SDK's own encoder for the whole batch.
    """
    if _encode_resource is None or _encode_instrumentation_scope is None:
        raise RuntimeError("the OTLP common package has no resource/scope encoders")
    resource_bytes: bytes = _encode_resource(resource).SerializeToString()
    scope_bytes: bytes = _encode_instrumentation_scope(scope).SerializeToString()
    return resource_bytes, scope_bytes


_encode_logs: Any = _private("opentelemetry.exporter.otlp.proto.common._log_encoder", "encode_logs")


def can_encode_logs() -> bool:
    """Whether this release lets seclog encode log batches itself (the durable path)."""
    return _encode_logs is not None


def sdk_encode_logs(batch: Any) -> bytes:
    """The SDK's own encoding of a batch (the reference the fast encoder matches)."""
    if _encode_logs is None:
        raise RuntimeError("this OTLP common package has no log encoder; seclog cannot encode")
    return bytes(_encode_logs(batch).SerializeToString())


_encode_spans: Any = _private(
    "opentelemetry.exporter.otlp.proto.common._internal.trace_encoder", "encode_spans"
)


def can_encode_spans() -> bool:
    """Whether this release lets seclog encode span batches itself (its span processor)."""
    return _encode_spans is not None and _encode_resource is not None


def sdk_encode_spans(batch: Any) -> bytes:
    """The SDK's own encoding of a span batch (the reference the fast encoder matches)."""
    if _encode_spans is None:
        raise RuntimeError("this OTLP common package has no span encoder; seclog cannot encode")
    return bytes(_encode_spans(batch).SerializeToString())


def span_attribute_items(span: Any) -> Any:
    """A finished span's attribute items, without the read-only proxy the SDK wraps them in."""
    attributes = getattr(span, "_attributes", None)
    if attributes is None or not isinstance(attributes, Mapping):
        attributes = span.attributes or {}
    return attribute_items(attributes)


def tracer_scope(tracer: object) -> Any:
    """The instrumentation scope an SDK tracer stamps on its spans (None when unknown)."""
    return getattr(tracer, "_instrumentation_scope", None)


def tracer_span_limits(tracer: object) -> Any:
    """The span limits an SDK tracer applies (None when unknown)."""
    return getattr(tracer, "_span_limits", None)


def tracer_enabled(tracer: object) -> bool:
    """Whether an SDK tracer records spans (its tracer configuration may switch it off)."""
    enabled = getattr(tracer, "_is_enabled", None)
    return bool(enabled()) if callable(enabled) else True


# --- one-attempt senders ---------------------------------------------------------------

_RETRYABLE_HTTP = frozenset({408, 429, 502, 503, 504})

# From a 0.x beta package: without it, the spec's list of retryable statuses.
_sdk_is_retryable: Any = _private("opentelemetry.exporter.otlp.common.http", "_is_retryable")


def is_retryable_status(status: int) -> bool:
    """Whether an OTLP/HTTP status asks for a retry (the spec: 429, 502, 503, 504)."""
    if _sdk_is_retryable is not None:
        with contextlib.suppress(Exception):
            return bool(_sdk_is_retryable(status))
    return status in _RETRYABLE_HTTP


class IncompatibleExporterError(RuntimeError):
    """This exporter release lacks an internal seclog drives; use the SDK's processor."""


def http_poster(exporter: Any) -> Callable[[bytes, float], int | None]:
    """One POST of an encoded payload with the exporter's session, headers, compression.

    Returns a callable giving the HTTP status (None when unreachable).
    """
    client = getattr(exporter, "_client", None)
    submit = getattr(client, "_submit", None)
    compress = getattr(client, "_compress", None)
    if not callable(submit) or not callable(compress):
        raise IncompatibleExporterError(f"{type(exporter).__qualname__} has no one-attempt send")

    def post(payload: bytes, timeout: float) -> int | None:
        status: int | None = submit(compress(payload), timeout).status_code
        return status

    return post


class GrpcChannel:
    """The gRPC exporter's channel and headers, and a way to reconnect at once."""

    def __init__(self, exporter: Any) -> None:
        for name in ("_channel", "_initialize_channel_and_stub"):
            if not hasattr(exporter, name):
                raise IncompatibleExporterError(f"{type(exporter).__qualname__} has no {name}")
        self._exporter = exporter
        self.headers: Any = getattr(exporter, "_headers", None)
        self.retryable_codes: frozenset[Any] = frozenset(
            getattr(exporter, "_retryable_error_codes", ()) or ()
        )

    @property
    def channel(self) -> Any:
        return self._exporter._channel

    def reconnect(self) -> None:
        with contextlib.suppress(Exception):
            self._exporter._channel.close()
        self._exporter._initialize_channel_and_stub()


# The SDK's processors that hand records to a thread of their own.
_BACKGROUND_PROCESSORS = tuple(
    cls
    for cls in (
        _private("opentelemetry.sdk._logs.export", "BatchLogRecordProcessor"),
        _private("opentelemetry.sdk.trace.export", "BatchSpanProcessor"),
    )
    if isinstance(cls, type)
)


def _processors(provider: object) -> tuple[object, ...] | None:
    """The processors behind an SDK provider; None when this release cannot tell."""
    multi = getattr(provider, "_multi_log_record_processor", None)
    if multi is None:
        multi = getattr(provider, "_active_span_processor", None)
    if multi is None:
        return None
    found = getattr(multi, "_log_record_processors", None)
    if found is None:
        found = getattr(multi, "_span_processors", None)
    return tuple(found) if isinstance(found, tuple | list) else None


def span_processors(provider: object) -> tuple[object, ...] | None:
    """The span processors of an SDK tracer provider; None when this release cannot tell."""
    return _processors(provider)


def exports_in_background(*providers: object) -> bool:
    """True when nothing behind these providers exports on the calling thread.

    Their processors are all batch processors (the SDK's, seclog's own) or seclog's
    in-place scrubbing; a provider with no processor, or no SDK at all, exports
    nothing. A synchronous processor (``SimpleLogRecordProcessor``, in-memory test
    exporters) or one this release cannot inspect means the caller expects the
    record exported when ``emit`` returns: False.
    """
    for provider in providers:
        if _unset(provider):
            continue
        if not type(provider).__module__.startswith(("opentelemetry.sdk.", "seclog_core.")):
            return False  # an app's own provider class: no telling what it does
        processors = _processors(provider)
        if processors is None:
            return False
        for processor in processors:
            if isinstance(processor, _BACKGROUND_PROCESSORS):
                continue
            if type(processor).__module__.startswith("seclog_core."):
                continue  # seclog's durable processor (batched) and its scrubbing filter
            return False
    return True
