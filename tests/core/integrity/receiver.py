"""An OTLP/HTTP receiver on 127.0.0.1 that can stop and restart on the SAME port, or hang."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)

from tests.support.otlp import free_port


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return None if kind is None else getattr(any_value, kind)


class RestartableReceiver:
    """Collects security log records (event name + attributes) in arrival order."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.records: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._hung: socket.socket | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_METRIC_EXPORT_INTERVAL": "500",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path.endswith("/v1/logs"):
                    receiver._take(ExportLogsServiceRequest.FromString(body))
                reply = ExportLogsServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        deadline = time.monotonic() + 10
        while True:
            try:
                self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._hung is not None:
            self._hung.close()
            self._hung = None

    def hang(self) -> None:
        """Accept connections on the port and never answer: a hung collector."""
        self._hung = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._hung.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._hung.bind(("127.0.0.1", self.port))
        self._hung.listen(64)

    def _take(self, request: ExportLogsServiceRequest) -> None:
        with self._lock:
            for resource_logs in request.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    for record in scope_logs.log_records:
                        if record.event_name.startswith("security."):
                            attrs = {kv.key: _value(kv.value) for kv in record.attributes}
                            self.records.append((record.event_name, attrs))

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [a for n, a in self.records if name is None or n == name]

    def wait_for(self, predicate: Callable[[RestartableReceiver], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return True
            time.sleep(0.05)
        return predicate(self)

    def sequences(self, stream_id: str) -> list[int]:
        """The sequences of the app's events in ``stream_id`` (seclog's checkpoints left out)."""
        return [
            int(a["seclog.sequence"])
            for a in self.events()
            if a.get("seclog.stream_id") == stream_id
            and "seclog.sequence" in a
            and a.get("security.event") != "sys_checkpoint"
        ]
