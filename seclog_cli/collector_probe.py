"""Ask the configured collector whether it would accept seclog's events, with a short timeout.

For OTLP/HTTP the probe sends an empty logs export (an empty ExportLogsServiceRequest is a
valid zero-byte protobuf message) with the configured headers, and reads the status; for
gRPC it opens a TCP connection. It never prints credentials: URLs go through the scrubber
and header values are never shown.
"""

from __future__ import annotations

import os
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

__all__ = ["ProbeResult", "logs_endpoint", "probe_collector"]

TIMEOUT = 1.5  # seconds: long enough for a collector across a network, short for a CLI


@dataclass(frozen=True)
class ProbeResult:
    """Whether events would arrive, and one sentence saying why."""

    arrives: bool
    level: Literal["ok", "warning", "error"]
    message: str


def logs_endpoint(environ: Mapping[str, str], protocol: str) -> str:
    """The URL the logs exporter posts to, as the OTLP exporter specification builds it."""
    signal = environ.get("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "").strip()
    if signal:
        return signal
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if protocol == "grpc":
        return base
    return base.rstrip("/") + "/v1/logs"


def _headers(environ: Mapping[str, str]) -> dict[str, str]:
    raw = environ.get("OTEL_EXPORTER_OTLP_LOGS_HEADERS") or environ.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    headers = {}
    for pair in raw.split(","):
        name, sep, value = pair.partition("=")
        if sep and name.strip():
            headers[unquote(name.strip())] = unquote(value.strip())
    return headers


def _tls_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    cafile = environ.get("OTEL_EXPORTER_OTLP_LOGS_CERTIFICATE") or environ.get(
        "OTEL_EXPORTER_OTLP_CERTIFICATE"
    )
    return ssl.create_default_context(cafile=cafile or None)


def _probe_http(url: str, shown: str, environ: Mapping[str, str]) -> ProbeResult:
    request = urllib.request.Request(url, data=b"", method="POST")  # noqa: S310 - scheme checked
    request.add_header("Content-Type", "application/x-protobuf")
    for name, value in _headers(environ).items():
        request.add_header(name, value)
    context = _tls_context(environ) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return ProbeResult(
            False,
            "error",
            f"nothing answers at {shown} ({_why(reason)}): events will not arrive until it "
            "does (seclog's own exporter keeps them in its on-disk spool meanwhile)",
        )
    if 200 <= status < 300:
        return ProbeResult(True, "ok", f"the collector at {shown} accepted an empty export")
    if status in (401, 403):
        return ProbeResult(
            False,
            "error",
            f"the collector at {shown} refused the export (HTTP {status}): check the "
            "credentials in OTEL_EXPORTER_OTLP_HEADERS",
        )
    if status in (404, 405):
        return ProbeResult(
            False,
            "error",
            f"{shown} answers HTTP {status}: no OTLP logs receiver at that path (is it the "
            "collector's OTLP/HTTP port, usually 4318, or a gRPC port?)",
        )
    return ProbeResult(
        False, "warning", f"the collector at {shown} answered HTTP {status} to an empty export"
    )


def _probe_grpc(url: str, shown: str) -> ProbeResult:
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or "localhost"
    try:
        port = parts.port or 4317
    except ValueError:
        return ProbeResult(False, "error", f"{shown} has an invalid port")
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT):
            pass
    except OSError as exc:
        return ProbeResult(
            False,
            "error",
            f"nothing accepts connections at {shown} ({_why(exc)}): events will not arrive "
            "until it does (seclog's own exporter keeps them in its on-disk spool meanwhile)",
        )
    return ProbeResult(
        True, "ok", f"{shown} accepts connections (gRPC: checked by a TCP connection only)"
    )


def _why(reason: object) -> str:
    if isinstance(reason, socket.timeout | TimeoutError):
        return f"no answer within {TIMEOUT:g} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, socket.gaierror):
        return "unknown host"
    text = str(reason)
    return text if len(text) < 80 else text[:77] + "..."


def probe_collector(
    protocol: str, scrub: Callable[[str], str], environ: Mapping[str, str] | None = None
) -> ProbeResult:
    """Probe the logs endpoint for `protocol`; `scrub` makes a URL safe to print."""
    env = os.environ if environ is None else environ
    url = logs_endpoint(env, protocol)
    shown = scrub(url)
    if protocol == "grpc":
        return _probe_grpc(url, shown)
    if not url.startswith(("http://", "https://")):
        return ProbeResult(False, "error", f"{shown} is not an http:// or https:// URL")
    return _probe_http(url, shown, env)
