"""FastAPI: security dependencies answering 401/403, manual events in routes, exceptions."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBearer,
    OAuth2PasswordBearer,
)

import seclog_core as seclog
from seclog_asgi import SecurityLoggingMiddleware
from seclog_core.http import STATUS_EVENTS
from seclog_core.testing import CapturedEvents
from tests.asgi._testclient import TestClient

oauth2 = OAuth2PasswordBearer(tokenUrl="token")
bearer = HTTPBearer()
api_key = APIKeyHeader(name="X-API-Key")


def build_app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(SecurityLoggingMiddleware)

    @app.get("/oauth")
    async def with_oauth(token: Annotated[str, Depends(oauth2)]) -> dict[str, str]:
        return {"token": "ok"}

    @app.get("/bearer")
    async def with_bearer(
        creds: Annotated[HTTPAuthorizationCredentials, Depends(bearer)],
    ) -> dict[str, str]:
        return {"scheme": creds.scheme}

    @app.get("/key")
    async def with_key(key: Annotated[str, Depends(api_key)]) -> dict[str, str]:
        return {"key": "ok"}

    @app.get("/orders/{order_id}")
    async def order(order_id: int) -> dict[str, int]:
        seclog.access_denied(resource=f"order:{order_id}", reason="not_owner")
        raise HTTPException(403, "not yours")

    @app.get("/sync/{name}")
    def sync_route(name: str) -> dict[str, str]:
        seclog.emit("sensitive_read", resource=name)
        return {"name": name}

    @app.get("/crash")
    async def crash() -> None:
        raise LookupError("missing")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_app(), raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/oauth", "/bearer", "/key"])
def test_security_dependencies_refusing_a_request_are_reported(
    client: TestClient, security_events: CapturedEvents, path: str
) -> None:
    """OAuth2PasswordBearer, HTTPBearer and APIKeyHeader refusals become authn/authz events."""
    response = client.get(path)
    # FastAPI answers 401 in current releases; older lines answered 403 for some schemes.
    assert response.status_code in (401, 403)
    event_type, _ = STATUS_EVENTS[response.status_code]
    event = security_events.one(event_type)
    assert event.attributes["http.route"] == path
    assert event.attributes["http.response.status_code"] == response.status_code


def test_credentials_present_are_not_reported(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """A request that passes its security dependency emits nothing."""
    assert client.get("/bearer", headers={"Authorization": "Bearer abc"}).status_code == 200
    assert client.get("/key", headers={"X-API-Key": "k"}).status_code == 200
    assert security_events.types == []


def test_a_route_that_reports_its_own_denial_is_not_reported_twice(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """The route's access_denied() carries the route template; the 403 adds nothing."""
    assert client.get("/orders/7").status_code == 403
    event = security_events.one("authz_fail")
    assert event.reason == "not_owner"
    assert event.attributes["http.route"] == "/orders/{order_id}"
    assert event.attributes["url.path"] == "/orders/7"


def test_sync_routes_in_the_threadpool_see_the_request_context(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """A plain def route runs in a worker thread and its events are still enriched."""
    client.get("/sync/report", headers={"User-Agent": "pytest"})
    attrs = security_events.one("sensitive_read").attributes
    assert attrs["http.route"] == "/sync/{name}"
    assert attrs["user_agent.original"] == "pytest"


def test_an_unhandled_exception_is_a_sys_error_and_still_a_500(
    client: TestClient, security_events: CapturedEvents
) -> None:
    """FastAPI answers 500 as usual; seclog has recorded the exception type and route."""
    assert client.get("/crash").status_code == 500
    attrs = security_events.one("sys_error").attributes
    assert attrs["exception.type"] == "LookupError"
    assert attrs["http.route"] == "/crash"


def test_the_exception_reaches_the_test_client_unchanged() -> None:
    """With raise_server_exceptions, the app's own exception surfaces, not a seclog one."""
    with pytest.raises(LookupError, match="missing"):
        TestClient(build_app()).get("/crash")
