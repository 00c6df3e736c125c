"""Test-wide setup: seclog never reads the developer's SECLOG_* or OTEL_* environment."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.telemetry import Telemetry, in_memory_telemetry

for _name in list(os.environ):
    if _name.startswith(("SECLOG_", "OTEL_EXPORTER_")):
        del os.environ[_name]


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """A fresh default pipeline whose telemetry stays in memory."""
    with in_memory_telemetry() as collected:
        yield collected
