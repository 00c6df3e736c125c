"""A real OTLP receiver on 127.0.0.1 (the oteltest gRPC and HTTP sinks), for end-to-end tests."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from oteltest.sink import GrpcSink, HttpSink
from oteltest.sink.handler import RequestHandler

_log = logging.getLogger("tests.otlp")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    raw = getattr(value, kind)
    if kind == "array_value":
        return [_any_value(item) for item in raw.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in raw.values}
    return raw


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in pairs}


@dataclass
class ReceivedLog:
    event_name: str
    severity_number: int
    severity_text: str
    time_unix_nano: int
    body: Any
    attributes: dict[str, Any]
    trace_id: str
    span_id: str
    resource: dict[str, Any]


@dataclass
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    attributes: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]


@dataclass
class Collected(RequestHandler):
    """Everything the receiver got, flattened; raw request bytes kept for secret greps."""

    logs: list[ReceivedLog] = field(default_factory=list)
    spans: list[ReceivedSpan] = field(default_factory=list)
    metric_names: list[str] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle_logs(self, request: Any, headers: Any) -> None:
        with self.lock:
            self.raw.append(request.SerializeToString())
            for resource_logs in request.resource_logs:
                resource = _attributes(resource_logs.resource.attributes)
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        self.logs.append(
                            ReceivedLog(
                                event_name=record.event_name,
                                severity_number=record.severity_number,
                                severity_text=record.severity_text,
                                time_unix_nano=record.time_unix_nano,
                                body=_any_value(record.body),
                                attributes=_attributes(record.attributes),
                                trace_id=record.trace_id.hex(),
                                span_id=record.span_id.hex(),
                                resource=resource,
                            )
                        )

    def handle_trace(self, request: Any, headers: Any) -> None:
        with self.lock:
            self.raw.append(request.SerializeToString())
            for resource_spans in request.resource_spans:
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(
                            ReceivedSpan(
                                name=span.name,
                                trace_id=span.trace_id.hex(),
                                span_id=span.span_id.hex(),
                                attributes=_attributes(span.attributes),
                                events=[(e.name, _attributes(e.attributes)) for e in span.events],
                            )
                        )

    def handle_metrics(self, request: Any, headers: Any) -> None:
        with self.lock:
            self.raw.append(request.SerializeToString())
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    self.metric_names.extend(m.name for m in scope_metrics.metrics)

    def security_logs(self) -> list[ReceivedLog]:
        with self.lock:
            return [log for log in self.logs if log.event_name.startswith("security.")]

    def wait_for(self, predicate: Callable[[Collected], bool], timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return predicate(self)

    def all_bytes(self) -> bytes:
        with self.lock:
            return b"".join(self.raw)


@dataclass
class Receiver:
    collected: Collected
    grpc_port: int
    http_port: int

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def env(self, protocol: str = "grpc") -> dict[str, str]:
        """OTEL_* variables that point an exporter at this receiver."""
        endpoint = self.grpc_endpoint if protocol == "grpc" else self.http_endpoint
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "OTEL_METRIC_EXPORT_INTERVAL": "500",
            "OTEL_BLRP_SCHEDULE_DELAY": "100",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    """Start gRPC and HTTP OTLP sinks on free ports; stop them afterwards."""
    collected = Collected()
    grpc_port, http_port = free_port(), free_port()
    grpc_sink = GrpcSink(collected, _log, port=grpc_port)
    http_sink = HttpSink(collected, _log, port=http_port)
    grpc_sink.start()
    http_sink.start()
    try:
        yield Receiver(collected, grpc_port, http_port)
    finally:
        grpc_sink.stop()
        http_sink.stop()
