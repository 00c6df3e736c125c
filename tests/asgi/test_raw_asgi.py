"""The middleware driven by hand-written ASGI calls: no framework, only the protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware
from seclog_core.testing import CapturedEvents
from tests.asgi._driver import call, http_scope, respond


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "event", "reason"),
    [
        (401, "authn_fail", "unauthenticated"),
        (403, "authz_fail", "forbidden"),
        (429, "excess_rate_limit_exceeded", "rate_limited"),
        (503, "sys_error", "server_error"),
    ],
)
async def test_security_relevant_statuses_become_events(
    security_events: CapturedEvents, status: int, event: str, reason: str
) -> None:
    """401, 403, 429 and 5xx answers each produce their event, with the request's facts."""
    app = SecurityLoggingMiddleware(respond(status))
    headers = [(b"user-agent", b"curl/8.5"), (b"x-request-id", b"req-42")]
    sent = await call(app, http_scope("/private", method="POST", headers=headers))

    assert sent[0]["status"] == status
    found = security_events.one(event)
    assert found.reason == reason
    attrs = found.attributes
    assert attrs["http.response.status_code"] == status
    assert attrs["client.address"] == "203.0.113.9"
    assert attrs["http.request.method"] == "POST"
    assert attrs["url.path"] == "/private"
    assert attrs["user_agent.original"] == "curl/8.5"
    assert attrs["http.request.id"] == "req-42"
    assert attrs["server.address"] == "example.test"


@pytest.mark.anyio
@pytest.mark.parametrize("status", [200, 204, 302, 400, 404])
async def test_ordinary_statuses_are_quiet(security_events: CapturedEvents, status: int) -> None:
    """Responses that say nothing about security emit nothing."""
    await call(SecurityLoggingMiddleware(respond(status)), http_scope())
    assert security_events.types == []


@pytest.mark.anyio
async def test_an_escaping_exception_is_reported_and_reraised_unchanged(
    security_events: CapturedEvents,
) -> None:
    """The app's own exception object reaches the server, after a sys_error naming it."""
    boom = RuntimeError("database is gone")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise boom

    with pytest.raises(RuntimeError) as raised:
        await call(SecurityLoggingMiddleware(app), http_scope("/boom"))
    assert raised.value is boom
    event = security_events.one("sys_error")
    assert event.reason == "unhandled_exception"
    assert event.attributes["exception.type"] == "RuntimeError"
    assert event.attributes["http.response.status_code"] == 500
    assert event.attributes["url.path"] == "/boom"


@pytest.mark.anyio
async def test_an_exception_after_the_response_started_is_still_reported(
    security_events: CapturedEvents,
) -> None:
    """A stream that dies halfway is a server error too."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        raise ValueError("generator failed")

    with pytest.raises(ValueError, match="generator failed"):
        await call(SecurityLoggingMiddleware(app), http_scope())
    assert security_events.one("sys_error").attributes["exception.type"] == "ValueError"


@pytest.mark.anyio
async def test_cancellation_passes_through_without_an_event(
    security_events: CapturedEvents,
) -> None:
    """A cancelled request (client gone, server shutting down) is not a server error."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await call(SecurityLoggingMiddleware(app), http_scope())
    assert security_events.types == []


@pytest.mark.anyio
async def test_manual_events_inside_the_request_are_enriched(
    security_events: CapturedEvents,
) -> None:
    """seclog_core.login_failed() in the app carries client, method, path, UA and request id."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seclog.login_failed(username="bob", reason="bad_credentials")
        await respond(401)(scope, receive, send)

    headers = [(b"user-agent", b"Mozilla/5.0"), (b"x-request-id", b"abc")]
    await call(SecurityLoggingMiddleware(app), http_scope("/login", method="POST", headers=headers))

    # The app's own event explains the 401: no second authn_fail.
    assert security_events.types == ["authn_login_fail"]
    attrs = security_events[0].attributes
    assert attrs["user.name"] == "bob"
    assert attrs["client.address"] == "203.0.113.9"
    assert attrs["http.request.method"] == "POST"
    assert attrs["url.path"] == "/login"
    assert attrs["user_agent.original"] == "Mozilla/5.0"
    assert attrs["http.request.id"] == "abc"


@pytest.mark.anyio
async def test_a_forged_forwarding_header_never_becomes_the_client_address(
    security_events: CapturedEvents,
) -> None:
    """Without trusted proxies the socket peer is the client, and the forgery is reported."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seclog.login_failed(username="bob")
        await respond(401)(scope, receive, send)

    forged = [(b"x-forwarded-for", b"1.2.3.4")]
    await call(SecurityLoggingMiddleware(app), http_scope(headers=forged))

    assert security_events.one("authn_login_fail").attributes["client.address"] == "203.0.113.9"
    spoof = security_events.one("malicious_extraneous")
    assert spoof.reason == "untrusted_forwarded_header"


