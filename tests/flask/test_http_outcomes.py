"""Responses and exceptions become events, whichever way the app produces them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, abort
from werkzeug.exceptions import Forbidden

import seclog_core
from seclog_core.context import current_request_context
from seclog_flask import SecLog
from tests.flask.conftest import assert_event, on_wire
from tests.support.telemetry import Telemetry

SECRET = "hunter2-secret-value"


class PaymentError(Exception):
    pass


def make_app(**config: object) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    SecLog(app)

    @app.get("/abort/<int:code>")
    def aborted(code: int) -> str:
        abort(code)

    @app.get("/return/<int:code>")
    def returned(code: int) -> tuple[str, int]:
        return "status", code

    @app.get("/crash")
    def crash() -> str:
        raise RuntimeError(f"db said password={SECRET}")

    @app.get("/handled")
    def handled() -> str:
        raise PaymentError("declined")

    @app.errorhandler(PaymentError)
    def on_payment_error(error: PaymentError) -> tuple[str, int]:
        return "payment refused", 403

    @app.get("/ok")
    def ok() -> str:
        return "fine"

    @app.get("/manual/<item>")
    def manual(item: str) -> str:
        seclog_core.emit("authz_fail", resource=item)
        return "denied softly"

    return app


def test_abort_401_is_authn_fail(telemetry: Telemetry) -> None:
    """abort(401) is logged as authn_fail, WARN, failure, with the route."""
    response = make_app().test_client().get("/abort/401")
    assert response.status_code == 401
    attributes = assert_event(
        telemetry, "authn_fail", severity="WARN", outcome="failure", reason="unauthenticated"
    )
    assert attributes["http.route"] == "/abort/<int:code>"
    assert attributes["http.response.status_code"] == 401


def test_abort_403_is_authz_fail(telemetry: Telemetry) -> None:
    """abort(403) is logged as authz_fail with the client address and method."""
    make_app().test_client().get("/abort/403", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    attributes = assert_event(
        telemetry, "authz_fail", severity="WARN", outcome="failure", reason="forbidden"
    )
    assert attributes["client.address"] == "203.0.113.9"
    assert attributes["http.request.method"] == "GET"


def test_returned_429_is_rate_limit_event(telemetry: Telemetry) -> None:
    """A view that returns 429 itself is logged as excess_rate_limit_exceeded."""
    make_app().test_client().get("/return/429")
    assert_event(
        telemetry,
        "excess_rate_limit_exceeded",
        severity="WARN",
        outcome="failure",
        reason="rate_limited",
    )


def test_returned_503_is_sys_error(telemetry: Telemetry) -> None:
    """A returned 5xx status is logged as sys_error at ERROR."""
    make_app().test_client().get("/return/503")
    attributes = assert_event(
        telemetry, "sys_error", severity="ERROR", outcome="failure", reason="server_error"
    )
    assert attributes["http.response.status_code"] == 503


def test_error_handler_status_is_logged(telemetry: Telemetry) -> None:
    """An app error handler that answers 403 still yields authz_fail."""
    response = make_app().test_client().get("/handled")
    assert response.status_code == 403
    assert_event(telemetry, "authz_fail", severity="WARN", outcome="failure", reason="forbidden")


@pytest.mark.parametrize("testing", [False, True])
def test_unhandled_exception_is_one_scrubbed_sys_error(telemetry: Telemetry, testing: bool) -> None:
    """An unhandled exception is one sys_error with its type and a scrubbed message.

    Also when TESTING propagates the exception and after_request never runs.
    """
    client = make_app(TESTING=testing).test_client()
    if testing:
        with pytest.raises(RuntimeError):
            client.get("/crash")
    else:
        assert client.get("/crash").status_code == 500
    attributes = assert_event(
        telemetry,
        "sys_error",
        severity="ERROR",
        outcome="failure",
        reason="unhandled_exception",
        secret=SECRET,
    )
    assert attributes["exception.type"] == "RuntimeError"
    assert "db said password=" in attributes["exception.message"]


def test_success_and_not_found_are_quiet(telemetry: Telemetry) -> None:
    """200 and 404 responses emit no status event (404s are the detectors' business)."""
    client = make_app().test_client()
    client.get("/ok")
    client.get("/missing")
    assert telemetry.records() == []


def test_manual_api_inside_a_request_is_enriched(telemetry: Telemetry) -> None:
    """seclog_core.emit in a view carries the route, method, client and request id."""
    make_app().test_client().get(
        "/manual/report-7",
        headers={"X-Request-ID": "req-42", "User-Agent": "pytest-agent"},
        environ_base={"REMOTE_ADDR": "198.51.100.4"},
    )
    attributes = dict(on_wire(telemetry, "authz_fail").attributes)
    assert attributes["security.resource"] == "report-7"
    assert attributes["http.route"] == "/manual/<item>"
    assert attributes["http.request.id"] == "req-42"
    assert attributes["user_agent.original"] == "pytest-agent"
    assert attributes["client.address"] == "198.51.100.4"
    assert attributes["url.path"] == "/manual/report-7"


def test_event_already_emitted_silences_the_status_fallback(telemetry: Telemetry) -> None:
    """A view that logs access_denied and answers 403 yields one authz_fail, not two."""
    app = make_app()

    @app.get("/explained")
    def explained() -> str:
        seclog_core.access_denied(resource="invoice-9")
        raise Forbidden()

    app.test_client().get("/explained")
    assert on_wire(telemetry, "authz_fail").attributes["security.resource"] == "invoice-9"


def test_context_is_unbound_after_the_request() -> None:
    """After a request, code outside it sees no leftover request context."""
    app = make_app()
    seen = []

    @app.get("/peek")
    def peek() -> str:
        seen.append(current_request_context())
        return "ok"

    app.test_client().get("/peek")
    assert seen[0] is not None and seen[0].route == "/peek"
    assert current_request_context() is None


def test_trusted_proxy_forwarding_is_honoured(telemetry: Telemetry) -> None:
    """Behind a trusted proxy the forwarded client is the client address."""
    app = make_app(SECLOG_TRUSTED_PROXIES="10.0.0.1")
    app.test_client().get(
        "/abort/403",
        headers={"X-Forwarded-For": "192.0.2.50"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    attributes = dict(on_wire(telemetry, "authz_fail").attributes)
    assert attributes["client.address"] == "192.0.2.50"


def test_a_status_answered_by_wsgi_middleware_inside_seclog_is_reported(
    telemetry: Telemetry,
) -> None:
    """A 403 that WSGI middleware wrapped before SecLog answers itself is still authz_fail."""
    app = Flask(__name__)
    inner = app.wsgi_app

    def gate(environ: dict[str, object], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/blocked":
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"no"]
        return inner(environ, start_response)

    app.wsgi_app = gate  # type: ignore[method-assign]
    SecLog(app)
    assert app.test_client().get("/blocked").status_code == 403
    attributes = assert_event(
        telemetry, "authz_fail", severity="WARN", outcome="failure", reason="forbidden"
    )
    assert attributes["url.path"] == "/blocked"
    assert attributes["http.request.method"] == "GET"


def test_the_path_is_the_one_the_request_came_in_with(telemetry: Telemetry) -> None:
    """A dispatcher inside the wrapper that rewrites PATH_INFO does not change url.path."""
    app = Flask(__name__)

    @app.get("/private/<area>")
    def private(area: str) -> str:
        abort(403)

    inner = app.wsgi_app

    def strip_prefix(environ: dict[str, Any], start_response: Any) -> Any:
        environ["PATH_INFO"] = environ["PATH_INFO"].removeprefix("/v1")
        return inner(environ, start_response)

    app.wsgi_app = strip_prefix  # type: ignore[method-assign]
    SecLog(app)
    assert app.test_client().get("/v1/private/vault").status_code == 403
    attributes = dict(on_wire(telemetry, "authz_fail").attributes)
    assert attributes["url.path"] == "/v1/private/vault"
    assert attributes["http.route"] == "/private/<area>"


def test_an_untrusted_forwarding_header_is_reported_on_a_quiet_request(
    telemetry: Telemetry,
) -> None:
    """A forged X-Forwarded-For on a plain 200 is reported, though no other event reads it."""
    app = make_app()
    response = app.test_client().get(
        "/ok",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "198.51.100.4"},
    )
    assert response.status_code == 200
    attributes = dict(on_wire(telemetry, "malicious_extraneous").attributes)
    assert attributes["security.reason"] == "untrusted_forwarded_header"
    assert attributes["client.address"] == "198.51.100.4"
    assert attributes["url.path"] == "/ok"


def test_a_context_read_in_a_view_has_every_fact() -> None:
    """What a view reads from the bound context is complete, though read on first use."""
    app = make_app(SECLOG_TRUSTED_PROXIES="10.0.0.1")
    seen = []

    @app.post("/facts")
    def facts() -> str:
        seen.append(current_request_context())
        return "ok"

    app.test_client().post(
        "/facts",
        headers={"User-Agent": "probe/1", "X-Request-ID": "req-7", "Host": "shop.example:8443"},
        environ_base={"REMOTE_ADDR": "192.0.2.8"},
    )
    ctx = seen[0]
    assert (ctx.client_address, ctx.peer_address) == ("192.0.2.8", "192.0.2.8")
    assert (ctx.method, ctx.path, ctx.route) == ("POST", "/facts", "/facts")
    assert (ctx.user_agent, ctx.request_id, ctx.server_address) == (
        "probe/1",
        "req-7",
        "shop.example",
    )
    assert ctx.scheme == "http"
    assert ctx.status_code == 200
