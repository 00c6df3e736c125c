"""Flask tests run against in-memory telemetry and read events as they reached the wire."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from tests.support.telemetry import Telemetry

# Flask-Security-Too 5.x needs Flask 3: the Flask 2.3 env runs without it.
collect_ignore = [] if importlib.util.find_spec("flask_security") else ["test_flask_security.py"]


@pytest.fixture(autouse=True)
def _in_memory(telemetry: Telemetry) -> Telemetry:
    return telemetry


def on_wire(telemetry: Telemetry, event_type: str) -> Any:
    """The one log record of ``event_type`` that left seclog."""
    return telemetry.record(f"security.{event_type}")


def assert_event(
    telemetry: Telemetry,
    event_type: str,
    *,
    severity: str,
    outcome: str,
    reason: str | None,
    secret: str | None = None,
) -> dict[str, Any]:
    """Check name, severity, outcome and reason on the wire; return the attributes."""
    record = on_wire(telemetry, event_type)
    attributes = dict(record.attributes)
    assert record.severity_text == severity
    assert attributes["security.outcome"] == outcome
    assert attributes.get("security.reason") == reason
    if secret is not None:
        assert_no_secret(telemetry, secret)
    return attributes


def assert_no_secret(telemetry: Telemetry, secret: str) -> None:
    """No log record, attribute or span event carries ``secret``."""
    for record in telemetry.records():
        assert secret not in repr(record.body)
        assert secret not in repr(dict(record.attributes or {}))
    for span in telemetry.spans.get_finished_spans():
        for event in span.events:
            assert secret not in repr(dict(event.attributes or {}))
