"""A bad setting stops an ASGI app at start-up, also when Starlette builds the middleware late."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from seclog_asgi import SecurityLoggingMiddleware
from seclog_core import ConfigError
from tests.asgi._driver import call, http_scope, websocket_scope
from tests.support.otlp import free_port

APP = """
from fastapi import FastAPI
from seclog_asgi import SecurityLoggingMiddleware

app = FastAPI()
app.add_middleware(SecurityLoggingMiddleware, trusted_proxys=["10.0.0.0/8"])


@app.get("/")
async def root() -> dict[str, str]:
    return {"ok": "yes"}
"""


def misconfigured() -> FastAPI:
    app = FastAPI()
    app.add_middleware(SecurityLoggingMiddleware, trusted_proxys=["10.0.0.0/8"])
    return app


def test_wrapping_by_hand_raises_at_once() -> None:
    """``SecurityLoggingMiddleware(app, bad=...)`` raises ConfigError where the app is built."""
    with pytest.raises(ConfigError, match="trusted_proxys"):
        SecurityLoggingMiddleware(FastAPI(), trusted_proxys=["10.0.0.0/8"])


@pytest.mark.anyio
async def test_a_lazily_built_middleware_fails_the_lifespan_startup_with_the_message() -> None:
    """Starlette builds add_middleware classes at the first call: the start-up answer is failed."""
    sent = await call(misconfigured(), {"type": "lifespan"}, [{"type": "lifespan.startup"}])
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "unknown seclog setting 'trusted_proxys'" in sent[0]["message"]


@pytest.mark.anyio
async def test_without_lifespan_requests_fail_closed_and_the_error_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every request is a 500 (security logging cannot run), the error logged once, not per call."""
    app = misconfigured()
    statuses: list[Any] = []
    for _ in range(3):
        sent = await call(app, http_scope("/"))
        statuses.append(sent[0]["status"])
    sent = await call(app, websocket_scope("/ws"), [{"type": "websocket.connect"}])
    assert statuses == [500, 500, 500]
    assert sent == [{"type": "websocket.close", "code": 1011}]
    errors = [r for r in caplog.records if r.name == "seclog" and "invalid settings" in r.message]
    assert len(errors) == 1
    assert "trusted_proxys" in errors[0].getMessage()


def _uvicorn(tmp_path: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    (tmp_path / "badapp.py").write_text(textwrap.dedent(APP))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SECLOG_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), str(tmp_path)])
    command = [sys.executable, "-m", "uvicorn", "badapp:app", "--port", str(port), *extra]
    return subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def test_uvicorn_exits_at_start_up_naming_the_bad_setting(tmp_path: Path) -> None:
    """Plain ``uvicorn app:app`` refuses to start: non-zero exit, the message in its output."""
    server = _uvicorn(tmp_path, free_port())
    try:
        output = server.communicate(timeout=30)[0]
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode != 0
    assert "unknown seclog setting 'trusted_proxys'" in output
    assert "Application startup failed" in output
    assert "Uvicorn running" not in output


def test_uvicorn_without_lifespan_says_it_once_and_answers_500(tmp_path: Path) -> None:
    """With ``--lifespan off`` the server runs, every request gets 500, one error line in all."""
    port = free_port()
    server = _uvicorn(tmp_path, port, "--lifespan", "off")
    try:
        statuses: list[int] = []
        deadline = time.monotonic() + 30
        while not statuses:
            try:
                statuses.append(httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code)
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/"
        statuses += [httpx.get(url, timeout=2).status_code for _ in range(4)]
        server.terminate()
        output = server.communicate(timeout=20)[0]
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert statuses == [500] * 5
    assert output.count("seclog: invalid settings") == 1, output
    assert "unknown seclog setting 'trusted_proxys'" in output
