"""Detector tests run against in-memory telemetry and capture what seclog emitted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seclog_core.testing import CapturedEvents, capture_security_events
from tests.core.detect.app import App
from tests.support.telemetry import Telemetry


@pytest.fixture
def events(telemetry: Telemetry) -> Iterator[CapturedEvents]:
    with capture_security_events() as captured:
        yield captured


@pytest.fixture
def make_app(telemetry: Telemetry) -> Iterator[type[App]]:
    apps: list[App] = []

    def build(**options: object) -> App:
        app = App(**options)
        apps.append(app)
        return app

    yield build  # type: ignore[misc]
    for app in apps:
        app.close()


def alerts(events: CapturedEvents) -> list[str]:
    """The alert-like events detectors emitted, by type."""
    from seclog_core.detect import OUTPUT_TYPES

    return [
        e.type.name
        for e in events
        if e.type.is_alert or e.type.name in OUTPUT_TYPES - {"security_events_summarized"}
    ]
