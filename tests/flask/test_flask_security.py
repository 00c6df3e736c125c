"""Flask-Security-Too: logins, failures, account changes and two-factor signals as events."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from flask_security import Security, auth_required, hash_password
from flask_security.signals import tf_disabled, tf_profile_changed

from seclog_flask import SecLog
from tests.flask._memory_datastore import MemoryUserDatastore
from tests.flask.conftest import assert_event
from tests.support.telemetry import Telemetry

PASSWORD = "Explorer-pass-1"
WRONG = "wrong-pass-99"


def make_app() -> tuple[Flask, MemoryUserDatastore]:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY="flask-security-test-secret-key",
        SECURITY_PASSWORD_SALT="flask-security-test-salt",
        SECURITY_PASSWORD_HASH="pbkdf2_sha512",
        WTF_CSRF_ENABLED=False,
        SECURITY_REGISTERABLE=True,
        SECURITY_CHANGEABLE=True,
        SECURITY_SEND_REGISTER_EMAIL=False,
        SECURITY_SEND_PASSWORD_CHANGE_EMAIL=False,
        SECURITY_EMAIL_VALIDATOR_ARGS={"check_deliverability": False},
    )
    datastore = MemoryUserDatastore()
    Security(app, datastore)
    SecLog(app)
    with app.app_context():
        datastore.create_user(id="u-1", email="dora@example.com", password=hash_password(PASSWORD))

    @app.get("/api/data")
    @auth_required()
    def data() -> str:
        return "data"

    return app, datastore


def login(client: FlaskClient, password: str = PASSWORD, email: str = "dora@example.com") -> Any:
    return client.post("/login", json={"email": email, "password": password})


def test_wrong_password_is_authn_login_fail(telemetry: Telemetry) -> None:
    """A wrong password for a known user is authn_login_fail, bad_credentials, no password."""
    app, _ = make_app()
    assert login(app.test_client(), WRONG).status_code == 400
    attributes = assert_event(
        telemetry,
        "authn_login_fail",
        severity="WARN",
        outcome="failure",
        reason="bad_credentials",
        secret=WRONG,
    )
    assert attributes["user.id"] == "u-1"
    assert attributes["user.name"] == "dora@example.com"
    assert attributes["security.auth_method"] == "password"


def test_unknown_user_is_authn_login_fail(telemetry: Telemetry) -> None:
    """A login for an unknown account, which has no signal, is still authn_login_fail."""
    app, _ = make_app()
    login(app.test_client(), WRONG, email="nobody@example.com")
    attributes = assert_event(
        telemetry,
        "authn_login_fail",
        severity="WARN",
        outcome="failure",
        reason="login_rejected",
        secret=WRONG,
    )
    assert attributes["user.name"] == "nobody@example.com"


def test_login_is_one_success_with_the_method(telemetry: Telemetry) -> None:
    """A password login is one authn_login_success (not one per library) with the method."""
    app, _ = make_app()
    assert login(app.test_client()).status_code == 200
    attributes = assert_event(
        telemetry,
        "authn_login_success",
        severity="INFO",
        outcome="success",
        reason=None,
        secret=PASSWORD,
    )
    assert attributes["security.auth_method"] == "password"
    assert attributes["user.id"] == "u-1"


def test_password_change_and_logout(telemetry: Telemetry) -> None:
    """Changing the password is authn_password_change; logging out is authn_logout."""
    app, _ = make_app()
    client = app.test_client()
    login(client)
    new = "Another-pass-22"
    changed = client.post(
        "/change",
        json={"password": PASSWORD, "new_password": new, "new_password_confirm": new},
    )
    assert changed.status_code == 200
    client.post("/logout")
    attributes = assert_event(
        telemetry,
        "authn_password_change",
        severity="INFO",
        outcome="success",
        reason="password_changed",
        secret=new,
    )
    assert attributes["user.id"] == "u-1"
    assert_event(telemetry, "authn_logout", severity="INFO", outcome="success", reason=None)


def test_registration_is_user_created(telemetry: Telemetry) -> None:
    """Self-registration is user_created naming the new account as the target."""
    app, _ = make_app()
    password = "Register-pass-33"
    response = app.test_client().post(
        "/register",
        json={"email": "eve@seclog-demo.org", "password": password, "password_confirm": password},
    )
    assert response.status_code == 200
    attributes = assert_event(
        telemetry,
        "user_created",
        severity="INFO",
        outcome="success",
        reason="registered",
        secret=password,
    )
    assert attributes["user.target.name"] == "eve@seclog-demo.org"


def test_auth_required_without_credentials_is_authn_fail(telemetry: Telemetry) -> None:
    """An anonymous call to an auth_required API is one authn_fail (login_required)."""
    app, _ = make_app()
    response = app.test_client().get("/api/data", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert_event(
        telemetry, "authn_fail", severity="WARN", outcome="failure", reason="login_required"
    )


def test_two_factor_signals_are_account_updates(telemetry: Telemetry) -> None:
    """Two-factor profile changes are user_updated events with the method and the user."""
    app, datastore = make_app()
    user = datastore.find_user(email="dora@example.com")
    with app.test_request_context("/tf-setup", method="POST"):
        tf_profile_changed.send(app, user=user, method="authenticator")
        tf_disabled.send(app, user=user)
    updates = [r for r in telemetry.records() if r.event_name == "security.user_updated"]
    assert [r.attributes["security.reason"] for r in updates] == [
        "two_factor_changed",
        "two_factor_disabled",
    ]
    assert updates[0].attributes["security.auth_method"] == "authenticator"
    assert updates[0].attributes["user.id"] == "u-1"
    assert updates[0].severity_text == "INFO"
