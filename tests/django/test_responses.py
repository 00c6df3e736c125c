"""Denials and failures a response tells of: 401, 403, 429, 5xx, PermissionDenied, DRF."""

from __future__ import annotations

import base64

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import AsyncClient, Client

from seclog_core.detect import drain
from seclog_core.testing import CapturedEvents, capture_security_events
from tests.django.conftest import wire_text
from tests.support.telemetry import Telemetry

PASSWORD = "correct-horse-battery-staple-42"


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob", "bob@example.com", PASSWORD)


def test_permission_denied_on_staff_page(
    bob: User, events: CapturedEvents, wire: Telemetry
) -> None:
    """A logged-in user without the permission gets 403 and one authz_fail naming them."""
    client = Client()
    client.force_login(bob)
    response = client.get("/staff/", HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 403
    deny = events.one("authz_fail")
    assert deny.attributes["security.reason"] == "permission_denied"
    assert deny.attributes["security.outcome"] == "failure"
    assert deny.attributes["user.name"] == "bob"
    assert deny.attributes["http.route"] == "staff/"
    assert deny.attributes["http.request.id"] == "req-42"
    assert deny.attributes["exception.type"] == "django.core.exceptions.PermissionDenied"
    assert wire.record("security.authz_fail").severity_text == "WARN"


def test_async_permission_denied(events: CapturedEvents) -> None:
    """PermissionDenied raised in an async view under ASGI is the same authz_fail."""

    async def scenario() -> None:
        assert (await AsyncClient().get("/async/denied/")).status_code == 403

    async_to_sync(scenario)()
    deny = events.one("authz_fail")
    assert deny.attributes["security.reason"] == "permission_denied"
    assert deny.attributes["http.route"] == "async/denied/"


@pytest.mark.parametrize(
    ("path", "event", "reason", "status"),
    [
        ("/forbidden/", "authz_fail", "forbidden", 403),
        ("/unauthorized/", "authn_fail", "unauthenticated", 401),
        ("/throttled/", "excess_rate_limit_exceeded", "rate_limited", 429),
        ("/bad-gateway/", "sys_error", "server_error", 502),
    ],
)
def test_status_codes_become_events(
    path: str, event: str, reason: str, status: int, events: CapturedEvents
) -> None:
    """A view answering 401, 403, 429 or 5xx itself still produces the matching event."""
    assert Client().get(path).status_code == status
    found = events.one(event)
    assert found.attributes["security.reason"] == reason
    assert found.attributes["http.response.status_code"] == status
    assert found.attributes["security.outcome"] == "failure"


def test_unhandled_exception_is_sys_error_with_scrubbed_message(
    events: CapturedEvents, wire: Telemetry
) -> None:
    """An exception escaping a view: an ERROR sys_error: type, scrubbed message, no traceback."""
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    error = events.one("sys_error")
    assert error.attributes["exception.type"] == "RuntimeError"
    assert error.attributes["security.reason"] == "unhandled_exception"
    assert error.attributes["http.response.status_code"] == 500
    assert "password=[REDACTED]" in str(error.attributes["exception.message"])
    assert wire.record("security.sys_error").severity_text == "ERROR"
    text = wire_text(wire)
    assert "hunter2" not in text
    assert "Traceback" not in text and "exception.stacktrace" not in text


def test_async_unhandled_exception_is_sys_error(events: CapturedEvents, wire: Telemetry) -> None:
    """The same under ASGI, from an async view."""

    async def scenario() -> None:
        client = AsyncClient(raise_request_exception=False)
        assert (await client.get("/async/boom/")).status_code == 500

    async_to_sync(scenario)()
    error = events.one("sys_error")
    assert error.attributes["exception.type"] == "ValueError"
    assert "abc123secret" not in wire_text(wire)


def test_drf_session_api_without_login_is_authn_fail(events: CapturedEvents) -> None:
    """DRF's NotAuthenticated (403 under session auth) is authn_fail, not authz_fail."""
    response = Client().get("/api/session/")
    assert response.status_code == 403
    fail = events.one("authn_fail")
    assert fail.attributes["security.reason"] == "not_authenticated"
    assert "authz_fail" not in events.types


def test_drf_basic_auth_with_a_wrong_password(
    bob: User, events: CapturedEvents, wire: Telemetry
) -> None:
    """Wrong HTTP Basic credentials on a DRF API: a failed login for the user, secret-free, once."""
    token = base64.b64encode(b"bob:not-the-password-123").decode()
    response = Client().get("/api/basic/", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 401
    assert events.one("authn_login_fail").attributes["user.name"] == "bob"
    assert "authn_fail" not in events.types
    text = wire_text(wire)
    assert "not-the-password-123" not in text and token not in text


def test_drf_api_without_credentials_is_authn_fail(events: CapturedEvents) -> None:
    """No credentials on a Basic-auth DRF API: 401 and authn_fail with DRF's reason."""
    assert Client().get("/api/basic/").status_code == 401
    assert events.one("authn_fail").attributes["security.reason"] == "not_authenticated"


def test_a_successful_request_emits_nothing(bob: User) -> None:
    """An ordinary page view by a logged-in user is not a security event."""
    client = Client()
    client.force_login(bob)
    with capture_security_events() as events:
        assert client.get("/me/").status_code == 200
    assert events.types == []


def test_an_attack_tool_alert_names_the_user_and_route_django_loaded(
    bob: User, events: CapturedEvents
) -> None:
    """A scanner's request by a logged-in user: the alert carries the user and route, read late."""
    client = Client()
    client.force_login(bob)
    response = client.get("/me/", HTTP_USER_AGENT="sqlmap/1.7.2#stable (https://sqlmap.org)")
    assert response.status_code == 200
    assert drain()
    alert = events.one("malicious_attack_tool")
    assert alert.attributes["user.name"] == "bob"
    assert alert.attributes["http.route"] == "me/"
    assert alert.attributes["url.path"] == "/me/"
    assert alert.attributes["client.address"] == "127.0.0.1"


def test_a_quiet_request_leaves_a_forged_forwarding_header_reported(
    events: CapturedEvents,
) -> None:
    """A forged X-Forwarded-For on a plain page is reported, though no other event reads it."""
    response = Client().get("/", HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 200
    report = events.one("malicious_extraneous")
    assert report.attributes["security.reason"] == "untrusted_forwarded_header"
    assert report.attributes["client.address"] == "198.51.100.4"
    assert report.attributes["url.path"] == "/"
