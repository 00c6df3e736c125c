"""Hostile-world suite fixtures: one real OTLP receiver per module, long variants behind a flag.

``HOSTILE_LONG=1`` runs the long fuzz and soak variants (marked ``slow``); without
it they are skipped and the short CI variants run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.otlp import Receiver, otlp_receiver

LONG = os.environ.get("HOSTILE_LONG", "") == "1"

long_only = pytest.mark.skipif(not LONG, reason="long variant: set HOSTILE_LONG=1 to run it")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """One real OTLP receiver (gRPC + HTTP) on free 127.0.0.1 ports, shared by a module."""
    with otlp_receiver() as started:
        yield started
