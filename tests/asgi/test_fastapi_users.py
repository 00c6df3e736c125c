"""fastapi-users: account events from its UserManager hooks, logins with or without the mixin."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from seclog_asgi import login_sources
from seclog_core.testing import CapturedEvents
from tests.asgi import fastapi_users_app
from tests.asgi._testclient import TestClient
from tests.support.telemetry import Telemetry

EMAIL = "alice@example.com"
PASSWORD = "wonderland-rabbit-hole"
NEW_PASSWORD = "through-the-looking-glass"


@pytest.fixture
def reporting(tmp_path: Path) -> Iterator[TestClient]:
    app = fastapi_users_app.build(f"sqlite+aiosqlite:///{tmp_path}/users.db", integrated=True)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[TestClient]:
    app = fastapi_users_app.build(f"sqlite+aiosqlite:///{tmp_path}/users.db", integrated=False)
    with TestClient(app) as client:
        yield client


def _login(client: TestClient, password: str) -> int:
    form = {"username": EMAIL, "password": password}
    status: int = client.post("/auth/jwt/login", data=form).status_code
    return status


def test_login_logout_and_register_are_reported_with_the_mixin(
    reporting: TestClient, security_events: CapturedEvents
) -> None:
    """Register, a bad login, a good one and logout: one event each, with the account."""
    assert reporting.post("/auth/register", json={"email": EMAIL, "password": PASSWORD}).is_success
    assert _login(reporting, "wrong") == 400
    response = reporting.post("/auth/jwt/login", data={"username": EMAIL, "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {response.json()['access_token']}"}
    assert reporting.post("/auth/jwt/logout", headers=bearer).status_code == 204
    assert [t for t in security_events.types if not t.startswith("authn_login_success")] == [
        "user_created",
        "authn_login_fail",
        "authn_logout",
    ]
    created = security_events.one("user_created")
    assert created.attributes["user.target.name"] == EMAIL
    assert security_events.one("authn_login_fail").attributes["user.name"] == EMAIL
    success = security_events.one("authn_login_success")
    assert success.attributes["user.name"] == EMAIL
    assert success.attributes["user.id"] == created.attributes["user.target.id"]
    assert security_events.one("authn_logout").attributes["user.name"] == EMAIL


def test_password_reset_and_verification_are_reported_without_their_tokens(
    reporting: TestClient, security_events: CapturedEvents, telemetry: Telemetry
) -> None:
    """Forgot/reset password and request/verify become events; tokens and passwords never leave."""
    reporting.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    tokens = fastapi_users_app.PlainManager.tokens
    assert reporting.post("/auth/forgot-password", json={"email": EMAIL}).status_code == 202
    bad = {"token": "not-a-token", "password": NEW_PASSWORD}
    assert reporting.post("/auth/reset-password", json=bad).status_code == 400
    good = {"token": tokens["reset"], "password": NEW_PASSWORD}
    assert reporting.post("/auth/reset-password", json=good).status_code == 200
    assert reporting.post("/auth/request-verify-token", json={"email": EMAIL}).status_code == 202
    assert reporting.post("/auth/verify", json={"token": tokens["verify"]}).status_code == 200
    reasons = [(e.type.name, e.reason) for e in security_events if e.type.name != "user_created"]
    assert reasons == [
        ("authn_token_created", "password_reset_requested"),
        ("authn_password_change_fail", "invalid_reset_password_token"),
        ("authn_password_change", "password_reset"),
        ("authn_token_created", "verification_requested"),
        ("user_updated", "email_verified"),
    ]
    dumped = json.dumps([dict(r.attributes or {}) for r in telemetry.records()], default=str)
    for secret in (tokens["reset"], tokens["verify"], PASSWORD, NEW_PASSWORD):
        assert secret not in dumped


def test_without_the_mixin_the_login_route_is_still_recognised(
    plain: TestClient, security_events: CapturedEvents
) -> None:
    """fastapi-users' 400 LOGIN_BAD_CREDENTIALS and its 200 become login events on their own."""
    plain.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
    assert _login(plain, "wrong") == 400
    assert _login(plain, PASSWORD) == 200
    failure = security_events.one("authn_login_fail")
    assert failure.attributes["user.name"] == EMAIL
    assert failure.attributes["http.response.status_code"] == 400
    assert security_events.one("authn_login_success").attributes["user.name"] == EMAIL


def test_the_fastapi_users_login_route_is_a_login_source(tmp_path: Path) -> None:
    """``login_sources`` (and so ``seclog check``) finds fastapi-users' login route."""
    app = fastapi_users_app.build(f"sqlite+aiosqlite:///{tmp_path}/u.db", integrated=False)
    assert [s.path for s in login_sources(app)] == ["/auth/jwt/login"]
