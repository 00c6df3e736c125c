"""The MAC survives a real OTLP export: what the Collector's file exporter writes verifies."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import seclog_core as seclog
from seclog_cli.verify import main
from seclog_core import export, pipeline
from tests.support.otlp import Collected, otlp_receiver

KEY = "roundtrip-key-0123456789abcdefgh"


@dataclass
class FileExporterShape(Collected):
    """Keeps each logs request as the Collector's file exporter writes it: one JSON per line."""

    lines: list[str] = field(default_factory=list)

    def handle_logs(self, request: Any, headers: Any) -> None:
        self.lines.append(MessageToJson(request, indent=None))  # type: ignore[arg-type]
        super().handle_logs(request, headers)


@contextmanager
def _exported_to(endpoint: str, **settings: Any) -> Iterator[None]:
    logger_provider = LoggerProvider(shutdown_on_exit=False)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint + "/v1/logs", timeout=5))
    )
    previous, previous_pipeline = export._providers, pipeline._default
    export.set_providers(
        export.Providers(
            logger_provider, TracerProvider(shutdown_on_exit=False), MeterProvider(), ()
        )
    )
    pipeline.configure(**settings)
    try:
        yield
    finally:
        pipeline.set_pipeline(previous_pipeline)
        export.set_providers(previous)
        logger_provider.shutdown()


def test_signed_events_verify_after_a_real_otlp_http_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ints, floats (whole, fractional, NaN), bools, lists and unicode keep their MAC over OTLP."""
    shape = FileExporterShape()
    monkeypatch.setattr("tests.support.otlp.Collected", lambda: shape)
    with (
        otlp_receiver() as receiver,
        _exported_to(receiver.http_endpoint, integrity_key=KEY, detectors=False),
    ):
        assert receiver.collected is shape
        pipeline.get_pipeline().emit(
            "authz_fail",
            {
                "http.response.status_code": 403,
                "app.ratio": 0.1,
                "app.whole": 3.0,
                "app.nan": math.nan,
                "app.flag": True,
                "app.roles": ["admin", "ops"],
                "app.counts": [1, 2, 3],
                "user.name": "zoë \u202e",
            },
        )
        seclog.login_failed(username="bob", reason="bad_credentials")
        seclog.logout(username="bob")
        for flush in list(pipeline.get_pipeline().flushers):
            flush()  # the closing checkpoint, as at shutdown
        assert shape.wait_for(lambda c: len(c.security_logs()) == 4, timeout=10)
    path = tmp_path / "collector-file-export.json"
    path.write_text("\n".join(shape.lines) + "\n")
    code = main([str(path), "--key", KEY])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "4 records in 1 streams, 0 problems, 0 warnings" in out

    tampered = path.read_text().replace('"stringValue": "bob"', '"stringValue": "eve"', 1)
    path.write_text(tampered)
    assert main([str(path), "--key", KEY]) == 1
    assert "MODIFIED   sequence 2" in capsys.readouterr().out
