"""Flask-WTF CSRF failures and Flask-Limiter breaches, driven through real requests."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from seclog_flask import SecLog
from seclog_flask.integrations.flask_wtf import csrf_reason
from tests.flask.conftest import assert_event
from tests.support.telemetry import Telemetry

SECRET_KEY = "csrf-test-secret-key-0123456789"


def csrf_app(handler: bool = False) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = SECRET_KEY
    csrf = CSRFProtect(app)
    SecLog(app)

    @app.get("/form")
    def form() -> str:
        return generate_csrf()

    @app.post("/transfer")
    def transfer() -> str:
        return "done"

    @app.post("/webhook")
    @csrf.exempt
    def webhook() -> tuple[str, int]:
        return "bad payload", 400

    if handler:

        @app.errorhandler(CSRFError)
        def on_csrf(error: CSRFError) -> tuple[str, int]:
            return "please reload the page", 419

    return app


def expired_token(client_session_token: str) -> str:
    """A token signed two hours ago for this session (Flask-WTF's default limit is one hour)."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 7200

    serializer = URLSafeTimedSerializer(SECRET_KEY, salt="wtf-csrf-token", signer=PastSigner)
    return str(serializer.dumps(client_session_token))


def test_missing_csrf_token(telemetry: Telemetry) -> None:
    """A POST without a CSRF token is input_validation_fail, reason csrf_token_missing."""
    response = csrf_app().test_client().post("/transfer", data={"amount": "100"})
    assert response.status_code == 400
    attributes = assert_event(
        telemetry,
        "input_validation_fail",
        severity="WARN",
        outcome="failure",
        reason="csrf_token_missing",
    )
    assert attributes["http.route"] == "/transfer"
    assert attributes["http.response.status_code"] == 400


def test_invalid_csrf_token_is_not_logged_verbatim(telemetry: Telemetry) -> None:
    """A forged token is csrf_token_invalid and the token itself is not on the wire."""
    client = csrf_app().test_client()
    client.get("/form")
    forged = "IjAxMjM0NTY3ODlhYmNkZWYi.forged.signature-value-xyz"
    client.post("/transfer", data={"csrf_token": forged})
    assert_event(
        telemetry,
        "input_validation_fail",
        severity="WARN",
        outcome="failure",
        reason="csrf_token_invalid",
        secret=forged,
    )


def test_expired_csrf_token(telemetry: Telemetry) -> None:
    """A token past WTF_CSRF_TIME_LIMIT is csrf_token_expired."""
    client = csrf_app().test_client()
    client.get("/form")
    with client.session_transaction() as stored:
        raw = stored["csrf_token"]
    client.post("/transfer", data={"csrf_token": expired_token(raw)})
    assert_event(
        telemetry,
        "input_validation_fail",
        severity="WARN",
        outcome="failure",
        reason="csrf_token_expired",
    )


def test_custom_csrf_error_handler_still_logged(telemetry: Telemetry) -> None:
    """An app's own CSRFError handler (answering 419) does not hide the failure."""
    response = csrf_app(handler=True).test_client().post("/transfer")
    assert response.status_code == 419
    assert_event(
        telemetry,
        "input_validation_fail",
        severity="WARN",
        outcome="failure",
        reason="csrf_token_missing",
    )


def test_valid_token_and_exempt_views_are_quiet(telemetry: Telemetry) -> None:
    """A valid token, or a 400 from a CSRF-exempt view, is not a CSRF event."""
    client = csrf_app().test_client()
    token = client.get("/form").get_data(as_text=True)
    assert client.post("/transfer", data={"csrf_token": token}).status_code == 200
    assert client.post("/webhook").status_code == 400
    assert telemetry.records() == []


@pytest.mark.parametrize(
    ("description", "reason"),
    [
        ("The CSRF token is missing.", "csrf_token_missing"),
        ("The CSRF session token is missing.", "csrf_token_missing"),
        ("The CSRF token has expired.", "csrf_token_expired"),
        ("The CSRF token is invalid.", "csrf_token_invalid"),
        ("The CSRF tokens do not match.", "csrf_token_invalid"),
        ("The referrer header is missing.", "csrf_referrer_invalid"),
    ],
)
def test_csrf_reasons(description: str, reason: str) -> None:
    """Every Flask-WTF CSRF error description maps to a short reason token."""
    assert csrf_reason(description) == reason


def limited_app() -> Flask:
    app = Flask(__name__)
    limiter = Limiter(get_remote_address, app=app, storage_uri="memory://")
    SecLog(app)

    @app.post("/login")
    @limiter.limit("2 per minute")
    def login() -> str:
        return "try"

    @app.get("/busy")
    def busy() -> tuple[str, int]:
        return "slow down", 429

    return app


def test_limiter_breach_carries_the_limit(telemetry: Telemetry) -> None:
    """The third login in a minute is excess_rate_limit_exceeded with security.limit."""
    client = limited_app().test_client()
    statuses = [client.post("/login").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    attributes = assert_event(
        telemetry,
        "excess_rate_limit_exceeded",
        severity="WARN",
        outcome="failure",
        reason="rate_limit_exceeded",
    )
    assert attributes["security.limit"] == "2 per 1 minute"
    assert attributes["http.route"] == "/login"


def test_plain_429_without_a_breach_has_no_limit(telemetry: Telemetry) -> None:
    """A 429 the view returns itself is still logged, without a limit it cannot know."""
    limited_app().test_client().get("/busy")
    attributes = assert_event(
        telemetry,
        "excess_rate_limit_exceeded",
        severity="WARN",
        outcome="failure",
        reason="rate_limited",
    )
    assert "security.limit" not in attributes
