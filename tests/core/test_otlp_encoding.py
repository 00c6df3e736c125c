"""seclog's direct OTLP log encoder writes exactly what the SDK's encoder would."""

from __future__ import annotations

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from seclog_core._otlp import encode_log_batch


def _records() -> list[ReadableLogRecord]:
    exporter = InMemoryLogRecordExporter()
    tracer = TracerProvider(shutdown_on_exit=False).get_tracer("t")
    for resource in (
        Resource.create({"service.name": "shop", "deployment.environment": "prod"}),
        Resource({"service.name": "other"}, schema_url="https://opentelemetry.io/schemas/1.21.0"),
    ):
        provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        scoped = provider.get_logger("seclog", "1.0", schema_url="https://example.com/s")
        bare = provider.get_logger("plain")
        attributes = {
            "user.name": "alice@example.com",
            "text.unicode": "Grüße \u2603 \U0001f512",
            "text.empty": "",
            "seclog.sequence": 7,
            "big": 2**63 - 1,
            "negative": -42,
            "zero": 0,
            "ratio": 0.25,
            "whole": 3.0,
            "flag": True,
            "off": False,
            "list.str": ["a", "b"],
            "list.int": [1, -2, 3],
            "long": "x" * 300,
        }
        with tracer.start_as_current_span("request"):
            scoped.emit(
                timestamp=1_700_000_000_123_456_789,
                observed_timestamp=1_700_000_000_123_456_790,
                severity_number=SeverityNumber.WARN,
                severity_text="WARN",
                body="Failed login (bad_password)",
                attributes=attributes,
                event_name="security.authn_login_fail",
            )
        bare.emit(body=None, attributes={})
        bare.emit(body={"nested": [1, "two"], "n": 1.5}, severity_number=SeverityNumber.ERROR)
        scoped.emit(body="second", attributes={"k": "v"}, event_name="security.authz_fail")
    return list(exporter.get_finished_logs())


def test_fast_encoding_parses_to_the_sdk_encoding() -> None:
    """Every record, resource, scope and value type comes out as the SDK would send it."""
    batch = _records()
    encoded = encode_log_batch(batch)
    ours = ExportLogsServiceRequest.FromString(encoded)
    assert ours == encode_logs(batch)
    assert encoded == encode_logs(batch).SerializeToString()  # byte for byte, field order too
    assert len(ours.resource_logs) == 2


def test_a_value_the_fast_path_does_not_know_falls_back_to_the_sdk() -> None:
    """Text that is not valid UTF-8 takes the SDK's path, whatever that path does with it."""
    batch = _records()
    batch[0].log_record.attributes = {"bad": "\ud800", "good": "ok"}  # type: ignore[misc]
    assert ExportLogsServiceRequest.FromString(encode_log_batch(batch)) == encode_logs(batch)
