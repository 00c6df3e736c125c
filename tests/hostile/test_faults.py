"""Faults: a dead, dying, slow or failing collector, Redis gone, a full or unwritable spool.

In each the Flask app under gunicorn keeps answering with the latency of the same
run against a healthy collector (p50 within 2x + 5 ms, p99 within 3x + 100 ms);
every event emitted is delivered, replayed from the spool, or counted as lost
in a ``seclog_events_lost`` event; and seclog says what degraded, once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.otlp import ReceivedLog
from tests.support.redis import RedisServer, free_port

from .collector import FaultyCollector
from .conftest import LONG
from .latency import Run, request_mix, within_noise
from .servers import running

ROUNDS = 400 if LONG else 60
# Detectors off and no flood control, so each request is exactly one event (Redis runs differ).
BASE_ENV = {"SECLOG_FLOOD_LIMIT": "0", "SECLOG_DETECTORS": "false"}
LOST = "security.seclog_events_lost"
Action = Callable[["Fault"], None]


@dataclass
class Fault:
    """One faulted run: the collector, what it got, the app's answers and output."""

    workdir: Path
    collector: FaultyCollector = field(default_factory=FaultyCollector)
    redis: RedisServer | None = None
    run: Run = field(default_factory=Run)
    output: str = ""
    logs: list[ReceivedLog] = field(default_factory=list)

    def accounted(self) -> tuple[int, int]:
        """(events delivered, events reported lost), each event counted once."""
        logs = self.collector.collected.security_logs()
        seen: dict[tuple[Any, Any], ReceivedLog] = {}
        for log in logs:
            seen[
                (log.attributes.get("seclog.stream_id"), log.attributes.get("seclog.sequence"))
            ] = log
        delivered = sum(1 for log in seen.values() if log.event_name != LOST)
        lost = sum(
            int(log.attributes["seclog.lost_count"])
            for log in seen.values()
            if log.event_name == LOST
        )
        return delivered, lost

    def emitted(self) -> int:
        alerts = sum(
            1
            for log in self.collector.collected.security_logs()
            if "security.reason" in log.attributes and log.attributes.get("security.rule")
        )
        return self.run.security_requests + alerts

    def reports(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.startswith("seclog:")]


def _down(f: Fault) -> None:
    f.collector.stop()


def _up(f: Fault) -> None:
    f.collector.start()


def _ok(f: Fault) -> None:
    f.collector.mode = "ok"


def _slow(f: Fault) -> None:
    f.collector.mode, f.collector.delay = "slow", 3.0


def _failing(status: int) -> Action:
    def apply(f: Fault) -> None:
        f.collector.mode, f.collector.status = "error", status

    return apply


def _both(*actions: Action) -> Action:
    def apply(f: Fault) -> None:
        for action in actions:
            action(f)

    return apply


def _kill_redis(f: Fault) -> None:
    assert f.redis is not None
    f.redis.stop()


@dataclass(frozen=True)
class Scenario:
    before: Action | None = None  # the collector is started unless this says otherwise
    midway: Action | None = None
    recover: Action | None = None
    env: Callable[[Fault], dict[str, str]] = lambda f: {}
    redis: bool = False
    report: re.Pattern[str] | None = None  # the one line seclog must write about it
    lost_reason: str | None = None  # the loss event it must emit


def _unwritable(f: Fault) -> dict[str, str]:
    blocker = f.workdir / "not-a-directory"
    blocker.write_text("a file where the spool directory should be")
    return {"SECLOG_SPOOL_DIR": str(blocker / "spool")}


COLLECTOR = re.compile(r"collector|spool", re.I)
SCENARIOS: dict[str, Scenario] = {
    "healthy": Scenario(),
    "collector down at start-up": Scenario(before=lambda f: None, recover=_up, report=COLLECTOR),
    "collector dies mid-run": Scenario(midway=_down, recover=_up, report=COLLECTOR),
    "collector answers slowly": Scenario(before=_both(_up, _slow), recover=_ok,
                                         report=COLLECTOR),
    "collector answers 503": Scenario(before=_both(_up, _failing(503)), recover=_ok,
                                      report=COLLECTOR),
    "collector answers 500": Scenario(before=_both(_up, _failing(500)), recover=_ok,
                                      report=COLLECTOR),
    "redis absent": Scenario(
        env=lambda f: {"SECLOG_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
                       "SECLOG_DETECTORS": "true"},
        report=re.compile(r"Redis .* unreachable"),
    ),
    "redis killed mid-run": Scenario(
        env=lambda f: {"SECLOG_REDIS_URL": f.redis.url if f.redis else "",
                       "SECLOG_DETECTORS": "true"},
        redis=True, midway=_kill_redis, report=re.compile(r"Redis .* unreachable"),
    ),
    "spool unwritable, collector down": Scenario(
        before=lambda f: None, recover=_up, env=_unwritable,
        report=re.compile(r"spool directory .* not usable"), lost_reason="spool_unwritable",
    ),
    "spool full, collector down": Scenario(
        before=lambda f: None, recover=_up, env=lambda f: {"SECLOG_SPOOL_MAX_BYTES": "4096"},
        lost_reason="spool_full",
    ),
}  # fmt: skip


