"""Shutdown: events emitted just before a graceful server stop still reach the collector.

Each server runs the parity scenario and gets SIGTERM at once, with events still
queued; gunicorn's and uvicorn's graceful exits must not lose them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.otlp import Receiver

from .scenario import run_scenario, stream
from .servers import KINDS, running
from .test_parity import expected_stream


@pytest.fixture(scope="module")
def stopped_at_once(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir = tmp_path_factory.mktemp("shutdown")

    def one(kind: str) -> None:
        with running(kind, workdir / kind, receiver.env("grpc")) as server:
            run_scenario(server)  # leaving the block sends SIGTERM right away

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(one, KINDS))


@pytest.mark.parametrize("kind", KINDS)
def test_events_queued_at_shutdown_are_delivered(
    stopped_at_once: None, receiver: Receiver, kind: str
) -> None:
    """A graceful stop right after the last request loses none of its security events."""
    want = len(expected_stream(kind))
    receiver.collected.wait_for(
        lambda c: len(stream(c.security_logs(), f"hostile-{kind}")) >= want, timeout=10
    )
    got = stream(receiver.collected.security_logs(), f"hostile-{kind}")
    assert len(got) == want, [log.event_name for log in got]
