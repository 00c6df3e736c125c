"""What a request leaves behind, and how its headers are read.

Every asyncio handle or task made during a request copies the context, seclog's
request context with it (uvicorn's keep-alive timer keeps one for seconds): such a
copy must not keep the whole ASGI scope alive, yet a late event from a task the
request started still carries the request's facts. The headers are read in one
pass whatever shape the server gives them.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware
from seclog_core.testing import CapturedEvents
from tests.asgi._driver import call, http_scope, respond
from tests.asgi.test_starlette import TokenBackend


class _Marker:
    """A per-request object the app puts in the scope; weakly referenced by the test."""


@pytest.mark.anyio
async def test_a_context_copied_during_the_request_does_not_keep_the_scope() -> None:
    """A copy of the request's context outlives it; the scope is freed all the same."""
    copies: list[contextvars.Context] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        scope["marker"] = _Marker()
        copies.append(contextvars.copy_context())  # what loop.call_later() keeps
        await respond(200)(scope, receive, send)

    scope = http_scope()
    await call(SecurityLoggingMiddleware(app), scope)
    marker = weakref.ref(scope["marker"])
    del scope
    gc.collect()

    ctx = copies[0].run(seclog.current_request_context)
    assert ctx is not None and ctx.path == "/"  # the copy still holds the request context
    assert marker() is None  # ... but not the scope and what the app put in it


@pytest.mark.anyio
async def test_a_late_event_carries_the_route_and_user_the_request_ended_with(
    security_events: CapturedEvents,
) -> None:
    """A task started by the endpoint emits after the response: route and user are still there."""
    go = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def later() -> None:
        await go.wait()
        seclog.emit("sensitive_read", resource="report")

    async def endpoint(request: Request) -> Response:
        tasks.append(asyncio.create_task(later()))
        return PlainTextResponse("queued")

    app = Starlette(
        routes=[Route("/reports/{report_id}", endpoint)],
        middleware=[Middleware(AuthenticationMiddleware, backend=TokenBackend())],
    )
    app.add_middleware(SecurityLoggingMiddleware)
    headers = [(b"authorization", b"Token alice")]
    sent = await call(app, http_scope("/reports/7", headers=headers))
    assert sent[0]["status"] == 200
    gc.collect()
    go.set()
    await tasks[0]

    attrs = security_events.one("sensitive_read").attributes
    assert attrs["http.route"] == "/reports/{report_id}"
    assert attrs["user.name"] == "alice"
    assert attrs["url.path"] == "/reports/7"
    assert attrs["client.address"] == "203.0.113.9"
    assert attrs["server.address"] == "example.test"


async def _client_address(headers: list[tuple[Any, Any]], **options: Any) -> object:
    """The client.address of an event emitted inside a request with ``headers``."""
    seen: list[object] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        ctx = seclog.current_request_context()
        seen.append(ctx.client_address if ctx is not None else None)
        await respond(200)(scope, receive, send)

    await call(SecurityLoggingMiddleware(app, **options), http_scope(headers=headers))
    return seen[0]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("headers", "client"),
    [
        # Repeated headers form one list, in order: the rightmost hop is the client.
        ([(b"x-forwarded-for", b"198.51.100.1"), (b"x-forwarded-for", b"198.51.100.2")], "2"),
        (
            [
                (b"x-forwarded-for", b"198.51.100.1"),
                (b"x-forwarded-for", b"198.51.100.2"),
                (b"x-forwarded-for", b"198.51.100.3"),
            ],
            "3",
        ),
        # A server that does not lower-case names (ASGI asks it to) is still read.
        ([(b"X-Forwarded-For", b"198.51.100.4")], "4"),
        # bytearray and memoryview names and values from an unusual server.
        ([(bytearray(b"x-forwarded-for"), bytearray(b"198.51.100.5"))], "5"),
        ([(memoryview(b"x-forwarded-for"), memoryview(b"198.51.100.6"))], "6"),
        # Lists instead of tuples, and unrelated headers in between.
        ([[b"accept", b"*/*"], [b"x-forwarded-for", b"198.51.100.7"], [b"cookie", b"a=b"]], "7"),
    ],
)
async def test_forwarding_headers_in_any_shape_are_read(
    headers: list[tuple[Any, Any]], client: str
) -> None:
    address = await _client_address(headers, trusted_proxies=["203.0.113.0/24"])
    assert address == f"198.51.100.{client}"


@pytest.mark.anyio
async def test_the_operators_own_forwarding_header_counts_once_its_first_value() -> None:
    """forwarded_header="X-Real-IP": that header (any case) names the client; X-F-F is ignored."""
    headers = [
        (b"x-forwarded-for", b"192.0.2.77"),
        (b"X-Real-IP", b"198.51.100.8"),
        (b"x-real-ip", b"198.51.100.9"),
    ]
    address = await _client_address(
        headers, trusted_proxies=["203.0.113.0/24"], forwarded_header="X-Real-IP"
    )
    assert address == "198.51.100.8"


@pytest.mark.anyio
async def test_a_quiet_request_with_an_untrusted_forwarding_header_is_still_reported(
    security_events: CapturedEvents,
) -> None:
    """Facts are read on first use, but a forwarding header is judged when the request starts."""
    headers = [(b"x-forwarded-for", b"192.0.2.66")]
    sent = await call(SecurityLoggingMiddleware(respond(200)), http_scope(headers=headers))
    assert sent[0]["status"] == 200
    spoof = security_events.one("malicious_extraneous")
    assert spoof.reason == "untrusted_forwarded_header"
    assert spoof.attributes["client.address"] == "203.0.113.9"
    assert spoof.attributes["url.path"] == "/"
