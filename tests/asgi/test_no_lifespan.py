"""Apps and servers without lifespan still flush what flood control held back at shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from seclog_asgi import SecurityLoggingMiddleware
from seclog_core import export
from tests.asgi._driver import call
from tests.support.otlp import free_port, otlp_receiver

# Django's ASGIHandler refuses a lifespan scope before reading a message, like this one.
APP = """
from seclog_asgi import SecurityLoggingMiddleware


async def no_lifespan(scope, receive, send):
    if scope["type"] != "http":
        raise ValueError("Django can only handle ASGI/HTTP connections, not lifespan.")
    await send({"type": "http.response.start", "status": 401, "headers": []})
    await send({"type": "http.response.body", "body": b""})


app = SecurityLoggingMiddleware(no_lifespan, flood_limit=2)
"""


async def django_like(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise ValueError("Django can only handle ASGI/HTTP connections, not lifespan.")


@pytest.mark.anyio
async def test_an_app_without_lifespan_gets_seclogs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The middleware answers start-up for the app and flushes before shutdown completes."""
    order: list[str] = []
    monkeypatch.setattr(export, "force_flush", lambda timeout_millis=0: order.append("flush"))
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        order.append(message["type"])

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    await SecurityLoggingMiddleware(django_like)(scope, receive, send)
    assert order == ["lifespan.startup.complete", "flush", "lifespan.shutdown.complete"]


@pytest.mark.anyio
async def test_an_app_failing_inside_its_lifespan_still_fails() -> None:
    """An app that read the start-up message and then raised keeps its failure for the server."""

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise RuntimeError("no database")

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    with pytest.raises(RuntimeError, match="no database"):
        await call(SecurityLoggingMiddleware(broken), scope, [{"type": "lifespan.startup"}])


def _serve(tmp_path: Path, port: int, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    (tmp_path / "nolifespan.py").write_text(textwrap.dedent(APP))
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    full.update(env, OTEL_SERVICE_NAME="no-lifespan")
    full["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), str(tmp_path)])
    command = [sys.executable, "-m", "uvicorn", "nolifespan:app", "--port", str(port), *extra]
    return subprocess.Popen(
        command, cwd=tmp_path, env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.mark.parametrize(
    ("extra", "stop"),
    [((), signal.SIGTERM), (("--lifespan", "off"), signal.SIGINT)],
    ids=["django-like-app-sigterm", "server-lifespan-off-sigint"],
)
def test_held_back_events_reach_the_collector_when_uvicorn_stops(
    tmp_path: Path, extra: tuple[str, ...], stop: signal.Signals
) -> None:
    """Six 401s with flood_limit=2: two go out at once, the summary of four at shutdown."""
    port = free_port()
    with otlp_receiver() as receiver:
        server = _serve(tmp_path, port, receiver.env("grpc"), *extra)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline
                    time.sleep(0.1)
            for _ in range(5):
                assert httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 401
            server.send_signal(stop)
            output = server.communicate(timeout=20)[0]
        finally:
            if server.poll() is None:
                server.kill()
                server.communicate()
        collected = receiver.collected
        assert collected.wait_for(
            lambda c: any(
                log.event_name == "security.security_events_summarized" for log in c.security_logs()
            ),
            timeout=5,
        ), output
        names = [log.event_name for log in collected.security_logs()]
        assert names.count("security.authn_fail") == 2
        summary = next(
            log
            for log in collected.security_logs()
            if log.event_name == "security.security_events_summarized"
        )
        assert "held back 4 of 6" in str(summary.body)
