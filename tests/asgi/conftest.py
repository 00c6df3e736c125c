"""Every ASGI test sees in-memory telemetry, so middleware pipelines never export for real."""

from __future__ import annotations

import pytest

from tests.support.telemetry import Telemetry


@pytest.fixture(autouse=True)
def _in_memory(telemetry: Telemetry) -> Telemetry:
    return telemetry
