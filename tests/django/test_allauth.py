"""django-allauth: its account, MFA and social flows, run for real, become security events."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    SECRET_SESSION_KEY,
    format_hotp_value,
    hotp_value,
    yield_hotp_counters_from_time,
)
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import User
from django.test import Client, TestCase

from seclog_core.testing import CapturedEvents, capture_security_events
from tests.django.conftest import wire_text
from tests.support.telemetry import Telemetry

PASSWORD = "correct-horse-battery-staple-42"
WRONG = "wrong-horse-zz9-plural-z-alpha"


@pytest.fixture
def bob() -> User:
    return User.objects.create_user("bob", "bob@example.com", PASSWORD)


@pytest.fixture
def bob_client(bob: User) -> Client:
    client = Client()
    response = client.post("/accounts/login/", {"login": "bob", "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def test_signup_is_one_user_created(events: CapturedEvents, wire: Telemetry) -> None:
    """Signing up through allauth is exactly one user_created for the new account."""
    response = Client().post(
        "/accounts/signup/",
        {"username": "carol", "email": "", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302, response.content[:800]
    created = events.of_type("user_created")
    assert len(created) == 1
    assert created[0].attributes["user.target.name"] == "carol"
    assert "authn_login_success" in events.types  # allauth logs the new user in
    assert PASSWORD not in wire_text(wire)


def test_failed_and_good_login(bob: User, events: CapturedEvents, wire: Telemetry) -> None:
    """allauth's login form: a wrong password is authn_login_fail naming bob, then success."""
    client = Client()
    client.post("/accounts/login/", {"login": "bob", "password": WRONG})
    client.post("/accounts/login/", {"login": "bob", "password": PASSWORD})
    fail = events.one("authn_login_fail")
    assert fail.attributes["user.name"] == "bob"
    assert fail.attributes["security.reason"] == "bad_credentials"
    assert events.one("authn_login_success").attributes["user.name"] == "bob"
    assert WRONG not in wire_text(wire)


def test_password_change_is_reported_once(bob_client: Client) -> None:
    """allauth's password change: one authn_password_change (the user model and allauth's
    signal both see it)."""
    with capture_security_events() as events:
        response = bob_client.post(
            "/accounts/password/change/",
            {"oldpassword": PASSWORD, "password1": WRONG, "password2": WRONG},
        )
    assert response.status_code == 302, response.content[:800]
    change = events.one("authn_password_change")
    assert change.attributes["user.target.name"] == "bob"
    assert change.attributes["user.changes.name"] == "bob"


def test_password_reset_through_allauth(bob: User, events: CapturedEvents) -> None:
    """allauth's password reset (the e-mailed key, then a new password): authn_password_change."""
    client = Client()
    client.post("/accounts/password/reset/", {"email": "bob@example.com"})
    from django.core import mail

    link = next(
        word for word in mail.outbox[-1].body.split() if "/accounts/password/reset/key/" in word
    )
    path = link[link.index("/accounts/") :]
    form = client.get(path, follow=True)
    response = client.post(form.request["PATH_INFO"], {"password1": WRONG, "password2": WRONG})
    assert response.status_code == 302, response.content[:800]
    change = events.one("authn_password_change")
    assert change.attributes["user.target.name"] == "bob"


def test_email_added_and_removed(bob_client: Client, bob: User) -> None:
    """Adding and removing an e-mail address in allauth is user_updated with the reason."""
    with capture_security_events() as events:
        bob_client.post("/accounts/email/", {"action_add": "", "email": "bob2@example.com"})
        bob_client.post("/accounts/email/", {"action_remove": "", "email": "bob2@example.com"})
    reasons = [e.attributes["security.reason"] for e in events.of_type("user_updated")]
    assert "email_added" in reasons
    assert "email_removed" in reasons
    assert all(
        e.attributes["user.target.id"] == str(bob.pk) for e in events.of_type("user_updated")
    )


