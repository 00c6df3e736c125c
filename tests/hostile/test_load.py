"""Load: real servers under a loopback flood of normal and attack traffic.

~10 s per server in CI, 60 s with ``HOSTILE_LONG=1``. No error is caused by
seclog (no 5xx, no dropped connection, no internal failure), memory stays flat
after warm-up, and every security event is accounted for at the receiver: one
record each, or counted inside a flood-control summary.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.otlp import ReceivedLog, Receiver

from .conftest import LONG, long_only
from .loadgen import LoadResult, generate
from .servers import Server, running

# Request kind and its status -> the one event seclog must account for.
EVENTS = {
    ("private", 401): "authn_fail",
    ("login", 401): "authn_login_fail",
    ("admin", 403): "authz_fail",
    ("limited", 429): "excess_rate_limit_exceeded",
}
NORMAL = {
    "index": {200}, "private": {401}, "login": {401}, "admin": {403}, "limited": {429},
    "scan": {404}, "tool": {200}, "spoof": {200},
}  # fmt: skip


@dataclass
class Soak:
    load: LoadResult
    rss: list[tuple[float, int]]
    output: str
    logs: list[ReceivedLog]


def soak(kind: str, workers: int, seconds: float, receiver: Receiver, workdir: Path) -> Soak:
    rss: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample(server: Server) -> None:
        start = time.monotonic()
        while not stop.wait(0.5):
            rss.append((time.monotonic() - start, server.rss_kib()))

    with running(kind, workdir, receiver.env("grpc"), workers=workers) as server:
        sampler = threading.Thread(target=sample, args=(server,), daemon=True)
        sampler.start()
        load = generate(server.port, seconds)
        stop.set()
        sampler.join()
    service = f"hostile-{kind}"
    expected = sum(n for key, n in load.statuses.items() if key in EVENTS)

    def accounted(collected: Any) -> bool:
        return sum(_accounted(_mine(collected.security_logs(), service)).values()) >= expected

    receiver.collected.wait_for(accounted, timeout=15)
    logs = _mine(receiver.collected.security_logs(), service)
    return Soak(load, rss, server.output(), logs)


def _mine(logs: list[ReceivedLog], service: str) -> list[ReceivedLog]:
    return [log for log in logs if log.resource.get("service.name") == service]


def _accounted(logs: list[ReceivedLog]) -> Counter[str]:
    """Events per type: one per record, plus those counted in flood-control summaries."""
    seen = {
        (log.attributes["seclog.stream_id"], log.attributes["seclog.sequence"]): log for log in logs
    }
    counts: Counter[str] = Counter()
    for log in seen.values():
        name = log.event_name.removeprefix("security.")
        if name == "security_events_summarized":
            counts[str(log.attributes["security.summarized_event"])] += int(
                log.attributes["security.count"]
            )
        elif name in EVENTS.values():
            counts[name] += 1
    return counts


SERVERS = [("flask", 2), ("fastapi", 1)]


@pytest.fixture(scope="module")
def soaks(receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Soak]:
    seconds = 60.0 if LONG else 10.0
    root = tmp_path_factory.mktemp("load")
    return {kind: soak(kind, workers, seconds, receiver, root / kind) for kind, workers in SERVERS}


@pytest.mark.parametrize("kind", [k for k, _ in SERVERS])
def test_no_errors_under_load(soaks: dict[str, Soak], kind: str) -> None:
    """Under a flood every request gets its normal answer: no 5xx, no dropped connection."""
    result = soaks[kind].load
    assert result.requests > 500, result.requests
    assert not result.errors, result.errors
    unexpected = {key: n for key, n in result.statuses.items() if key[1] not in NORMAL[key[0]]}
    assert not unexpected
    assert "seclog: internal failure" not in soaks[kind].output


@pytest.mark.parametrize("kind", [k for k, _ in SERVERS])
def test_every_security_event_is_accounted_for(soaks: dict[str, Soak], kind: str) -> None:
    """Each security-relevant response is one record at the receiver or counted in a summary."""
    result = soaks[kind]
    expected: Counter[str] = Counter()
    for key, n in result.load.statuses.items():
        if key in EVENTS:
            expected[EVENTS[key]] += n
    assert _accounted(result.logs) == expected
    names = {log.event_name for log in result.logs}
    # The attack traffic was recognised, not only counted.
    assert {"security.malicious_attack_tool", "security.malicious_extraneous"} <= names


@pytest.mark.parametrize("kind", [k for k, _ in SERVERS])
def test_memory_is_flat_after_warm_up(soaks: dict[str, Soak], kind: str) -> None:
    """After warm-up the server's resident memory stops growing under the same flood."""
    samples = soaks[kind].rss
    total = samples[-1][0]
    warm = [kib for t, kib in samples if t >= total * 0.4]
    assert len(warm) >= 4, samples
    growth = max(warm) - warm[0]
    assert growth <= max(0.10 * warm[0], 8 * 1024), (warm[0], max(warm), samples)


@pytest.mark.slow
@long_only
def test_long_soak_is_documented(soaks: dict[str, Soak]) -> None:
    """The long variant ran its full minute per server (its measurements go in the README)."""
    for kind, result in soaks.items():
        assert result.load.seconds >= 60
        print(
            kind,
            result.load.requests,
            "requests",
            f"{result.load.requests / result.load.seconds:.0f}/s",
            "rss",
            result.rss[0][1],
            "->",
            result.rss[-1][1],
            "KiB",
        )