def exercise(name: str, workdir: Path) -> Fault:
    scenario = SCENARIOS[name]
    fault = Fault(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if scenario.redis:
        fault.redis = RedisServer(free_port())
        fault.redis.start()
    if scenario.before is None:
        fault.collector.start()
    else:
        scenario.before(fault)
    env = {
        **fault.collector.env(),
        **BASE_ENV,
        "SECLOG_SPOOL_DIR": str(workdir / "spool"),
        **scenario.env(fault),
    }
    try:
        with running("flask", workdir / "app", env) as server:
            fault.run.add(request_mix(server, ROUNDS // 2))
            if scenario.midway is not None:
                scenario.midway(fault)
            fault.run.add(request_mix(server, ROUNDS - ROUNDS // 2))
            if scenario.recover is not None:
                scenario.recover(fault)

            def settled(_: Any) -> bool:
                return sum(fault.accounted()) >= fault.emitted()

            fault.collector.collected.wait_for(settled, timeout=30)
            fault.output = server.output()
    finally:
        fault.collector.stop()
        if fault.redis is not None:
            fault.redis.stop()
    fault.logs = fault.collector.collected.security_logs()
    return fault


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Fault]:
    """Each scenario runs once, on first use; the healthy run is the latency reference."""
    done: dict[str, Fault] = {}
    root = tmp_path_factory.mktemp("faults")

    def get(name: str) -> Fault:
        if name not in done:
            done[name] = exercise(name, root / re.sub(r"\W+", "-", name))
        return done[name]

    return get


FAULTS = [name for name in SCENARIOS if name != "healthy"]


@pytest.mark.parametrize("name", FAULTS)
def test_app_answers_normally_with_unchanged_latency(
    faults: Callable[[str], Fault], name: str
) -> None:
    """Under the fault every request gets its normal answer, as fast as with a healthy collector."""
    healthy, faulted = faults("healthy"), faults(name)
    assert faulted.run.statuses == {"login": {401}, "private": {401}, "index": {200}}
    print(  # the README's measured results come from `pytest -s`
        f"{name}: p50 {faulted.run.p50 * 1000:.1f} ms, p99 {faulted.run.p99 * 1000:.1f} ms "
        f"(healthy {healthy.run.p50 * 1000:.1f} / {healthy.run.p99 * 1000:.1f} ms)"
    )
    slower = within_noise(faulted.run, healthy.run)
    assert slower is None, f"{name}: {slower}"


@pytest.mark.parametrize("name", FAULTS)
def test_every_event_is_delivered_replayed_or_counted(
    faults: Callable[[str], Fault], name: str
) -> None:
    """Events delivered (live or replayed from the spool) plus those reported lost = emitted."""
    fault = faults(name)
    delivered, lost = fault.accounted()
    assert delivered + lost == fault.emitted(), (delivered, lost, fault.emitted())
    expected = SCENARIOS[name].lost_reason
    reasons = {log.attributes["security.reason"] for log in fault.logs if log.event_name == LOST}
    assert reasons == ({expected} if expected else set())
    if expected is None:
        assert lost == 0


@pytest.mark.parametrize("name", FAULTS)
def test_degradation_is_reported_once(faults: Callable[[str], Fault], name: str) -> None:
    """seclog says once what degraded; no message repeats, however many events were affected."""
    fault = faults(name)
    reports = fault.reports()
    assert len(reports) == len(set(reports)), reports
    scenario = SCENARIOS[name]
    if scenario.report is not None:
        assert sum(1 for line in reports if scenario.report.search(line)) == 1, reports
    if scenario.lost_reason is not None:
        assert sum(1 for log in fault.logs if log.event_name == LOST) == 1


def test_healthy_run_delivers_everything_and_says_nothing(faults: Callable[[str], Fault]) -> None:
    """With a healthy collector every event arrives once and seclog writes no warning."""
    fault = faults("healthy")
    assert fault.accounted() == (fault.run.security_requests, 0)
    assert fault.reports() == []
