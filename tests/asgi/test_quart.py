"""Quart: the same middleware works on an ASGI framework that shares nothing with Starlette."""

from __future__ import annotations

import httpx
import pytest
from quart import Quart, abort, websocket

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware
from seclog_core.testing import CapturedEvents


def build_app() -> Quart:
    app = Quart(__name__)

    @app.post("/login")
    async def login() -> tuple[str, int]:
        seclog.login_failed(username="mallory", reason="bad_credentials")
        return "no", 401

    @app.get("/admin")
    async def admin() -> str:
        abort(403)

    @app.get("/limited")
    async def limited() -> tuple[str, int]:
        return "slow down", 429

    @app.get("/crash")
    async def crash() -> str:
        raise ZeroDivisionError("oops")

    @app.websocket("/ws")
    async def ws() -> None:
        await websocket.close(1008)

    return app


def client_for(app: Quart) -> httpx.AsyncClient:
    # Quart's asgi_app is the documented place for ASGI middleware.
    app.asgi_app = SecurityLoggingMiddleware(app.asgi_app)  # type: ignore[method-assign]
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 4242))
    return httpx.AsyncClient(transport=transport, base_url="http://quart.test")


@pytest.mark.anyio
async def test_quart_statuses_and_manual_events_are_reported(
    security_events: CapturedEvents,
) -> None:
    """401 explained by the app, 403 from abort(), 429: each once, with the client address."""
    async with client_for(build_app()) as client:
        assert (await client.post("/login")).status_code == 401
        assert (await client.get("/admin")).status_code == 403
        assert (await client.get("/limited")).status_code == 429

    assert security_events.types == ["authn_login_fail", "authz_fail", "excess_rate_limit_exceeded"]
    login = security_events[0].attributes
    assert login["user.name"] == "mallory"
    assert login["client.address"] == "192.0.2.10"
    assert login["url.path"] == "/login"
    assert login["http.request.method"] == "POST"
    assert security_events[1].attributes["url.path"] == "/admin"


@pytest.mark.anyio
async def test_a_quart_crash_is_a_sys_error(security_events: CapturedEvents) -> None:
    """Quart renders its 500; seclog has the exception behind it."""
    async with client_for(build_app()) as client:
        assert (await client.get("/crash")).status_code == 500
    assert security_events.types == ["sys_error"]
    assert security_events[0].attributes["http.response.status_code"] == 500


@pytest.mark.anyio
async def test_a_quart_websocket_closed_for_policy_is_an_authz_failure(
    security_events: CapturedEvents,
) -> None:
    """Quart's websocket.close(1008) before accepting is reported as a policy violation."""
    app = build_app()
    app.asgi_app = SecurityLoggingMiddleware(app.asgi_app)  # type: ignore[method-assign]
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"quart.test")],
        "client": ("192.0.2.10", 4242),
        "server": ("quart.test", 80),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }
    inbox = [{"type": "websocket.connect"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return inbox.pop(0) if inbox else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    event = security_events.one("authz_fail")
    assert event.reason == "policy_violation"
    assert event.attributes["client.address"] == "192.0.2.10"
