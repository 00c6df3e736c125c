"""Providers belong to each pipeline: explicit ones win, settings of later apps are honoured."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from seclog_core.config import load_settings
from seclog_core.pipeline import new_pipeline


def _run(code: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_second_pipeline_keeps_its_own_local_sink() -> None:
    """After an app with local_sink="none" emitted, an app with local_sink="stderr" still writes."""
    done = _run(
        """
        from seclog_core import export
        from seclog_core.pipeline import new_pipeline
        quiet = new_pipeline(local_sink="none")
        quiet.emit("authn_login_fail", {"user.name": "quiet"})
        loud = new_pipeline(local_sink="stderr")
        loud.emit("authn_login_fail", {"user.name": "loud"})
        export.force_flush(2000)
        """
    )
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("{")]
    assert len(lines) == 1, done.stderr
    assert '"user.name": "loud"' in lines[0]


def test_explicit_providers_receive_the_events_and_nothing_global_is_installed() -> None:
    """logger_provider/tracer_provider/meter_provider given to seclog are used as they are."""
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider(shutdown_on_exit=False)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()], shutdown_on_exit=False)
    try:
        pipe = new_pipeline(
            logger_provider=logger_provider,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        assert pipe.providers is not None and pipe.providers.owned == ()
        pipe.emit("authn_login_fail", {"user.name": "bob"})
        (record,) = [item.log_record for item in logs.get_finished_logs()]
        assert record.event_name == "security.authn_login_fail"
        (span,) = spans.get_finished_spans()
        assert span.context.trace_id == record.trace_id
    finally:
        logger_provider.shutdown()
        tracer_provider.shutdown()
        meter_provider.shutdown()


def test_explicit_providers_are_never_read_from_the_environment() -> None:
    """SECLOG_LOGGER_PROVIDER cannot name an object: it is ignored, not parsed."""
    settings = load_settings(environ={"SECLOG_LOGGER_PROVIDER": "os.system"})
    assert settings.logger_provider is None


def test_providers_are_built_when_the_pipeline_is_built() -> None:
    """No provider is built lazily at the first event (on an event loop it would block)."""
    done = _run(
        """
        from seclog_core import export
        from seclog_core.pipeline import new_pipeline
        pipe = new_pipeline(local_sink="none")
        assert pipe.providers is not None and pipe.providers.owned, pipe.providers
        built = dict(export._private)
        pipe.emit("authn_login_fail", {"user.name": "bob"})
        assert dict(export._private) == built
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
