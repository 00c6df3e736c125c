"""Flushing: events flood control held back go out before telemetry is flushed."""

from __future__ import annotations

import seclog_core as seclog
from seclog_core import export
from seclog_core.testing import capture_security_events
from tests.support.telemetry import in_memory_telemetry


def test_force_flush_summarizes_what_flood_control_held_back() -> None:
    """At shutdown (ASGI lifespan, atexit) no suppressed event is lost without a count."""
    with in_memory_telemetry(flood_limit=3, flood_window=3600) as telemetry:
        with capture_security_events() as events:
            for _ in range(10):
                seclog.rate_limited(client_address="203.0.113.9")
            assert len(events.of_type("excess_rate_limit_exceeded")) == 3
            export.force_flush(500)
        summary = events.one("security_events_summarized")
        assert summary.attributes["security.count"] == 7
        assert any(
            r.event_name == "security.security_events_summarized" for r in telemetry.records()
        )
