"""``seclog demo``: a scripted attack on a small app, and the security events it produced.

The demo app (:mod:`seclog_cli.demo_app`) is wrapped in the ASGI middleware
and called in-process, no network needed. Each request runs in a server span,
as OpenTelemetry's HTTP instrumentation would open, so events share their
request's trace id. Events are read from the same OpenTelemetry logger
provider that exports them: with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set they also
reach that collector.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any
from urllib.parse import urlencode

__all__ = ["STEPS", "configure_parser", "run"]

ATTACKER = "203.0.113.7"
# Detector settings for the demo: a brute-force alert after 5 failures instead of 10.
DEMO_SETTINGS: Mapping[str, Any] = {
    "local_sink": "none",
    "forwarded_warning": False,
    "detector_options": {"brute_force": {"threshold": 5}},
    # Each run counts afresh: host-shared state would carry the last run's cooldowns over.
    "detector_state": "process",
}


@dataclass(frozen=True)
class Step:
    """One scripted request."""

    title: str
    method: str
    path: str
    form: Mapping[str, str] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    note: str = ""


def _login(password: str, username: str = "alice") -> dict[str, str]:
    return {"username": username, "password": password}


STEPS: tuple[Step, ...] = (
    *(
        Step(f"brute force: wrong password #{n} for alice", "POST", "/login", _login(guess))
        for n, guess in enumerate(("123456", "password", "qwerty", "letmein"), 1)
    ),
    Step(
        "brute force: wrong password #5 for alice",
        "POST",
        "/login",
        _login("alice2024"),
        note="the detector's alert shares the trace of the failure that crossed the threshold",
    ),
    Step(
        "the attacker guesses right",
        "POST",
        "/login",
        _login("correct horse battery staple"),
        note="a success right after failures is reported with the retry count",
    ),
    Step("the attacker probes the admin page", "GET", "/admin"),
    Step(
        "forged X-Forwarded-For",
        "GET",
        "/",
        headers=(("x-forwarded-for", "10.0.0.1"),),
        note="the client address stays the socket peer: the sender is not a trusted proxy",
    ),
    Step(
        "log injection in the username (CR/LF + ANSI)",
        "POST",
        "/login",
        _login("x", "bob\r\n2025-01-01T00:00:00Z INFO login ok user=admin\x1b[2J"),
        note="CR/LF arrive escaped and the ANSI sequence is gone: no forged second line",
    ),
    Step(
        "a request that crashes with a secret in its exception",
        "GET",
        "/crash",
        note="the database password and the API key never leave the process",
    ),
)

# Attributes shown under each event, in this order; others follow, sorted.
_SHOWN_FIRST = (
    "user.name",
    "client.address",
    "http.response.status_code",
    "security.reason",
    "security.forwarded",
    "exception.type",
    "exception.message",
)
# Shown in the request line or of no interest on screen (still exported).
_HIDDEN = frozenset(
    {
        "security.event",
        "security.outcome",
        "security.level",
        "http.request.method",
        "url.path",
        "url.scheme",
        "server.address",
        "user_agent.original",
        "error.type",
        "network.peer.address",
        "security.key",
        "security.key_field",
    }
)
_INDENT = " " * 10
_WIDTH = 100
_SEVERITY_COLOURS = {"INFO": "32", "WARN": "33", "ERROR": "31;1"}


class _Style:
    def __init__(self, colour: bool) -> None:
        self.colour = colour

    def __call__(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text


def _use_colour(choice: str, stream: IO[str]) -> bool:
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def _printable(value: object) -> str:
    # Values are already neutralized by seclog; this keeps the terminal safe regardless.
    text = str(value)
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)


@dataclass
class _Exchange:
    step: Step
    status: int
    records: list[dict[str, Any]] = field(default_factory=list)


async def _call(app: Any, step: Step, tracer: Any) -> int:
    from opentelemetry.trace import SpanKind

    body = urlencode(step.form).encode() if step.form is not None else b""
    headers = [(b"host", b"demo.local"), (b"user-agent", b"Mozilla/5.0 (demo)")]
    if step.form is not None:
        headers.append((b"content-type", b"application/x-www-form-urlencoded"))
    headers += [(k.encode(), v.encode()) for k, v in step.headers]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": step.method,
        "scheme": "http",
        "path": step.path,
        "raw_path": step.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": (ATTACKER, 51000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status = 500

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Mapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    with tracer.start_as_current_span(f"{step.method} {step.path}", kind=SpanKind.SERVER):
        # An escaping exception: the server answers 500; seclog has reported it.
        with contextlib.suppress(Exception):
            await app(scope, receive, send)
    return status


def _play(app: Any, tracer: Any, logs: Any) -> list[_Exchange]:
    exchanges: list[_Exchange] = []
    from seclog_core.export import record_to_dict
    from seclog_core.pipeline import settle

    async def script() -> None:
        for step in STEPS:
            seen = len(logs.get_finished_logs())
            status = await _call(app, step, tracer)
            settle()  # events and alerts are handled on seclog's threads: the step's are out
            records = [record_to_dict(r) for r in logs.get_finished_logs()[seen:]]
            exchanges.append(_Exchange(step, status, records))

    asyncio.run(script())
    return exchanges


def _render_event(record: Mapping[str, Any], style: _Style) -> list[str]:
    attrs: dict[str, Any] = record["attributes"]
    severity = str(record["severity_text"])
    trace = (record["trace_id"] or "-")[:8]
    seq = attrs.get("seclog.sequence", "-")
    head = (
        f"    {style(severity.ljust(5), _SEVERITY_COLOURS.get(severity, '0'))} "
        f"{style(record['event_name'], '1')}  {style(f'trace {trace}  seq {seq}', '2')}"
    )
    lines = [head, f"{_INDENT}{_printable(record['body'])}"]
    keys = [k for k in _SHOWN_FIRST if k in attrs]
    keys += sorted(
        k for k in attrs if k not in keys and k not in _HIDDEN and not k.startswith("seclog.")
    )
    # Pack key=value pairs into lines of about _WIDTH columns (measured without colour).
    line: list[str] = []
    width = len(_INDENT)
    for key in keys:
        value = _printable(attrs[key])
        size = len(key) + 1 + len(value) + 2
        if line and width + size > _WIDTH:
            lines.append(_INDENT + "  ".join(line))
            line, width = [], len(_INDENT)
        line.append(f"{style(key, '2')}={value}")
        width += size
    if line:
        lines.append(_INDENT + "  ".join(line))
    return lines


def _summary(exchanges: list[_Exchange], style: _Style, collector: str | None) -> list[str]:
    records = [r for ex in exchanges for r in ex.records]
    by_type = Counter(str(r["event_name"]) for r in records)
    # Alerts: what a detector raised at ERROR severity (derived events are WARN).
    alerts = [
        r for r in records if r["attributes"].get("security.rule") and r["severity_text"] == "ERROR"
    ]
    scrubbed = sum(
        str(value).count("[REDACTED]") for r in records for value in r["attributes"].values()
    ) + sum(str(r["body"]).count("[REDACTED]") for r in records)
    traces = {r["trace_id"] for r in records}
    lines = [
        "",
        style("Summary", "1"),
        f"  {len(records)} security events from {len(exchanges)} requests ({len(traces)} traces)",
    ]
    lines += [f"  {count:3d}  {name}" for name, count in sorted(by_type.items())]
    alert_names = ", ".join(sorted({str(r["event_name"]) for r in alerts})) or "none"
    lines.append(f"  alerts raised: {len(alerts)} ({alert_names})")
    lines.append(f"  secrets scrubbed before export: {scrubbed}")
    if collector:
        lines.append(f"  exported to the collector at {collector}")
    else:
        lines.append(
            "  no collector configured: set OTEL_EXPORTER_OTLP_ENDPOINT to send these events to one"
        )
    return lines


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour output (auto: when stdout is a terminal and NO_COLOR is not set)",
    )


def run(args: argparse.Namespace) -> int:
    from opentelemetry.sdk._logs import LoggerProvider as SdkLoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    from seclog_core.export import collector_configured, force_flush, otlp_endpoint
    from seclog_core.url_scrubbing import scrub_url

    from .demo_app import build_app

    app = build_app(**DEMO_SETTINGS)
    providers = app.pipeline.providers
    if not isinstance(providers.logger_provider, SdkLoggerProvider):
        print("seclog demo: the OpenTelemetry logger provider is not the SDK's", file=sys.stderr)
        return 2
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    providers.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    tracer = providers.tracer_provider.get_tracer("seclog.demo")

    exchanges = _play(app, tracer, logs)

    style = _Style(_use_colour(args.color, sys.stdout))
    out = [
        style("seclog demo", "1")
        + ": a scripted attack on a small ASGI app wrapped in SecurityLoggingMiddleware.",
        f"Every request comes from {ATTACKER}. Events are shown as they leave for the collector:",
        "scrubbed, sequenced, each with its request's trace id.",
        "The demo lowers the brute-force threshold to 5 failed logins (the default is 10 "
        "within 5 minutes, see docs/detection.md).",
    ]
    for number, exchange in enumerate(exchanges, 1):
        step = exchange.step
        out.append("")
        out.append(
            style(f"[{number}] {step.method} {step.path}", "36;1")
            + f" -> {exchange.status}  {step.title}"
        )
        for record in exchange.records:
            out.extend(_render_event(record, style))
        if step.note:
            out.append(style(f"    ^ {step.note}", "2"))
    collector = None
    if collector_configured():
        collector = scrub_url(otlp_endpoint("logs") or "")  # printed: never with credentials
        if not force_flush(5000):
            out.append("seclog demo: the collector did not take every event within 5 s")
    out.extend(_summary(exchanges, style, collector))
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    return 0
