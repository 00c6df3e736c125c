"""The Flask extension contract: init_app, factories, per-app settings and clear errors."""

from __future__ import annotations

import importlib.util
import sys

import pytest
from flask import Flask, abort

import seclog_core
from seclog_core import ConfigError
from seclog_flask import SecLog, get_state
from tests.flask.conftest import on_wire
from tests.support.telemetry import Telemetry

OPTIONAL = ("flask_login", "flask_security", "flask_wtf", "flask_limiter")


def forbidden_app(name: str = "app", **config: object) -> Flask:
    app = Flask(name)
    app.config.update(config)

    @app.get("/forbidden")
    def forbidden() -> str:
        abort(403)

    return app


def test_direct_construction_hooks_the_app(telemetry: Telemetry) -> None:
    """SecLog(app) logs the app's requests and keeps its state in app.extensions."""
    app = forbidden_app()
    SecLog(app)
    app.test_client().get("/forbidden")
    on_wire(telemetry, "authz_fail")
    assert get_state(app) is app.extensions["seclog"]


def test_factory_init_app_and_no_app_on_the_extension(telemetry: Telemetry) -> None:
    """One SecLog() serves apps built by a factory and stores no app itself."""
    seclog = SecLog()

    def create_app() -> Flask:
        app = forbidden_app()
        seclog.init_app(app)
        return app

    first, second = create_app(), create_app()
    assert not hasattr(seclog, "app")
    first.test_client().get("/forbidden")
    second.test_client().get("/forbidden")
    assert [r.event_name for r in telemetry.records()] == ["security.authz_fail"] * 2
    assert seclog.get_pipeline(first) is not seclog.get_pipeline(second)


def test_second_init_app_is_a_clear_error() -> None:
    """Initializing seclog twice on one app raises RuntimeError naming the app."""
    app = forbidden_app("shop")
    SecLog(app)
    with pytest.raises(RuntimeError, match="already initialized on app 'shop'"):
        SecLog().init_app(app)


def test_missing_init_app_is_a_clear_error() -> None:
    """Asking for seclog state of an app that never ran init_app raises RuntimeError."""
    app = forbidden_app("plain")
    with pytest.raises(RuntimeError, match="not initialized on app 'plain'"):
        SecLog().get_pipeline(app)
    with app.app_context(), pytest.raises(RuntimeError, match="init_app"):
        get_state()
    with pytest.raises(RuntimeError, match="pass one"):
        get_state()


def test_app_without_init_app_is_not_logged(telemetry: Telemetry) -> None:
    """An app seclog was not given stays untouched even when another app has seclog."""
    SecLog(forbidden_app("watched"))
    forbidden_app("unwatched").test_client().get("/forbidden")
    assert telemetry.records() == []


def test_two_apps_keep_their_own_settings(telemetry: Telemetry) -> None:
    """Two apps in one process each resolve clients and redact by their own settings."""
    proxied = forbidden_app("proxied", SECLOG_TRUSTED_PROXIES=["10.0.0.1"])
    direct = forbidden_app("direct", SECLOG_REDACT_KEYS="order_ref")
    SecLog(proxied)
    SecLog(direct)

    @direct.get("/order")
    def order() -> str:
        seclog_core.emit("authz_fail", order_ref="A-1")
        return "ok"

    forwarded = {"X-Forwarded-For": "192.0.2.50"}
    peer = {"REMOTE_ADDR": "10.0.0.1"}
    proxied.test_client().get("/forbidden", headers=forwarded, environ_base=peer)
    direct.test_client().get("/order", headers=forwarded, environ_base=peer)
    by_route = {
        r.attributes["http.route"]: dict(r.attributes)
        for r in telemetry.records()
        if r.event_name == "security.authz_fail"
    }
    assert by_route["/forbidden"]["client.address"] == "192.0.2.50"
    assert by_route["/order"]["client.address"] == "10.0.0.1"
    assert by_route["/order"]["security.order_ref"] == "[REDACTED]"
    assert get_state(proxied).pipeline.settings.trusted_proxies == ("10.0.0.1",)
    assert get_state(direct).pipeline.settings.trusted_proxies == ()


def test_options_win_over_app_config() -> None:
    """Keyword options to SecLog win over app.config SECLOG_* keys."""
    app = forbidden_app(SECLOG_ECS=False)
    SecLog(app, ecs=True)
    assert get_state(app).pipeline.settings.ecs is True


def test_bad_setting_fails_at_init_naming_the_key() -> None:
    """A malformed SECLOG_* value is a ConfigError at start-up, not at the first request."""
    with pytest.raises(ConfigError, match="max_value_length"):
        SecLog(forbidden_app(SECLOG_MAX_VALUE_LENGTH="lots"))


def test_flask_only_settings_get_documented_defaults() -> None:
    """init_app fills the Flask-only keys with setdefault, keeping the app's own values."""
    app = forbidden_app(SECLOG_REQUEST_ID_HEADER="X-Trace")
    SecLog(app)
    assert app.config["SECLOG_REQUEST_ID_HEADER"] == "X-Trace"
    assert app.config["SECLOG_USER_NAME_ATTRIBUTES"] == ("username", "name", "email")


def test_works_when_no_optional_integration_is_installed(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With Flask-Login, Flask-Security, Flask-WTF and Flask-Limiter absent, seclog still works."""
    for name in OPTIONAL:
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            monkeypatch.delitem(sys.modules, module)
        monkeypatch.setitem(sys.modules, name, None)  # import now raises ImportError
    app = forbidden_app()
    SecLog(app)
    assert get_state(app).integrations == ()
    app.test_client().get("/forbidden")
    on_wire(telemetry, "authz_fail")


def test_installed_integrations_are_reported() -> None:
    """Every optional integration installed in this environment is switched on."""
    app = forbidden_app()
    SecLog(app)
    installed = tuple(name for name in OPTIONAL if importlib.util.find_spec(name) is not None)
    assert get_state(app).integrations == installed
    assert "flask_login" in installed
