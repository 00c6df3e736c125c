"""One way of recording a failed login, in its own process, timed on demand (the event suite).

``python -m benchmarks._event_worker VARIANT`` sets the variant up (exporting
over OTLP/gRPC to the receiver named in ``OTEL_EXPORTER_OTLP_*``), prints
"ready", then answers each line "N" on stdin with two integers: the
nanoseconds N events took on the calling thread, and the nanoseconds the
flush that followed took (the export work the batch left behind).

Variants: ``physical floor`` (a dict build and a deque append), ``sdk floor``
(what an app writes by hand with the plain SDK: a short span, one span event,
one LogRecord, the SDK's batch processors and OTLP exporters), and seclog with
its defaults, without detectors, with an integrity key, with per-process
detector state. Each event is one request with one event, from a new user
and a new client address, and the app itself does not trace.
"""

from __future__ import annotations

import collections
import os
import sys
import time
from collections.abc import Callable
from typing import Any

# A failing login as an adapter reports it: ten attributes before seclog adds its own.
CONTEXT: dict[str, Any] = {
    "peer_address": "10.0.0.2",
    "method": "POST",
    "path": "/accounts/login/",
    "route": "accounts/login/",
    "scheme": "https",
    "server_address": "shop.example.com",
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
}
FIELDS = {"security.reason": "bad_password", "auth.method": "password"}
_counter = [0]


def _next() -> tuple[str, str]:
    n = _counter[0] = _counter[0] + 1
    return f"user{n}@example.com", f"198.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def floor_attributes(user: str, client: str) -> dict[str, Any]:
    """The same facts seclog records, under the same names (semantic conventions)."""
    return {
        "client.address": client,
        "network.peer.address": CONTEXT["peer_address"],
        "http.request.method": CONTEXT["method"],
        "url.path": CONTEXT["path"],
        "http.route": CONTEXT["route"],
        "url.scheme": CONTEXT["scheme"],
        "server.address": CONTEXT["server_address"],
        "user_agent.original": CONTEXT["user_agent"],
        "user.name": user,
        **FIELDS,
        "security.event": "authn_login_fail",
        "security.outcome": "failure",
    }


Variant = tuple[Callable[[], None], Callable[[], None]]  # (one event, flush)


def _physical() -> Variant:
    ring: collections.deque[tuple[int, dict[str, object]]] = collections.deque(maxlen=4096)

    def one() -> None:
        user, client = _next()
        ring.append((time.time_ns(), floor_attributes(user, client)))

    return one, lambda: None


def _sdk() -> Variant:
    from opentelemetry import trace
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    logs = LoggerProvider(shutdown_on_exit=False)
    logs.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    traces = TracerProvider(shutdown_on_exit=False)
    traces.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    logger = logs.get_logger("app.security")
    tracer = traces.get_tracer("app.security")

    def one() -> None:
        user, client = _next()
        attributes = floor_attributes(user, client)
        now = time.time_ns()
        span = tracer.start_span("POST accounts/login/", start_time=now)
        span.add_event("security.authn_login_fail", attributes, now)
        logger.emit(
            timestamp=now,
            observed_timestamp=now,
            context=trace.set_span_in_context(span),
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body="Failed login",
            attributes=attributes,
            event_name="security.authn_login_fail",
        )
        span.end()

    def flush() -> None:
        traces.force_flush()
        logs.force_flush()

    return one, flush


def _seclog(**settings: Any) -> Variant:
    from seclog_core import export, pipeline
    from seclog_core.context import RequestContext, bind_request_context, reset_request_context

    pipe = pipeline.new_pipeline(local_sink="none", **settings)

    def one() -> None:
        user, client = _next()
        ctx = RequestContext(client_address=client, **CONTEXT)
        token = bind_request_context(ctx)  # the adapter's start of a request
        try:
            pipe.emit("authn_login_fail", {"user.name": user, **FIELDS}, context=ctx)
        finally:
            reset_request_context(token)  # the request is over: its span (if any) ends

    def flush() -> None:
        export.force_flush(30_000)

    return one, flush


def build(variant: str) -> Variant:
    state = {"state_dir": os.environ["BENCH_STATE_DIR"]}
    if variant == "physical floor":
        return _physical()
    if variant == "sdk floor":
        return _sdk()
    if variant == "seclog":
        return _seclog(**state)
    if variant == "seclog, no detectors":
        return _seclog(detectors=False, flood_limit=0)
    if variant == "seclog, integrity key":
        return _seclog(integrity_key="bench-integrity-key-0123456789abcdef", **state)
    if variant == "seclog, process state":
        return _seclog(detector_state="process")
    raise SystemExit(f"unknown variant {variant!r}")


def main(argv: list[str]) -> int:
    one, flush = build(argv[0])
    for _ in range(200):  # warm up: imports, caches, the exporters' channels
        one()
    flush()
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        count = int(command)
        start = time.perf_counter_ns()
        for _ in range(count):
            one()
        emitted = time.perf_counter_ns()
        flush()
        print(emitted - start, time.perf_counter_ns() - emitted, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
