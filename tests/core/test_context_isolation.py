"""Concurrent requests never see each other's context."""

from __future__ import annotations

import asyncio
import threading

import seclog_core as seclog
from seclog_core.testing import capture_security_events
from tests.support.telemetry import Telemetry


def _emit_as(index: int, barrier: threading.Barrier | None = None) -> None:
    ctx = seclog.RequestContext(
        client_address=f"10.0.{index // 256}.{index % 256}",
        request_id=f"req-{index}",
        user_id=str(index),
    )
    with seclog.request_context(ctx):
        if barrier is not None:
            barrier.wait()
        seclog.login_failed(username=f"user-{index}")


def _assert_each_event_has_its_own_request(events: list[seclog.SecurityEvent]) -> None:
    assert len(events) == 50
    for event in events:
        index = int(str(event.attributes["http.request.id"]).removeprefix("req-"))
        assert event.attributes["user.name"] == f"user-{index}"
        assert event.attributes["user.id"] == str(index)
        assert event.attributes["client.address"] == f"10.0.{index // 256}.{index % 256}"


def test_fifty_threads_keep_their_own_context(telemetry: Telemetry) -> None:
    """Events from 50 threads each carry their own request's context."""
    barrier = threading.Barrier(50)
    with capture_security_events() as events:
        threads = [threading.Thread(target=_emit_as, args=(i, barrier)) for i in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    _assert_each_event_has_its_own_request(list(events))
    sequences = sorted(dict(r.attributes)["seclog.sequence"] for r in telemetry.records())
    assert sequences == list(range(1, 51))


def test_fifty_tasks_keep_their_own_context(telemetry: Telemetry) -> None:
    """Events from 50 interleaved asyncio tasks each carry their own request's context."""

    async def one(index: int) -> None:
        ctx = seclog.RequestContext(
            client_address=f"10.0.{index // 256}.{index % 256}",
            request_id=f"req-{index}",
            user_id=str(index),
        )
        with seclog.request_context(ctx):
            await asyncio.sleep(0)  # let every other task bind its context first
            await asyncio.sleep(0.001 * (index % 5))
            seclog.login_failed(username=f"user-{index}")

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(50)))

    with capture_security_events() as events:
        asyncio.run(main())
    _assert_each_event_has_its_own_request(list(events))


def test_outside_a_request_nothing_is_inherited(telemetry: Telemetry) -> None:
    """After a request ends, the next event has no stale client or user."""
    with seclog.request_context(client_address="203.0.113.1", user_name="alice"):
        pass
    with capture_security_events() as events:
        seclog.logout()
    assert "client.address" not in events[0].attributes
    assert "user.name" not in events[0].attributes
