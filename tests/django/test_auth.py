"""Logins, failed logins, logouts and password changes, through Django's own views and APIs."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.test import AsyncClient, Client, override_settings

from seclog_core.testing import CapturedEvents
from tests.django.conftest import wire_text
from tests.support.telemetry import Telemetry

PASSWORD = "correct-horse-battery-staple-42"
WRONG = "hunter2-wrong-guess-99"


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob", "bob@example.com", PASSWORD)


def _login(client: Client, password: str, username: str = "bob") -> Any:
    return client.post(
        "/login/",
        {"username": username, "password": password},
        REMOTE_ADDR="203.0.113.9",
        HTTP_USER_AGENT="pytest-browser/1.0",
    )


def test_failed_login_form_post_is_authn_login_fail_without_the_password(
    bob: User, events: CapturedEvents, wire: Telemetry
) -> None:
    """A wrong password on LoginView: a WARN authn_login_fail naming the user, not the password."""
    response = _login(Client(), WRONG)
    assert response.status_code == 200  # the form is shown again
    fail = events.one("authn_login_fail")
    assert fail.attributes["user.name"] == "bob"
    assert fail.attributes["security.reason"] == "bad_credentials"
    assert fail.attributes["security.outcome"] == "failure"
    assert fail.attributes["client.address"] == "203.0.113.9"
    assert fail.attributes["http.route"] == "login/"
    assert fail.attributes["user_agent.original"] == "pytest-browser/1.0"
    record = wire.record("security.authn_login_fail")
    assert record.severity_text == "WARN"
    assert WRONG not in wire_text(wire)


def test_successful_login_then_logout(bob: User, events: CapturedEvents, wire: Telemetry) -> None:
    """Logging in and out through Django's views gives INFO success and logout events."""
    client = Client()
    assert _login(client, PASSWORD).status_code == 302
    assert client.post("/logout/").status_code == 200
    assert events.types == ["authn_login_success", "authn_logout"]
    success = events.one("authn_login_success")
    assert success.attributes["user.name"] == "bob"
    assert success.attributes["user.id"] == str(bob.pk)
    assert success.attributes["security.outcome"] == "success"
    assert wire.record("security.authn_login_success").severity_text == "INFO"
    assert events.one("authn_logout").attributes["user.name"] == "bob"
    assert PASSWORD not in wire_text(wire)


def test_async_login_failure_success_and_logout(bob: User, events: CapturedEvents) -> None:
    """aauthenticate/alogin/alogout in an async view under ASGI fire the same events."""

    async def scenario() -> None:
        client = AsyncClient()
        bad = await client.post("/async/login/", {"username": "bob", "password": WRONG})
        assert bad.status_code == 401
        good = await client.post("/async/login/", {"username": "bob", "password": PASSWORD})
        assert good.status_code == 200
        assert (await client.post("/async/logout/")).status_code == 200

    async_to_sync(scenario)()
    # The detectors' verdict on the success (success after failures) comes from their own
    # thread, a moment later: the request events are compared apart from it.
    requests = [t for t in events.types if t != "authn_login_successafterfail"]
    assert requests == ["authn_login_fail", "authn_login_success", "authn_logout"]
    assert events.one("authn_login_fail").attributes["user.name"] == "bob"
    # the 401 the view answered is already explained by the failed login
    assert "authn_fail" not in events.types
    success = events.one("authn_login_success")
    assert success.attributes["user.name"] == "bob"
    assert success.attributes["http.route"] == "async/login/"
    assert events.one("authn_logout").attributes["user.name"] == "bob"


def test_async_login_form_post_through_asgi(bob: User, events: CapturedEvents) -> None:
    """LoginView under ASGI behind a trusted proxy reports the real client of the failed login."""

    async def scenario() -> None:
        client = AsyncClient()
        await client.post(
            "/login/",
            {"username": "bob", "password": WRONG},
            headers={"X-Forwarded-For": "198.51.100.4"},
        )

    with override_settings(SECLOG={"trusted_proxies": ["127.0.0.1"]}):
        async_to_sync(scenario)()
    fail = events.one("authn_login_fail")
    assert fail.attributes["user.name"] == "bob"
    assert fail.attributes["client.address"] == "198.51.100.4"


def test_password_change_view_is_authn_password_change(
    bob: User, events: CapturedEvents, wire: Telemetry
) -> None:
    """PasswordChangeView emits authn_password_change for the user, without either password."""
    client = Client()
    client.force_login(bob)
    new = "a-brand-new-passphrase-77"
    response = client.post(
        "/password_change/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    change = events.one("authn_password_change")
    assert change.attributes["user.target.name"] == "bob"
    assert change.attributes["user.changes.name"] == "bob"
    assert change.attributes["user.name"] == "bob"
    assert change.attributes["security.outcome"] == "success"
    text = wire_text(wire)
    assert new not in text and PASSWORD not in text


def test_set_password_and_save_outside_a_request(bob: User, events: CapturedEvents) -> None:
    """user.set_password() + save() anywhere (a shell, a task) is a password change."""
    bob.set_password("another-passphrase-11")
    bob.save()
    assert events.one("authn_password_change").attributes["user.target.name"] == "bob"


def test_saving_other_fields_or_logging_in_is_not_a_password_change(
    bob: User, events: CapturedEvents
) -> None:
    """Editing a user's email, or the last_login update of a login, says nothing about passwords."""
    bob.email = "new@example.com"
    bob.save()
    _login(Client(), PASSWORD)
    assert "authn_password_change" not in events.types


def test_admin_password_change_names_the_admin(bob: User, events: CapturedEvents) -> None:
    """An admin setting bob's password in Django admin: the event names both of them."""
    admin = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client = Client()
    client.force_login(admin)
    new = "admin-chosen-passphrase-55"
    response = client.post(
        f"/admin/auth/user/{bob.pk}/password/",
        {"password1": new, "password2": new, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:500]
    change = events.one("authn_password_change")
    assert change.attributes["user.target.name"] == "bob"
    assert change.attributes["user.changes.name"] == "root"
    assert change.attributes["user.name"] == "root"


def test_axes_lockout_is_authn_login_lock(bob: User, events: CapturedEvents) -> None:
    """With django-axes installed, crossing its failure limit is authn_login_lock."""
    client = Client()
    for _ in range(3):
        _login(client, WRONG)
    lock = events.one("authn_login_lock")
    assert lock.attributes["user.name"] == "bob"
    assert lock.attributes["security.outcome"] == "failure"
    assert lock.attributes["client.address"] == "203.0.113.9"


def test_repeated_failures_then_success_each_name_the_user(
    bob: User, events: CapturedEvents
) -> None:
    """Two failures then a success: each carries the user name the detectors key on."""
    client = Client()
    _login(client, WRONG)
    _login(client, WRONG)
    _login(client, PASSWORD)
    fails = events.of_type("authn_login_fail")
    assert [e.attributes["user.name"] for e in fails] == ["bob", "bob"]
    assert events.of_type("authn_login_success")[0].attributes["user.name"] == "bob"
