"""The Redis backend on a real three-node Redis Cluster: every script's keys share one slot."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from seclog_core.detect import Hit
from seclog_core.detect.redis_state import RedisState
from tests.core.detect.conftest import alerts
from tests.support.redis import REDIS_SERVER

REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def _cluster_port() -> int:
    """A free port whose cluster-bus port (port + 10000) is free and valid too."""
    rng = random.SystemRandom()
    while True:
        port = rng.randrange(20000, 50000)
        try:
            for candidate in (port, port + 10000):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """Three masters on 127.0.0.1 sharing the 16,384 slots; yields a seclog redis_url."""
    ports = [_cluster_port() for _ in range(3)]
    procs = []
    for port in ports:
        workdir = tmp_path / str(port)
        workdir.mkdir()
        procs.append(
            subprocess.Popen(
                [
                    REDIS_SERVER,
                    "--port",
                    str(port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(workdir),
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(workdir / "nodes.conf"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    try:
        for port, proc in zip(ports, procs, strict=True):
            deadline = time.monotonic() + 30
            while True:
                try:
                    redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5).ping()
                    break
                except redis.ConnectionError:
                    assert proc.poll() is None, f"redis-server on {port} exited"
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
        subprocess.run(
            [REDIS_CLI, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=30,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        node = redis.Redis(host="127.0.0.1", port=ports[0])
        while node.cluster("info").get("cluster_state") != "ok":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{ports[0]}/0?cluster=true"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=10)


def test_one_event_s_hits_run_as_one_script_on_a_cluster(cluster: str):
    """Hits on several rules and keys in one call work on a cluster and land in one slot."""
    state = RedisState(cluster, timeout=2.0)
    hits = [
        Hit("brute_force", "alice", 60.0, 10, 2, 60.0),
        Hit("credential_stuffing", "203.0.113.9", 60.0, 10, 5, 60.0, member="alice"),
        Hit("distributed_brute_force", "alice", 60.0, 5, 5, 60.0, member="203.0.113.9"),
    ]
    now = time.time()
    first = state.hit_many(hits, now)
    second = state.hit_many(hits, now + 1)
    assert [r.count for r in first] == [1, 1, 1]
    assert [r.count for r in second] == [2, 1, 1]
    assert second[0].fired and not state.claim("brute_force", "alice", 60.0, now + 2)
    assert state.count("brute_force", "alice", 60.0, now + 2) == 2
    assert state.take("brute_force", "alice", 60.0, now + 2) == 2
    assert state.available
    client = RedisCluster.from_url(cluster.replace("?cluster=true", ""))
    try:
        keys = client.keys(target_nodes=RedisCluster.ALL_NODES)
        assert keys and len({client.keyslot(k) for k in keys}) == 1
    finally:
        client.close()


def test_detectors_alert_once_with_state_on_a_cluster(make_app, events, cluster: str):
    """Two apps (two hosts) on one cluster: 5 + 5 failed logins raise one brute-force alert."""
    first = make_app(redis_url=cluster, redis_timeout=2.0)
    second = make_app(redis_url=cluster, redis_timeout=2.0)
    for _ in range(5):
        first.login("erin")
        second.login("erin")
    assert alerts(events) == ["authn_login_fail_max"]