def _totp_code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def test_mfa_added_failed_and_removed(bob_client: Client, bob: User, wire: Telemetry) -> None:
    """A TOTP authenticator added is authn_token_created, a wrong code at login is
    authn_login_fail (mfa_failed), its removal is authn_token_revoked; no code or secret leaves."""
    # allauth asks for the password again before MFA changes.
    bob_client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    with capture_security_events() as events:
        bob_client.get("/accounts/2fa/totp/activate/")
        secret = bob_client.session[SECRET_SESSION_KEY]
        # allauth sends this signal on commit, which the test's transaction never reaches.
        with TestCase.captureOnCommitCallbacks(execute=True):
            code = _totp_code(secret)
            response = bob_client.post("/accounts/2fa/totp/activate/", {"code": code})
        assert response.status_code == 302, response.content[:800]
        assert Authenticator.objects.filter(user=bob, type="totp").exists()

        second = Client()
        second.post("/accounts/login/", {"login": "bob", "password": PASSWORD})
        second.post("/accounts/2fa/authenticate/", {"code": "000000"})

        totp = Authenticator.objects.get(user=bob, type="totp")
        response = bob_client.post("/accounts/2fa/totp/deactivate/", {})
        assert response.status_code == 302, response.content[:800]
    added = {e.attributes["security.auth_method"]: e for e in events.of_type("authn_token_created")}
    assert set(added) == {"totp", "recovery_codes"}  # allauth makes recovery codes with TOTP
    assert added["totp"].attributes["security.reason"] == "mfa_authenticator_added"
    assert added["totp"].attributes["user.target.name"] == "bob"
    failed = [
        e
        for e in events.of_type("authn_login_fail")
        if e.attributes["security.reason"] == "mfa_failed"
    ]
    assert len(failed) == 1
    assert failed[0].attributes["user.name"] == "bob"
    removed = {e.attributes["security.auth_method"] for e in events.of_type("authn_token_revoked")}
    assert removed == {"totp", "recovery_codes"}
    assert added["totp"].attributes["security.object_id"] == str(totp.pk)
    assert secret not in wire_text(wire)


def test_social_account_connected_login_and_disconnected(bob_client: Client, bob: User) -> None:
    """Connecting GitHub is user_updated (social_account_added), logging in with it is
    authn_login_success naming the provider, and disconnecting it is social_account_removed."""
    with capture_security_events() as events:
        bob_client.get(
            "/social/complete/", {"uid": "4242", "login": "bob-gh", "process": "connect"}
        )
        account = SocialAccount.objects.get(user=bob, provider="github")
        other = Client()
        other.get("/social/complete/", {"uid": "4242", "login": "bob-gh"})
        bob_client.post("/accounts/3rdparty/", {"account": str(account.pk)})
    updates = {e.attributes["security.reason"]: e for e in events.of_type("user_updated")}
    assert updates["social_account_added"].attributes["security.auth_method"] == "github"
    assert updates["social_account_added"].attributes["user.target.name"] == "bob"
    social = [
        e
        for e in events.of_type("authn_login_success")
        if e.attributes.get("security.auth_method") == "github"
    ]
    assert len(social) == 1
    assert social[0].attributes["user.name"] == "bob"
    assert updates["social_account_removed"].attributes["user.target.id"] == str(bob.pk)
    assert not SocialAccount.objects.filter(user=bob).exists()


def test_failed_email_login_names_the_address_given(bob: User, events: CapturedEvents) -> None:
    """With allauth's e-mail logins, a failed login is authn_login_fail naming what was typed."""
    from django.test import override_settings

    with override_settings(ACCOUNT_LOGIN_METHODS={"email"}):
        Client().post("/accounts/login/", {"login": "bob@example.com", "password": WRONG})
    fail = events.one("authn_login_fail")
    assert fail.attributes["user.name"] == "bob@example.com"
