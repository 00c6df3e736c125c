"""Starlette: route templates, AuthenticationMiddleware, scope["user"], errors, WebSockets."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from starlette.applications import Starlette
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    SimpleUser,
    requires,
)
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware
from seclog_core.testing import CapturedEvents
from tests.asgi._testclient import TestClient


class TokenBackend(AuthenticationBackend):
    """``Authorization: Token <name>`` logs in as <name>; ``Token !`` is malformed."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        header = conn.headers.get("authorization")
        if not header:
            return None
        name = header.removeprefix("Token ")
        if name == "!":
            raise AuthenticationError("malformed token")
        scopes = ["authenticated", "admin"] if name == "root" else ["authenticated"]
        return AuthCredentials(scopes), SimpleUser(name)


async def item(request: Request) -> Response:
    seclog.emit("sensitive_read", resource="item")
    return JSONResponse({"id": request.path_params["item_id"]})


async def thing(request: Request) -> Response:
    seclog.emit("sensitive_read", resource="thing")
    return JSONResponse({"name": request.path_params["name"]})


@requires("admin")
async def admin(request: Request) -> Response:
    return PlainTextResponse("admin")


async def whoami(request: Request) -> Response:
    seclog.emit("sensitive_read", resource="profile")
    return PlainTextResponse(request.user.display_name)


async def boom(request: Request) -> Response:
    raise RuntimeError("broken")


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


def build_app(*, add_seclog: bool = True) -> Starlette:
    app = Starlette(
        routes=[
            Route("/items/{item_id:int}", item),
            Route("/admin", admin),
            Route("/me", whoami),
            Route("/boom", boom),
            Mount("/api/v1", routes=[Route("/things/{name}", thing)]),
            WebSocketRoute("/ws", socket),
        ],
        middleware=[Middleware(AuthenticationMiddleware, backend=TokenBackend())],
    )
    if add_seclog:
        app.add_middleware(SecurityLoggingMiddleware)
    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_app(), raise_server_exceptions=False)


def test_events_in_an_endpoint_carry_the_route_template(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """http.route is the router's template (convertors stripped), never the concrete path."""
    assert client.get("/items/42").status_code == 200
    attrs = security_events.one("sensitive_read").attributes
    assert attrs["http.route"] == "/items/{item_id}"
    assert attrs["url.path"] == "/items/42"


def test_a_mounted_route_template_includes_the_mount_prefix(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """Routes inside a Mount are named by their full template."""
    client.get("/api/v1/things/bolt")
    assert security_events.one("sensitive_read").attributes["http.route"] == (
        "/api/v1/things/{name}"
    )


def test_an_authentication_error_is_an_authn_failure(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """AuthenticationMiddleware's on_error answer (400 by default) is reported as authn_fail."""
    response = client.get("/me", headers={"Authorization": "Token !"})
    assert response.status_code == 400
    event = security_events.one("authn_fail")
    assert event.reason == "authentication_error"
    assert event.attributes["http.response.status_code"] == 400


def test_an_ordinary_400_is_not_an_authn_failure(security_events: CapturedEvents) -> None:
    """Only the authentication middleware's refusal counts; an app's own 400 stays quiet."""

    async def bad(request: Request) -> Response:
        return PlainTextResponse("bad input", status_code=400)

    app = Starlette(
        routes=[Route("/bad", bad)],
        middleware=[Middleware(AuthenticationMiddleware, backend=TokenBackend())],
    )
    app.add_middleware(SecurityLoggingMiddleware)
    assert TestClient(app).get("/bad").status_code == 400
    assert security_events.types == []


def test_the_authenticated_user_enriches_events(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """scope["user"], set by AuthenticationMiddleware, names the user on the app's events."""
    assert client.get("/me", headers={"Authorization": "Token alice"}).text == "alice"
    assert security_events.one("sensitive_read").attributes["user.name"] == "alice"


def test_requires_refusing_a_user_is_an_authz_failure_naming_them(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """@requires("admin") answering 403 becomes authz_fail with the user and route."""
    assert client.get("/admin", headers={"Authorization": "Token alice"}).status_code == 403
    attrs = security_events.one("authz_fail").attributes
    assert attrs["user.name"] == "alice"
    assert attrs["http.route"] == "/admin"
    assert client.get("/admin", headers={"Authorization": "Token root"}).status_code == 200
    assert len(security_events.of_type("authz_fail")) == 1


def test_anonymous_users_are_not_named(client: TestClient, security_events: CapturedEvents) -> None:
    """An UnauthenticatedUser in scope adds no user.name."""
    assert client.get("/admin").status_code == 403
    assert "user.name" not in security_events.one("authz_fail").attributes


def test_an_endpoint_crash_is_reported_and_the_server_still_answers_500(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """Starlette's error middleware still renders the 500 after seclog saw the exception."""
    assert client.get("/boom").status_code == 500
    event = security_events.one("sys_error")
    assert event.attributes["exception.type"] == "RuntimeError"
    assert event.attributes["http.route"] == "/boom"


def test_wrapping_the_whole_app_sees_the_same_failures(security_events: CapturedEvents) -> None:
    """SecurityLoggingMiddleware(app) outside Starlette reports crash and status once each."""
    wrapped = SecurityLoggingMiddleware(build_app(add_seclog=False))
    client = TestClient(wrapped, raise_server_exceptions=False)
    assert client.get("/boom").status_code == 500
    assert client.get("/admin", headers={"Authorization": "Token alice"}).status_code == 403
    assert security_events.types == ["sys_error", "authz_fail"]
    assert security_events[0].attributes["exception.type"] == "RuntimeError"
    assert security_events[1].attributes["user.name"] == "alice"


def test_a_websocket_refused_by_authentication_is_an_authn_failure(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """AuthenticationMiddleware closing a WebSocket before accept is authn_fail."""
    with pytest.raises(WebSocketDisconnect):
        with client.websocket_connect("/ws", headers={"Authorization": "Token !"}) as ws:
            ws.receive_text()
    event = security_events.one("authn_fail")
    assert event.reason == "authentication_error"
    assert event.attributes["url.path"] == "/ws"


def test_an_accepted_websocket_is_quiet_and_streams(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """A normal WebSocket session works unchanged and reports nothing."""
    with client.websocket_connect("/ws", headers={"Authorization": "Token alice"}) as ws:
        assert ws.receive_text() == "hello"
    assert security_events.types == []


def test_lifespan_still_runs_the_apps_handlers() -> None:
    """Startup and shutdown handlers run as without seclog."""
    ran: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ran.append("startup")
        yield
        ran.append("shutdown")

    app = Starlette(lifespan=lifespan)
    app.add_middleware(SecurityLoggingMiddleware)
    with TestClient(app):
        assert ran == ["startup"]
    assert ran == ["startup", "shutdown"]
