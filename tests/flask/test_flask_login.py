"""Flask-Login: logins, logouts, remember cookies and refused access, driven as a user would."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from flask_login import (
    LoginManager,
    UserMixin,
    current_user,
    fresh_login_required,
    login_required,
    login_user,
    logout_user,
)

import seclog_core
from seclog_flask import SecLog
from tests.flask.conftest import assert_event, on_wire
from tests.support.telemetry import Telemetry

# Flask-Login 0.6 sets the remember cookie with datetime.utcnow(), deprecated on Python 3.12.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")

PASSWORD = "correct-horse-battery"


class User(UserMixin):
    def __init__(self, user_id: str, username: str) -> None:
        self.id = user_id
        self.username = username


USERS = {"7": User("7", "carol")}


def make_app(login_view: str | None = None) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test-secret-key-for-sessions"
    manager = LoginManager(app)
    manager.login_view = login_view
    manager.user_loader(USERS.get)
    SecLog(app)

    @app.post("/login")
    def login() -> Any:
        if request.form.get("password") != PASSWORD:
            seclog_core.login_failed(username=request.form.get("username"))
            return "bad", 401
        login_user(USERS["7"], remember=bool(request.form.get("remember")))
        return "welcome"

    @app.post("/logout")
    def logout() -> str:
        logout_user()
        return "bye"

    @app.get("/private")
    @login_required
    def private() -> str:
        seclog_core.emit("sensitive_read", resource="salary")
        return "secret page"

    @app.get("/settings")
    @fresh_login_required
    def settings() -> str:
        return "settings"

    return app


def log_in(client: FlaskClient, **extra: str) -> None:
    response = client.post("/login", data={"username": "carol", "password": PASSWORD, **extra})
    assert response.status_code == 200


def test_login_is_authn_login_success_with_the_user(telemetry: Telemetry) -> None:
    """login_user yields authn_login_success with user id and name, and no password."""
    log_in(make_app().test_client())
    attributes = assert_event(
        telemetry,
        "authn_login_success",
        severity="INFO",
        outcome="success",
        reason=None,
        secret=PASSWORD,
    )
    assert attributes["user.id"] == "7"
    assert attributes["user.name"] == "carol"
    assert attributes["http.route"] == "/login"


def test_failed_password_via_manual_api(telemetry: Telemetry) -> None:
    """A plain Flask app reports a wrong password with login_failed; one event, no 401 twin."""
    make_app().test_client().post("/login", data={"username": "carol", "password": "nope-pw"})
    attributes = assert_event(
        telemetry,
        "authn_login_fail",
        severity="WARN",
        outcome="failure",
        reason="bad_credentials",
        secret="nope-pw",
    )
    assert attributes["user.name"] == "carol"
    assert [r.event_name for r in telemetry.records()] == ["security.authn_login_fail"]


def test_logout_is_authn_logout(telemetry: Telemetry) -> None:
    """logout_user yields authn_logout naming the user who left."""
    client = make_app().test_client()
    log_in(client)
    client.post("/logout")
    attributes = assert_event(
        telemetry, "authn_logout", severity="INFO", outcome="success", reason=None
    )
    assert attributes["user.id"] == "7"


def test_remember_cookie_login(telemetry: Telemetry) -> None:
    """A session restored from the remember cookie is a login, auth_method remember_cookie."""
    app = make_app()
    client = app.test_client()
    log_in(client, remember="1")
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    fresh = app.test_client()
    fresh.set_cookie("remember_token", cookie.value)
    assert fresh.get("/private").status_code == 200
    logins = [r for r in telemetry.records() if r.event_name == "security.authn_login_success"]
    assert len(logins) == 2
    attributes = dict(logins[1].attributes)
    assert attributes["security.auth_method"] == "remember_cookie"
    assert attributes["user.name"] == "carol"
    assert logins[1].severity_text == "INFO"
    assert cookie.value not in repr(attributes)


@pytest.mark.parametrize(("login_view", "status"), [(None, 401), ("login", 302)])
def test_unauthorized_is_one_authn_fail(
    telemetry: Telemetry, login_view: str | None, status: int
) -> None:
    """login_required refusing an anonymous user is one authn_fail (login_required),
    whether it answers 401 or redirects to the login view."""
    response = make_app(login_view).test_client().get("/private")
    assert response.status_code == status
    attributes = assert_event(
        telemetry, "authn_fail", severity="WARN", outcome="failure", reason="login_required"
    )
    assert attributes["http.route"] == "/private"


def test_fresh_login_required_is_authn_fail(telemetry: Telemetry) -> None:
    """A remembered (non-fresh) session hitting fresh_login_required is authn_fail."""
    app = make_app()
    client = app.test_client()
    log_in(client, remember="1")
    cookie = client.get_cookie("remember_token")
    assert cookie is not None
    fresh = app.test_client()
    fresh.set_cookie("remember_token", cookie.value)
    assert fresh.get("/settings").status_code == 401
    attributes = assert_event(
        telemetry, "authn_fail", severity="WARN", outcome="failure", reason="fresh_login_required"
    )
    assert attributes["user.name"] == "carol"


def test_current_user_enriches_manual_events(telemetry: Telemetry) -> None:
    """Events the app emits after Flask-Login loaded the user carry that user."""
    client = make_app().test_client()
    log_in(client)
    client.get("/private")
    attributes = dict(on_wire(telemetry, "sensitive_read").attributes)
    assert attributes["user.id"] == "7"
    assert attributes["user.name"] == "carol"


def test_anonymous_user_is_not_named(telemetry: Telemetry) -> None:
    """Events for an anonymous visitor carry no user id."""
    app = make_app()

    @app.get("/peek")
    def peek() -> str:
        assert not current_user.is_authenticated
        seclog_core.emit("authz_fail", resource="peek")
        return "ok"

    app.test_client().get("/peek")
    assert "user.id" not in on_wire(telemetry, "authz_fail").attributes
