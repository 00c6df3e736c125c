"""seclog never breaks a Flask app: failing user objects, typos caught at start-up, proxies."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_login import LoginManager, login_user  # type: ignore[import-untyped]

from seclog_core import ConfigError
from seclog_flask import SecLog
from tests.flask.conftest import on_wire
from tests.support.telemetry import Telemetry

# Flask-Login 0.6 sets the remember cookie with datetime.utcnow(), deprecated on Python 3.12.
pytestmark = pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning")


class BrokenUser:
    """A user whose name attributes raise, as a detached ORM row's lazy columns do."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    id = "42"

    def get_id(self) -> str:
        return "42"

    @property
    def username(self) -> str:
        raise RuntimeError("detached instance")

    @property
    def email(self) -> str:
        raise RuntimeError("detached instance")


def login_app(user: Any) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test-secret-key-for-sessions"
    LoginManager(app).user_loader(lambda _id: user)
    SecLog(app)

    @app.post("/login")
    def login() -> str:
        login_user(user)
        return "welcome"

    return app


def test_a_user_whose_attributes_raise_still_logs_in(telemetry: Telemetry) -> None:
    """login_user() with a failing user object answers 200; the event lacks only the name."""
    response = login_app(BrokenUser()).test_client().post("/login")
    assert response.status_code == 200
    attributes = dict(on_wire(telemetry, "authn_login_success").attributes)
    assert attributes["user.id"] == "42"
    assert "user.name" not in attributes


def test_a_user_whose_id_raises_still_logs_in(telemetry: Telemetry) -> None:
    """A user whose primary key raises yields an event without user.id, not a 500."""

    class NoId(BrokenUser):
        @property
        def id(self) -> str:  # type: ignore[override]
            raise RuntimeError("detached instance")

        username = "dave"

    response = login_app(NoId()).test_client().post("/login")
    assert response.status_code == 200
    attributes = dict(on_wire(telemetry, "authn_login_success").attributes)
    assert attributes["user.name"] == "dave"
    assert "user.id" not in attributes


@pytest.mark.parametrize(
    ("key", "suggestion"),
    [
        ("SECLOG_TRUSTED_PROXYS", "SECLOG_TRUSTED_PROXIES"),
        ("SECLOG_INTEGRITY_KYE", "SECLOG_INTEGRITY_KEY"),
        ("SECLOG_REQUEST_ID_HEADR", "SECLOG_REQUEST_ID_HEADER"),
    ],
)
def test_a_misspelt_setting_stops_seclog_app_with_did_you_mean(key: str, suggestion: str) -> None:
    """SecLog(app) refuses an unknown SECLOG_* key and suggests the close known one."""
    app = Flask(__name__)
    app.config[key] = "secret-value-0123456789"
    with pytest.raises(ConfigError, match=f"did you mean '{suggestion}'") as raised:
        SecLog(app)
    assert "secret-value" not in str(raised.value)


def test_a_misspelt_keyword_option_gets_did_you_mean() -> None:
    """SecLog(app, trusted_proxys=...) is an error naming trusted_proxies."""
    with pytest.raises(ConfigError, match="did you mean 'trusted_proxies'"):
        SecLog(Flask(__name__), trusted_proxys=["10.0.0.1"])


def test_x_real_ip_is_read_when_it_is_the_configured_header(telemetry: Telemetry) -> None:
    """With forwarded_header=X-Real-IP, that header names the client, not X-Forwarded-For."""
    app = Flask(__name__)
    SecLog(app, trusted_proxies=["10.0.0.1"], forwarded_header="X-Real-IP")

    @app.get("/forbidden")
    def forbidden() -> tuple[str, int]:
        return "no", 403

    app.test_client().get(
        "/forbidden",
        headers={"X-Real-IP": "192.0.2.50", "X-Forwarded-For": "6.6.6.6"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    assert on_wire(telemetry, "authz_fail").attributes["client.address"] == "192.0.2.50"


class Hostile:
    """A user object on which every attribute read raises."""

    def __getattribute__(self, name: str) -> Any:
        raise RuntimeError(f"{name} is unavailable")


def _receivers() -> list[Any]:
    from seclog_flask.integrations import flask_login, flask_security

    found = [
        flask_login._on_logged_in,
        flask_login._on_loaded_from_cookie,
        flask_login._on_logged_out,
        flask_login._on_unauthorized,
        flask_login._on_needs_refresh,
        flask_security._on_authenticated,
        flask_security._on_failed_authn,
        flask_security._on_unauthenticated,
    ]
    found += [flask_security._mapped(name) for name in flask_security.SIGNAL_EVENTS]
    return found


@pytest.mark.parametrize("receiver", _receivers(), ids=lambda receiver: receiver.__name__)
def test_every_signal_receiver_survives_a_hostile_user_and_sender(receiver: Any) -> None:
    """No Flask-Login or Flask-Security receiver raises, whatever the signal hands it."""
    app = Flask(__name__)
    SecLog(app)
    with app.test_request_context("/"):
        receiver(app, user=Hostile())
        receiver(Hostile(), user=Hostile())
