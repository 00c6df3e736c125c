"""What an ending means: a client leaving is no server error; an app that never answers is."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.exceptions import RequestValidationError
from starlette.websockets import WebSocketDisconnect

from seclog_asgi import SecurityLoggingMiddleware
from seclog_core.testing import CapturedEvents
from tests.asgi._driver import call, http_scope, websocket_scope
from tests.asgi._testclient import TestClient


def build_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(SecurityLoggingMiddleware)

    @app.websocket("/echo")
    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        while True:  # no try/except: the client closing raises WebSocketDisconnect
            await websocket.send_text(await websocket.receive_text())

    @app.websocket("/needs-token")
    async def needs_token(websocket: WebSocket, token: str) -> None:
        await websocket.accept()
        await websocket.close()

    return app


def test_a_websocket_the_client_closed_is_not_a_server_error(
    security_events: CapturedEvents,
) -> None:
    """The endpoint's WebSocketDisconnect escapes as the client leaves: no sys_error, no event."""
    echoed: list[str] = []

    def talk() -> None:
        with TestClient(build_app()).websocket_connect("/echo") as websocket:
            websocket.send_text("hello")
            echoed.append(websocket.receive_text())

    with pytest.raises(WebSocketDisconnect):  # TestClient re-raises what the app raised
        talk()
    assert echoed == ["hello"]
    assert security_events.types == []


def test_a_websocket_failing_fastapi_validation_is_bad_input_not_a_denial(
    security_events: CapturedEvents,
) -> None:
    """FastAPI closes with 1008 and its validation errors: input_validation_fail, not authz_fail."""

    def connect() -> None:
        with TestClient(build_app()).websocket_connect("/needs-token") as websocket:
            websocket.receive_text()

    with pytest.raises(WebSocketDisconnect):
        connect()
    event = security_events.one("input_validation_fail")
    assert event.reason == "request_validation"
    assert "authz_fail" not in security_events.types
    assert "sys_error" not in security_events.types


@pytest.mark.anyio
async def test_a_validation_error_escaping_the_app_is_the_clients_fault(
    security_events: CapturedEvents,
) -> None:
    """A RequestValidationError no handler caught is input_validation_fail, not a 500 sys_error."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise RequestValidationError([{"loc": ("query", "q"), "msg": "missing", "type": "x"}])

    with pytest.raises(RequestValidationError):
        await call(SecurityLoggingMiddleware(app), http_scope("/search"))
    assert security_events.types == ["input_validation_fail"]


@pytest.mark.anyio
async def test_an_http_client_disconnect_escaping_is_not_a_server_error(
    security_events: CapturedEvents,
) -> None:
    """Starlette's ClientDisconnect (the client went away mid-body) emits nothing."""
    from starlette.requests import ClientDisconnect

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        raise ClientDisconnect

    with pytest.raises(ClientDisconnect):
        await call(SecurityLoggingMiddleware(app), http_scope("/upload", method="POST"))
    assert security_events.types == []


@pytest.mark.anyio
async def test_an_app_that_returns_without_answering_is_a_sys_error(
    security_events: CapturedEvents,
) -> None:
    """The server answers 500 for an app that never started a response: reported as sys_error."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    await call(SecurityLoggingMiddleware(app), http_scope("/silent"))
    event = security_events.one("sys_error")
    assert event.reason == "no_response"
    assert event.attributes["http.response.status_code"] == 500


@pytest.mark.anyio
async def test_a_real_exception_is_still_a_sys_error(security_events: CapturedEvents) -> None:
    """Only client departures and validation errors are exempt; a bug stays a sys_error."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await call(SecurityLoggingMiddleware(app), websocket_scope("/ws"))
    assert security_events.one("sys_error").attributes["exception.type"] == "KeyError"
