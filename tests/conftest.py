"""Test-wide setup: seclog never reads the developer's SECLOG_* or OTEL_* environment."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from tests.support.telemetry import Telemetry, in_memory_telemetry

for _name in list(os.environ):
    if _name.startswith(("SECLOG_", "OTEL_EXPORTER_")):
        del os.environ[_name]

# For the whole session (session fixtures and the servers they start included): the
# user cache, where spools and host state default to, is a temporary directory.
_SESSION_CACHE = tempfile.mkdtemp(prefix="seclog-tests-cache-")
os.environ["XDG_CACHE_HOME"] = _SESSION_CACHE
atexit.register(shutil.rmtree, _SESSION_CACHE, True)


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """A fresh default pipeline whose telemetry stays in memory."""
    with in_memory_telemetry() as collected:
        yield collected


@pytest.fixture(autouse=True)
def _private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Host-shared detector state (the default) lives in a fresh temp dir for each test.

    XDG_CACHE_HOME too: servers a test starts often drop SECLOG_* from their
    environment, and must still never write into the developer's ~/.cache.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SECLOG_STATE_DIR", str(tmp_path_factory.mktemp("state")))
        patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        yield
