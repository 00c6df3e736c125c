"""One-attempt byte senders for the SDK's OTLP log and span exporters.

The durable processor encodes a batch once and sends the bytes with one short
attempt; the outcome tells it whether to go on, spool the batch, or count it as
refused. The exporter internals these senders drive are reached only through
:mod:`seclog_core._otel_compat`; an exporter it cannot drive gets no sender
(``None``) and the SDK's own batch processor instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from opentelemetry.sdk._logs.export import LogRecordExporter
from opentelemetry.sdk.trace.export import SpanExporter

from . import _otel_compat as compat
from ._internal import logger

__all__ = ["Outcome", "Sender", "sender_for", "span_sender_for"]


class Outcome(Enum):
    OK = "ok"
    RETRY = "retry"  # unreachable, timed out, or a retryable status: keep it
    REJECT = "reject"  # the collector refuses this payload for good: retrying cannot help


Sender = Callable[[bytes, float], Outcome]


def _http_sender(exporter: Any) -> Sender:
    post = compat.http_poster(exporter)

    def send(payload: bytes, timeout: float) -> Outcome:
        status = post(payload, timeout)
        if status is not None and 200 <= status < 400:
            return Outcome.OK
        if status is None or status >= 500 or compat.is_retryable_status(status):
            return Outcome.RETRY
        return Outcome.REJECT

    return send


# The OTLP/gRPC Export method of each signal and the message it answers with.
_GRPC_METHODS = {
    "logs": (
        "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        "opentelemetry.proto.collector.logs.v1.logs_service_pb2",
        "ExportLogsServiceResponse",
    ),
    "traces": (
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        "opentelemetry.proto.collector.trace.v1.trace_service_pb2",
        "ExportTraceServiceResponse",
    ),
}


def _grpc_sender(exporter: Any, signal: str) -> Sender:
    import importlib

    import grpc  # type: ignore[import-untyped]

    method, module, response_name = _GRPC_METHODS[signal]
    response = getattr(importlib.import_module(module), response_name)
    access = compat.GrpcChannel(exporter)
    retryable = set(access.retryable_codes) | {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
    last_reset = [0.0]
    # The payload is already a serialized Export*ServiceRequest: send the bytes as
    # they are (no serializer) instead of parsing them into a message to encode again.
    export: list[Any] = [None, None]  # [channel, its raw Export call]

    def raw_export() -> Any:
        channel = access.channel
        if export[0] is not channel:
            export[0] = channel
            export[1] = channel.unary_unary(
                method, request_serializer=None, response_deserializer=response.FromString
            )
        return export[1]

    def send(payload: bytes, timeout: float) -> Outcome:
        try:
            raw_export()(payload, metadata=access.headers, timeout=timeout)
            return Outcome.OK
        except grpc.RpcError as error:
            code = error.code()
            if code == grpc.StatusCode.UNAVAILABLE and time.monotonic() - last_reset[0] > 1.0:
                # A fresh channel reconnects at once instead of waiting out gRPC's backoff.
                last_reset[0] = time.monotonic()
                access.reconnect()
            return Outcome.RETRY if code in retryable else Outcome.REJECT

    return send


def sender_for(exporter: LogRecordExporter) -> Sender | None:
    """A one-attempt byte sender for the SDK's OTLP log exporters; None for anything else."""
    if not compat.can_encode_logs():
        logger.warning(
            "seclog: this OpenTelemetry release has no OTLP log encoder seclog can use; "
            "security events go through the SDK's batch processor, without the on-disk spool"
        )
        return None
    try:
        return _sender(exporter, "logs")
    except compat.IncompatibleExporterError as exc:
        logger.warning(
            "seclog: this OpenTelemetry exporter release is not one seclog can drive (%s); "
            "security events go through the SDK's batch processor, without the on-disk spool",
            exc,
        )
    return None


def span_sender_for(exporter: SpanExporter) -> Sender | None:
    """A one-attempt byte sender for the SDK's OTLP span exporters; None for anything else
    (seclog's spans then go through the SDK's batch span processor, as before)."""
    if not compat.can_encode_spans():
        return None
    try:
        return _sender(exporter, "traces")
    except compat.IncompatibleExporterError:
        return None


def _sender(exporter: object, signal: str) -> Sender | None:
    module = type(exporter).__module__
    if module.startswith("opentelemetry.exporter.otlp.proto.http"):
        return _http_sender(exporter)
    if module.startswith("opentelemetry.exporter.otlp.proto.grpc"):
        return _grpc_sender(exporter, signal)
    return None