@pytest.mark.anyio
async def test_trusted_proxies_given_as_options_are_honoured(
    security_events: CapturedEvents,
) -> None:
    """Behind a named proxy, the client address comes from X-Forwarded-For, right to left."""
    app = SecurityLoggingMiddleware(respond(403), trusted_proxies=["10.0.0.0/8"])
    headers = [(b"x-forwarded-for", b"198.51.100.20, 10.0.0.7")]
    await call(app, http_scope(headers=headers, client=("10.0.0.5", 4000)))

    attrs = security_events.one("authz_fail").attributes
    assert attrs["client.address"] == "198.51.100.20"
    assert attrs["network.peer.address"] == "10.0.0.5"


def test_bad_options_fail_at_construction() -> None:
    """A misconfigured middleware refuses to start, naming the bad setting."""
    with pytest.raises(seclog.ConfigError, match="trusted_proxies"):
        SecurityLoggingMiddleware(respond(200), trusted_proxies=["not-an-address"])


@pytest.mark.anyio
async def test_each_middleware_keeps_its_own_settings(security_events: CapturedEvents) -> None:
    """Two apps in one process, one behind a proxy, one not, resolve clients differently."""
    proxied = SecurityLoggingMiddleware(respond(403), trusted_proxy_count=1)
    direct = SecurityLoggingMiddleware(respond(403), forwarded_warning=False)
    headers = [(b"x-forwarded-for", b"198.51.100.20")]
    await call(proxied, http_scope(headers=headers))
    await call(direct, http_scope(headers=headers))

    addresses = [e.attributes["client.address"] for e in security_events.of_type("authz_fail")]
    assert addresses == ["198.51.100.20", "203.0.113.9"]


@pytest.mark.anyio
async def test_the_context_is_bound_only_during_the_request() -> None:
    """Code after the response, in the same task, sees no leftover request context."""
    seen: list[object] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(seclog.current_request_context())
        await respond(200)(scope, receive, send)

    await call(SecurityLoggingMiddleware(app), http_scope())
    assert seen[0] is not None
    assert seclog.current_request_context() is None


@pytest.mark.anyio
async def test_hostile_header_bytes_are_read_safely(security_events: CapturedEvents) -> None:
    """Non-UTF-8 bytes and CR/LF in headers neither break the request nor forge records."""
    headers = [(b"user-agent", b"\xff\xfeevil\r\nsecurity.event: forged"), (b"x-request-id", b"")]
    sent = await call(SecurityLoggingMiddleware(respond(401)), http_scope(headers=headers))

    assert sent[0]["status"] == 401
    agent = security_events.one("authn_fail").attributes["user_agent.original"]
    assert isinstance(agent, str)
    assert "\r" not in agent and "\n" not in agent


@pytest.mark.anyio
async def test_a_request_without_client_or_headers_is_handled() -> None:
    """A minimal scope (no client, no headers: unix sockets, some servers) still works."""
    scope = http_scope(client=None)
    scope["headers"] = []
    sent = await call(SecurityLoggingMiddleware(respond(200, b"ok")), scope)
    assert sent[1]["body"] == b"ok"


@pytest.mark.anyio
async def test_streaming_is_not_buffered() -> None:
    """The first chunk reaches the server while the app has yet to produce the last one."""
    first_chunk_delivered = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        # Only the receiver of the first chunk can let the app finish.
        await first_chunk_delivered.wait()
        await send({"type": "http.response.body", "body": b"last"})

    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message.get("body") == b"first":
            first_chunk_delivered.set()

    await asyncio.wait_for(SecurityLoggingMiddleware(app)(http_scope(), receive, send), 5)
    assert [m.get("body") for m in sent] == [None, b"first", b"last"]


@pytest.mark.anyio
async def test_messages_pass_through_unchanged() -> None:
    """What the app sends is what the server gets: same objects, same order."""
    start = {"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]}
    body = {"type": "http.response.body", "body": b"hi"}
    trailers = {"type": "http.response.trailers", "headers": [], "more_trailers": False}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        for message in (start, body, trailers):
            await send(message)

    sent = await call(SecurityLoggingMiddleware(app), http_scope())
    assert sent == [start, body, trailers]
    assert all(a is b for a, b in zip(sent, (start, body, trailers), strict=True))


@pytest.mark.anyio
async def test_other_scope_types_pass_straight_through() -> None:
    """A scope type seclog does not know reaches the app as it is."""
    received: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        received.append(scope)

    scope = {"type": "custom", "asgi": {"version": "3.0"}}
    await SecurityLoggingMiddleware(app)(scope, _never, _never)
    assert received == [scope] and received[0] is scope


async def _never(*args: Any) -> Any:
    raise AssertionError("not expected")
