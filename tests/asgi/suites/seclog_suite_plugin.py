"""A pytest plugin for other projects' suites: every app their TestClient serves runs behind seclog.

Loaded with ``-p seclog_suite_plugin`` (this folder on ``PYTHONPATH``) into Starlette's
own test suite by ``starlette_suite.py``. Each app a test hands to
``starlette.testclient.TestClient`` is wrapped in ``SecurityLoggingMiddleware``, the
outermost layer, as ``app = SecurityLoggingMiddleware(app)`` would. A test fails
when seclog counted an internal failure during it (a blocking-call detector turning
seclog's work into an error shows up there); at the end the events seclog reported
and its failure counters go to ``$STARLETTE_SUITE_SECLOG_REPORT``.
"""

from __future__ import annotations

import collections
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from starlette import testclient

from seclog_asgi import SecurityLoggingMiddleware
from seclog_core import failure_counts
from seclog_core.testing import capture_security_events

_original_init = testclient.TestClient.__init__
_capture = capture_security_events()
_captured = _capture.__enter__()


def _wrapped_init(self: Any, app: Any, *args: Any, **kwargs: Any) -> None:
    _original_init(self, SecurityLoggingMiddleware(app), *args, **kwargs)


testclient.TestClient.__init__ = _wrapped_init  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _seclog_never_fails_inside() -> Iterator[None]:
    before = failure_counts()
    yield
    grown = {k: n - before.get(k, 0) for k, n in failure_counts().items() if n > before.get(k, 0)}
    assert not grown, f"seclog counted internal failures during this test: {grown}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get("STARLETTE_SUITE_SECLOG_REPORT")
    if target:
        report = {"events": collections.Counter(_captured.types), "failures": failure_counts()}
        with open(target, "w", encoding="utf-8") as out:
            json.dump(report, out)
