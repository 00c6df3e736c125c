"""Under real pre-fork servers, the workers of one host count failed logins together."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.otlp import Receiver, free_port, otlp_receiver

ROOT = Path(__file__).resolve().parents[3]
WORKERS = 3


def _command(kind: str, port: int) -> list[str]:
    if kind == "gunicorn":
        return [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}",
            "--workers", str(WORKERS), "--graceful-timeout", "5",
            "tests.core.detect.workers.flask_app:app",
        ]  # fmt: skip
    return [
        sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port),
        "--workers", str(WORKERS), "--no-access-log", "--timeout-graceful-shutdown", "5",
        "tests.core.detect.workers.starlette_app:app",
    ]  # fmt: skip


@contextmanager
def _serve(kind: str, receiver: Receiver, tmp: Path, **settings: str) -> Iterator[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SECLOG_", "OTEL_"))}
    env.update(receiver.env("grpc"))
    env.update(
        PYTHONPATH=str(ROOT),
        OTEL_SERVICE_NAME=f"workers-{kind}",
        SECLOG_STATE_DIR=str(tmp / "state"),
        SECLOG_SPOOL_DIR="off",
        SECLOG_LOCAL_SINK="none",
        SECLOG_FLOOD_LIMIT="0",
        **{f"SECLOG_{k.upper()}": v for k, v in settings.items()},
    )
    port = free_port()
    log = tmp / f"{kind}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(_command(kind, port), cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 40
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        _wait_for_every_worker(url, deadline + 20)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _wait_for_every_worker(url: str, deadline: float) -> None:
    """Until each worker has answered once: a loaded machine boots them one by one."""
    seen: set[str] = set()
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        while len(seen) < WORKERS and time.monotonic() < deadline:
            probe = lambda _: httpx.get(url + "/", timeout=10).text  # noqa: E731
            seen |= set(pool.map(probe, range(WORKERS)))


def _login(url: str, user: str, password: str = "wrong") -> str:
    """One request on a fresh connection (so the kernel may hand it to any worker)."""
    response = httpx.get(f"{url}/login", params={"user": user, "password": password}, timeout=10)
    assert response.status_code in (200, 401)
    return response.text


def _spread_logins(url: str, user: str, count: int) -> set[str]:
    """``count`` failed logins, three at a time: a busy worker leaves the next to another."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        return set(pool.map(lambda _: _login(url, user), range(count)))


def _count(receiver: Receiver, name: str) -> int:
    return sum(1 for log in receiver.collected.security_logs() if log.event_name == name)


def _wait_for(receiver: Receiver, name: str, count: int) -> None:
    """Wait (generously: the machine may be loaded) until ``count`` ``name`` records arrived."""
    assert receiver.collected.wait_for(
        lambda _c: _count(receiver, "security." + name) >= count, timeout=90
    ), f"expected {count} {name} at the collector, got {_count(receiver, 'security.' + name)}"


def _wait_quiet(receiver: Receiver) -> None:
    """Wait until the receiver has seen no new record for two seconds."""
    last, stable_since = -1, time.monotonic()
    while time.monotonic() - stable_since < 2.0:
        now = len(receiver.collected.security_logs())
        if now != last:
            last, stable_since = now, time.monotonic()
        time.sleep(0.1)


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_failed_logins_spread_over_workers_raise_one_alert_at_the_threshold(kind, tmp_path):
    """Ten failures split over three workers raise exactly one authn_login_fail_max (count 10)."""
    with otlp_receiver() as receiver, _serve(kind, receiver, tmp_path) as url:
        workers = _spread_logins(url, "alice", 9)
        workers |= _spread_logins(url, "Alice", 1)  # another spelling, same account
        assert len(workers) >= 2, "the requests must reach more than one worker"
        _wait_for(receiver, "authn_login_fail_max", 1)
        workers |= _spread_logins(url, "alice", 5)
        _wait_for(receiver, "authn_login_fail", 15)
        _wait_quiet(receiver)
        logs = receiver.collected.security_logs()
        alerts = [log for log in logs if log.event_name == "security.authn_login_fail_max"]
        assert len(alerts) == 1
        assert alerts[0].attributes["security.count"] == 10
        assert alerts[0].severity_text == "ERROR"
        fails = [log for log in logs if log.event_name == "security.authn_login_fail"]
        assert len(fails) == 15


@pytest.mark.parametrize("kind", ["gunicorn", "uvicorn"])
def test_success_after_failures_counts_every_workers_failures(kind, tmp_path):
    """A success after six failures spread over workers reports six attempts."""
    with otlp_receiver() as receiver, _serve(kind, receiver, tmp_path) as url:
        workers = _spread_logins(url, "bob", 6)
        workers.add(_login(url, "bob", "right"))
        assert len(workers) >= 2, "the requests must reach more than one worker"
        _wait_for(receiver, "authn_login_successafterfail", 1)
        _wait_quiet(receiver)
        derived = [
            log
            for log in receiver.collected.security_logs()
            if log.event_name == "security.authn_login_successafterfail"
        ]
        assert len(derived) == 1
        assert derived[0].attributes["security.retry_count"] == 6


def test_per_process_state_is_the_explicit_choice_that_splits_counts(tmp_path):
    """With detector_state=process each worker counts alone: ten spread failures raise nothing."""
    with (
        otlp_receiver() as receiver,
        _serve("gunicorn", receiver, tmp_path, detector_state="process") as url,
    ):
        workers = _spread_logins(url, "carol", 10)
        assert len(workers) >= 2
        _wait_for(receiver, "authn_login_fail", 10)
        _wait_quiet(receiver)
        names = [log.event_name for log in receiver.collected.security_logs()]
        assert names.count("security.authn_login_fail") == 10
        assert "security.authn_login_fail_max" not in names
