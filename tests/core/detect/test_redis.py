"""The Redis backend against a real redis-server: shared counts, atomicity, expiry, fallback."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

import seclog_core as seclog
from seclog_core.detect import Hit
from seclog_core.detect.redis_state import RedisState
from tests.core.detect.conftest import alerts
from tests.support.redis import RedisServer, redis_server

ROOT = Path(__file__).resolve().parents[3]

# One worker process: N failed logins for one account through its own pipeline.
WORKER = """
import json, sys
from tests.core.detect.app import App
from tests.support.telemetry import in_memory_telemetry
from seclog_core.testing import capture_security_events
with in_memory_telemetry(), capture_security_events() as events:
    app = App(redis_url=sys.argv[1])
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(int(sys.argv[2])):
        app.login("dave", client=sys.argv[3])
    found = [dict(e.attributes) for e in events.of_type("authn_login_fail_max")]
    print(json.dumps(found), flush=True)
"""


@pytest.fixture
def server() -> Iterator[RedisServer]:
    with redis_server() as running:
        yield running


def _state(server: RedisServer) -> RedisState:
    return RedisState(server.url, timeout=0.05)


def test_two_processes_sharing_redis_see_one_combined_count(server):
    """Two worker processes, six failed logins each, give one alert with the combined count."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, server.url, "6", f"192.0.2.{n}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for n in (1, 2)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    finally:
        for worker in workers:
            worker.kill()
    found = [alert for out in outputs for alert in json.loads(out.strip().splitlines()[-1])]
    assert len(found) == 1
    # Combined: neither process alone saw more than 6. The process that claims the alert
    # reports the count it saw, which the other may have raised between its count and claim.
    assert 10 <= found[0]["security.count"] <= 12
    assert found[0]["security.key"] == "dave"


def test_concurrent_hits_are_atomic(server):
    """Eight threads hammering one key through Redis fire exactly one alert."""
    state = _state(server)
    fired: list[bool] = []
    hit = Hit("rule", "k", 1e6, 10_000, 400, 60.0)

    def worker() -> None:
        for _ in range(100):
            fired.extend(r.fired for r in state.hit_many([hit], time.time()))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert fired.count(True) == 1
    assert state.take("rule", "k", 1e6, time.time()) == 800
    assert state.available


def test_keys_expire_by_themselves_and_hide_identities(server):
    """Window and cooldown keys carry a TTL, and user names never appear in key names."""
    state = _state(server)
    state.hit_many([Hit("brute_force", "alice", 30.0, 10, 1, 90.0)], time.time())
    client = redis.Redis.from_url(server.url)
    try:
        keys = [k.decode() for k in client.keys("{seclog}:*")]
        assert len(keys) == 2
        assert all("alice" not in k for k in keys)
        ttls = sorted(client.pttl(k) for k in keys)
        assert 0 < ttls[0] <= 30_000 < ttls[1] <= 90_000
    finally:
        client.close()


def test_killing_redis_mid_run_leaves_the_app_serving(make_app, events, caplog):
    """With Redis gone, requests are served on time, events still flow, fallback is said once."""
    with redis_server() as server:
        app = make_app(redis_url=server.url)
        for _ in range(4):
            app.login("erin")
        server.stop()
        caplog.set_level(logging.WARNING, logger="seclog")
        started = time.monotonic()
        for _ in range(20):
            assert app.login("erin") == 401
        elapsed = time.monotonic() - started
    assert elapsed < 5
    assert len(events.of_type("authn_login_fail")) == 24
    # Falling back to per-process state, the detectors still notice the attack.
    assert alerts(events) == ["authn_login_fail_max"]
    warnings = [r for r in caplog.records if "Redis at 127.0.0.1" in r.getMessage()]
    assert len(warnings) == 1
    assert "per-process state" in warnings[0].getMessage()
    assert seclog.failure_counts()["detect.redis"] >= 1


def test_redis_is_tried_again_after_the_backoff(server):
    """After an outage, the backend goes back to Redis once it answers again."""
    state = _state(server)
    state.retry_after = 0.05
    server.stop()
    hit = Hit("rule", "k", 60.0, 10, 0, 1.0)
    state.hit_many([hit], time.time())
    assert not state.available
    server.start()
    time.sleep(0.06)
    assert state.hit_many([hit], time.time())[0].count == 1
    assert state.available


def test_a_redis_that_never_answers_costs_at_most_the_timeout():
    """A Redis that accepts connections but never replies holds a request only redis_timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        state = RedisState(f"redis://127.0.0.1:{port}/0", timeout=0.05)
        started = time.monotonic()
        result = state.hit_many([Hit("rule", "k", 60.0, 10, 1, 1.0)], time.time())
        elapsed = time.monotonic() - started
    assert elapsed < 0.5
    assert result[0].count == 1 and not state.available


def test_every_key_of_one_event_lies_in_one_cluster_slot(server):
    """All keys one script touches share a hash slot, so Redis Cluster and Valkey run it."""
    from redis.crc import key_slot

    state = _state(server)
    hits = [
        Hit("brute_force", "alice", 30.0, 10, 1, 90.0),
        Hit("credential_stuffing", "203.0.113.9", 30.0, 10, 1, 90.0, member="alice"),
    ]
    state.hit_many(hits, time.time())
    client = redis.Redis.from_url(server.url)
    try:
        keys = client.keys("*")
        assert len(keys) == 4
        assert len({key_slot(k) for k in keys}) == 1
    finally:
        client.close()
