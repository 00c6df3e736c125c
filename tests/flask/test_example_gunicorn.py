"""End to end: the example app under gunicorn on 127.0.0.1 exports to a real OTLP receiver."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.otlp import Receiver, free_port, otlp_receiver

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sk_live_51HxExampleSecret00"  # raised inside /boom by the example app
WRONG_PASSWORD = "not-the-builder-pw"
RIGHT_PASSWORD = "builder"


@contextmanager
def gunicorn(receiver: Receiver) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env.update(receiver.env("grpc"))
    env["OTEL_SERVICE_NAME"] = "flask-example"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--graceful-timeout",
            "5",
            "example_projects.flask_app.app:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        if process.stderr is not None:
            process.stderr.close()


def _wait_until_up(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"gunicorn exited early: {stderr[-2000:]}")
        try:
            httpx.get(f"{base}/", timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    pytest.fail("gunicorn did not answer within 30 seconds")


def test_example_app_under_gunicorn_reaches_the_collector() -> None:
    """A wrong password, a 403 and a 500 arrive at the collector; no password or key does."""
    with otlp_receiver() as receiver, gunicorn(receiver) as base:
        with httpx.Client(base_url=base, timeout=10.0) as client:
            failed = client.post("/login", data={"username": "bob", "password": WRONG_PASSWORD})
            assert failed.status_code == 401
            ok = client.post("/login", data={"username": "bob", "password": RIGHT_PASSWORD})
            assert ok.status_code == 302
            assert client.get("/admin").status_code == 403
            assert client.get("/boom").status_code == 500

        wanted = {
            "security.authn_login_fail",
            "security.authn_login_success",
            "security.authz_fail",
            "security.sys_error",
        }
        collected = receiver.collected
        assert collected.wait_for(
            lambda c: wanted <= {log.event_name for log in c.security_logs()}, timeout=20
        ), [log.event_name for log in collected.security_logs()]

        logs = {log.event_name: log for log in collected.security_logs()}
        fail = logs["security.authn_login_fail"]
        assert (fail.severity_text, fail.attributes["security.outcome"]) == ("WARN", "failure")
        assert fail.attributes["security.reason"] == "bad_credentials"
        assert fail.attributes["user.name"] == "bob"
        assert fail.attributes["client.address"] == "127.0.0.1"
        assert fail.attributes["http.route"] == "/login"
        assert fail.resource["service.name"] == "flask-example"

        denied = logs["security.authz_fail"]
        assert (denied.severity_text, denied.attributes["security.reason"]) == ("WARN", "forbidden")
        assert denied.attributes["http.route"] == "/admin"
        assert denied.attributes["user.name"] == "bob"
        assert denied.attributes["user.id"] == "2"

        error = logs["security.sys_error"]
        assert error.severity_text == "ERROR"
        assert error.attributes["security.reason"] == "unhandled_exception"
        assert error.attributes["exception.type"] == "RuntimeError"
        assert error.attributes["http.response.status_code"] == 500

        wire = collected.all_bytes()
        assert API_KEY.encode() not in wire
        assert WRONG_PASSWORD.encode() not in wire
        assert b"sk_live_" not in wire
