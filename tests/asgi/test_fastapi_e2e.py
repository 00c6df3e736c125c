"""End to end: the example FastAPI app under a real uvicorn, events at a real OTLP receiver."""

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

from tests.support.otlp import Receiver, free_port, otlp_receiver

EXAMPLE = Path(__file__).resolve().parents[2] / "example_projects" / "fastapi_app"


@contextmanager
def serve(command: list[str], receiver: Receiver, port: int) -> Iterator[subprocess.Popen[str]]:
    """Start the server, wait until it answers, stop it if the test left it running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env.update(receiver.env("grpc"), OTEL_SERVICE_NAME="fastapi-example")
    server = subprocess.Popen(
        command,
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
                break
            except httpx.TransportError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(server.communicate()[0]) from None
                time.sleep(0.1)
        yield server
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate(timeout=10)


def exercise(port: int) -> None:
    """A failed login with a forged X-Forwarded-For, a missing token, a non-admin, a crash."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        failed = client.post(
            "/login",
            json={"username": "alice", "password": "guess"},
            headers={"X-Forwarded-For": "203.0.113.66", "User-Agent": "e2e/1.0"},
        )
        assert failed.status_code == 401
        token = client.post("/login", json={"username": "alice", "password": "wonderland"})
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
        assert client.get("/me").status_code == 401
        assert client.get("/admin", headers=bearer).status_code == 403
        assert client.get("/boom").status_code == 500


def test_the_example_app_reports_to_a_real_collector_and_flushes_on_sigterm() -> None:
    """Under uvicorn, every event arrives, the last ones flushed by lifespan shutdown.

    uvicorn re-raises SIGTERM once its graceful shutdown is done, so the process dies by
    the signal and atexit handlers (the OpenTelemetry SDK's flush) never run; the events
    emitted just before SIGTERM still arrive because the middleware flushes on
    ``lifespan.shutdown``.
    """
    port = free_port()
    command = [sys.executable, "app.py", "--port", str(port)]
    with otlp_receiver() as receiver, serve(command, receiver, port) as server:
        exercise(port)
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=20)[0]
        assert server.returncode == -signal.SIGTERM, output  # killed by the re-raised signal
        assert "Application shutdown complete" in output

        collected = receiver.collected
        wanted = {
            "security.authn_login_fail",
            "security.authn_login_success",
            "security.authn_fail",
            "security.authz_fail",
            "security.sys_error",
            "security.malicious_extraneous",
        }
        assert collected.wait_for(
            lambda c: wanted <= {log.event_name for log in c.security_logs()}, timeout=5
        ), [log.event_name for log in collected.security_logs()]
        logs = {log.event_name: log for log in collected.security_logs()}

        failed = logs["security.authn_login_fail"].attributes
        # The forged header came from the socket peer, which is no trusted proxy.
        assert failed["client.address"] == "127.0.0.1"
        assert failed["user.name"] == "alice"
        assert failed["http.route"] == "/login"
        assert failed["http.request.method"] == "POST"
        assert failed["user_agent.original"] == "e2e/1.0"
        assert logs["security.malicious_extraneous"].attributes["security.forwarded"] == (
            "203.0.113.66"
        )
        assert logs["security.authn_fail"].attributes["http.route"] == "/me"
        assert logs["security.authz_fail"].attributes["security.reason"] == "not_admin"
        crash = logs["security.sys_error"].attributes
        assert crash["exception.type"] == "RuntimeError"
        assert crash["http.route"] == "/boom"
        # Each status was explained once: no duplicate fallback events.
        names = [log.event_name for log in collected.security_logs()]
        assert names.count("security.authz_fail") == 1
        assert names.count("security.authn_fail") == 1
        assert b"wonderland" not in collected.all_bytes()
