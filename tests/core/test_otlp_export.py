"""End to end: events emitted by a real process arrive at a real OTLP receiver on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.otlp import otlp_receiver

APP = textwrap.dedent(
    """
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.{proto}.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import seclog_core as seclog

    # The app traces requests itself; seclog must join its spans, not replace its provider.
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    tracer = trace.get_tracer("app")

    with tracer.start_as_current_span("POST /login") as span:
        ctx = seclog.RequestContext(client_address="198.51.100.7", route="/login", method="POST")
        with seclog.request_context(ctx):
            seclog.login_failed(username="bob", password="hunter2", reason="bad_credentials")
        ids = span.get_span_context()
        print(f"{{ids.trace_id:032x}} {{ids.span_id:016x}}", flush=True)
    seclog.logout(username="bob")  # outside any span: seclog starts its own
    """
)


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_events_arrive_at_a_real_collector(protocol: str) -> None:
    """Name, severity, timestamp, attributes and trace ids arrive; the span carries the event."""
    with otlp_receiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
        env.update(receiver.env(protocol))
        proto = "grpc" if protocol == "grpc" else "http"
        done = subprocess.run(
            [sys.executable, "-c", APP.format(proto=proto)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        trace_id, span_id = done.stdout.split()
        collected = receiver.collected
        assert collected.wait_for(lambda c: len(c.security_logs()) >= 2)
        assert collected.wait_for(lambda c: any(s.name == "POST /login" for s in c.spans))
        assert collected.wait_for(lambda c: "security.events" in c.metric_names)

        logs = {log.event_name: log for log in collected.security_logs()}
        fail = logs["security.authn_login_fail"]
        assert fail.severity_text == "WARN" and fail.severity_number == 13
        assert fail.time_unix_nano > 0
        assert fail.attributes["user.name"] == "bob"
        assert fail.attributes["client.address"] == "198.51.100.7"
        assert fail.attributes["security.reason"] == "bad_credentials"
        assert fail.attributes["security.outcome"] == "failure"
        assert fail.trace_id == trace_id and fail.span_id == span_id
        assert fail.resource.get("service.name")

        (app_span,) = [s for s in collected.spans if s.name == "POST /login"]
        assert [name for name, _ in app_span.events] == ["security.authn_login_fail"]
        assert app_span.events[0][1]["user.name"] == "bob"

        logout = logs["security.authn_logout"]
        own = [s for s in collected.spans if s.name == "security.authn_logout"]
        assert own and own[0].trace_id == logout.trace_id

        assert b"hunter2" not in collected.all_bytes()


def test_without_a_collector_events_go_to_stderr_as_json_lines() -> None:
    """No endpoint configured: readable JSON lines on stderr and one how-to warning."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    code = "import seclog_core as s; s.login_failed(username='bob', password='pw')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("{")]
    assert len(lines) == 1
    assert '"event_name": "security.authn_login_fail"' in lines[0]
    assert '"pw"' not in lines[0]
    assert done.stderr.count("OTEL_EXPORTER_OTLP_ENDPOINT") == 1


def test_the_stderr_sink_writes_to_the_stream_of_the_moment_it_was_made() -> None:
    """A later redirect_stderr (a CLI runner's capture) never receives seclog's lines."""
    import contextlib
    import io

    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    from seclog_core.export import JsonLinesExporter

    at_start, later = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(at_start):
        sink = JsonLinesExporter()
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    provider = LoggerProvider(shutdown_on_exit=False)
    provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    provider.get_logger("t").emit(body="x", event_name="security.authz_fail")
    with contextlib.redirect_stderr(later):
        sink.export(logs.get_finished_logs())
    provider.shutdown()
    assert later.getvalue() == ""
    assert '"event_name": "security.authz_fail"' in at_start.getvalue()


def test_tests_never_spool_into_the_real_user_cache() -> None:
    """During the suite the default spool path lies under a temporary directory."""
    import tempfile
    from pathlib import Path

    from seclog_core.spool import resolve_spool_dir

    path = resolve_spool_dir(None, "http://127.0.0.1:4318")
    assert path is not None
    assert Path(path).resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
    assert not Path(path).resolve().is_relative_to((Path.home() / ".cache").resolve())


def test_no_spool_directory_is_created_without_a_collector(tmp_path: Path) -> None:
    """An app with no collector configured leaves nothing on disk."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env["SECLOG_STATE_DIR"] = str(tmp_path / "state")
    env["SECLOG_DETECTOR_STATE"] = "process"
    code = "import seclog_core as s; s.login_failed(username='bob'); s.force_flush(2000)"
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "cache").exists()


def test_flood_summaries_go_out_at_exit_without_a_lifespan_or_flush() -> None:
    """A server that never flushes (no ASGI lifespan): what flood control held back is
    still emitted at interpreter exit, through the app's own providers too."""
    code = textwrap.dedent(
        """
        from opentelemetry._logs import set_logger_provider
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import LogRecordExportResult, SimpleLogRecordProcessor

        class Printer:
            def export(self, batch):
                for item in batch:
                    print("EVENT", item.log_record.event_name, flush=True)
                return LogRecordExportResult.SUCCESS
            def shutdown(self):
                pass
            def force_flush(self, timeout_millis=0):
                return True

        provider = LoggerProvider()
        provider.add_log_record_processor(SimpleLogRecordProcessor(Printer()))
        set_logger_provider(provider)
        import seclog_core as seclog
        seclog.configure(flood_limit=2, flood_window=3600, detector_state="process")
        for _ in range(5):
            seclog.rate_limited(client_address="203.0.113.9")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    events = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("EVENT")]
    assert events.count("security.excess_rate_limit_exceeded") == 2
    assert "security.security_events_summarized" in events
