"""WebSocket denials and the lifespan flush, driven by hand-written ASGI calls."""

from __future__ import annotations

from typing import Any

import pytest

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware, _lifespan
from seclog_core import export
from seclog_core.testing import CapturedEvents
from tests.asgi._driver import call, websocket_scope

CONNECT = [{"type": "websocket.connect"}]


def ws_app(*messages: dict[str, Any]) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        for message in messages:
            await send(message)

    return app


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("messages", "event", "reason", "code"),
    [
        ([{"type": "websocket.close", "code": 1000}], "authz_fail", "handshake_rejected", 1000),
        ([{"type": "websocket.close"}], "authz_fail", "handshake_rejected", 1000),
        ([{"type": "websocket.close", "code": 3000}], "authn_fail", "unauthorized", 3000),
        (
            [{"type": "websocket.accept"}, {"type": "websocket.close", "code": 1008}],
            "authz_fail",
            "policy_violation",
            1008,
        ),
        (
            [{"type": "websocket.accept"}, {"type": "websocket.close", "code": 3003}],
            "authz_fail",
            "forbidden",
            3003,
        ),
    ],
)
async def test_refused_or_policy_closed_websockets_are_failures(
    security_events: CapturedEvents,
    messages: list[dict[str, Any]],
    event: str,
    reason: str,
    code: int,
) -> None:
    """A close before accept, or a policy close code, is an authn/authz failure."""
    await call(SecurityLoggingMiddleware(ws_app(*messages)), websocket_scope(), CONNECT)

    found = security_events.one(event)
    assert found.reason == reason
    assert found.attributes["security.websocket_close_code"] == code
    assert found.attributes["url.path"] == "/ws"
    assert found.attributes["client.address"] == "203.0.113.9"


@pytest.mark.anyio
@pytest.mark.parametrize(("status", "event"), [(401, "authn_fail"), (403, "authz_fail")])
async def test_a_handshake_denied_with_an_http_response_is_reported(
    security_events: CapturedEvents, status: int, event: str
) -> None:
    """The WebSocket denial-response extension's status maps like any HTTP status."""
    app = ws_app(
        {"type": "websocket.http.response.start", "status": status, "headers": []},
        {"type": "websocket.http.response.body", "body": b"no"},
    )
    await call(SecurityLoggingMiddleware(app), websocket_scope(), CONNECT)

    assert security_events.types == [event]
    assert security_events[0].attributes["http.response.status_code"] == status


@pytest.mark.anyio
async def test_an_ordinary_websocket_session_is_quiet(security_events: CapturedEvents) -> None:
    """Accept, talk, close normally: nothing to report, and every message passes through."""
    messages = (
        {"type": "websocket.accept"},
        {"type": "websocket.send", "text": "hi"},
        {"type": "websocket.close", "code": 1000},
    )
    sent = await call(SecurityLoggingMiddleware(ws_app(*messages)), websocket_scope(), CONNECT)
    assert sent == list(messages)
    assert security_events.types == []


@pytest.mark.anyio
async def test_the_app_explaining_a_websocket_denial_is_not_repeated(
    security_events: CapturedEvents,
) -> None:
    """An app that reports its own denial and closes 1008 yields one event, the app's."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        seclog.access_denied(resource="/ws", reason="not_a_member")
        await send({"type": "websocket.close", "code": 1008})

    await call(SecurityLoggingMiddleware(app), websocket_scope(), CONNECT)
    assert security_events.types == ["authz_fail"]
    assert security_events[0].reason == "not_a_member"


@pytest.mark.anyio
async def test_a_websocket_handler_crash_is_reported_and_reraised(
    security_events: CapturedEvents,
) -> None:
    """An exception escaping a WebSocket handler is a sys_error, then goes to the server."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "websocket.accept"})
        raise KeyError("room")

    with pytest.raises(KeyError):
        await call(SecurityLoggingMiddleware(app), websocket_scope(), CONNECT)
    assert security_events.one("sys_error").attributes["exception.type"] == "KeyError"


async def lifespan_app(scope: Any, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            seclog.emit("sys_shutdown")
            await send({"type": "lifespan.shutdown.complete"})
            return


@pytest.mark.anyio
async def test_lifespan_flushes_before_the_server_hears_shutdown_complete(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Events emitted by shutdown handlers are flushed before the process may be killed."""
    order: list[str] = []
    monkeypatch.setattr(export, "force_flush", lambda timeout_millis=0: order.append("flush"))
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        order.append(message["type"])

    await SecurityLoggingMiddleware(lifespan_app)(scope, receive, send)

    assert order == ["lifespan.startup.complete", "flush", "lifespan.shutdown.complete"]


@pytest.mark.anyio
async def test_a_stuck_flush_cannot_hold_up_shutdown(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flush is bounded: a collector that hangs delays shutdown by the timeout at most."""
    import threading
    import time

    release = threading.Event()
    monkeypatch.setattr(export, "force_flush", lambda timeout_millis=0: release.wait(10))
    monkeypatch.setattr(_lifespan, "FLUSH_TIMEOUT", 0.2)
    started = time.monotonic()
    await _lifespan.flush_pending(0.2)
    elapsed = time.monotonic() - started
    release.set()
    assert elapsed < 1.0


@pytest.mark.anyio
async def test_lifespan_messages_pass_through_untouched(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server sees exactly what the app sends, including failures."""
    monkeypatch.setattr(export, "force_flush", lambda timeout_millis=0: True)

    async def failing(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no database"})

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    sent = await call(SecurityLoggingMiddleware(failing), scope, [{"type": "lifespan.startup"}])
    assert sent == [{"type": "lifespan.startup.failed", "message": "no database"}]
