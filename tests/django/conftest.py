"""Django for seclog's Django tests: configured once, a fresh in-memory database per session,
every test in a transaction rolled back afterwards (sync and async clients alike)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.conf import settings

from seclog_core.testing import CapturedEvents, capture_security_events
from tests.django import settings as test_settings
from tests.support.telemetry import Telemetry, in_memory_telemetry

if not settings.configured:
    settings.configure(**{k: v for k, v in vars(test_settings).items() if k.isupper()})
    django.setup()

from django.db import connection, transaction
from django.test.utils import setup_test_environment, teardown_test_environment

from seclog_django.settings import reset_pipeline


@pytest.fixture(scope="session", autouse=True)
def _test_database() -> Iterator[None]:
    setup_test_environment()
    name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    yield
    connection.creation.destroy_test_db(name, verbosity=0)
    teardown_test_environment()


@pytest.fixture(autouse=True)
def _rollback() -> Iterator[None]:
    atomic = transaction.atomic()
    atomic.__enter__()
    try:
        yield
    finally:
        transaction.set_rollback(True)
        atomic.__exit__(None, None, None)


@pytest.fixture(autouse=True)
def wire() -> Iterator[Telemetry]:
    """What left the process (in memory), with a fresh site pipeline per test."""
    reset_pipeline()
    with in_memory_telemetry() as collected:
        yield collected
    reset_pipeline()


@pytest.fixture
def events() -> Iterator[CapturedEvents]:
    with capture_security_events() as captured:
        yield captured


def wire_text(wire: Telemetry) -> str:
    """Every body and attribute that left seclog, as one string to grep for secrets."""
    parts: list[Any] = []
    for record in wire.records():
        parts.append(record.body)
        parts.extend(f"{k}={v}" for k, v in (record.attributes or {}).items())
    return "\n".join(str(p) for p in parts)
