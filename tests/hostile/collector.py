"""An OTLP/HTTP collector on 127.0.0.1 that can be made slow, failing or absent, for fault tests.

It keeps what it receives in the same :class:`tests.support.otlp.Collected` as the
real receiver. Modes: ``ok``; ``slow`` (sleeps ``delay`` seconds before
answering); ``error`` (answers ``status`` without reading the payload into the
store). ``stop()`` closes the port; ``start()`` opens it again on the same port.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.support.otlp import Collected, free_port

_PARSERS: dict[str, tuple[Any, str]] = {
    "/v1/logs": (ExportLogsServiceRequest, "handle_logs"),
    "/v1/traces": (ExportTraceServiceRequest, "handle_trace"),
    "/v1/metrics": (ExportMetricsServiceRequest, "handle_metrics"),
}


class FaultyCollector:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.collected = Collected()
        self.mode = "ok"
        self.delay = 0.0
        self.status = 503
        self.answers: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None

    def env(self) -> dict[str, str]:
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }

    def start(self) -> FaultyCollector:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                mode = collector.mode
                if mode == "slow":
                    time.sleep(collector.delay)
                if mode == "error":
                    collector.answers[str(collector.status)] += 1
                    self.send_response(collector.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                parser = _PARSERS.get(self.path)
                if parser is not None:
                    message, method = parser
                    getattr(collector.collected, method)(message.FromString(body), self.headers)
                collector.answers["200"] += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
