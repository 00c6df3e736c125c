"""The instrumentor's hooks, in process: what they add, what they leave alone, and undo."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import django
import pytest
from flask import Flask, abort
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from seclog_asgi import SecurityLoggingMiddleware
from seclog_core.testing import capture_security_events
from seclog_instrumentation import SecLogInstrumentor
from seclog_instrumentation._django import MIDDLEWARE, wire_settings
from tests.asgi._testclient import TestClient


@pytest.fixture
def instrumentor(monkeypatch: pytest.MonkeyPatch) -> Iterator[SecLogInstrumentor]:
    monkeypatch.setenv("SECLOG_DETECTOR_STATE", "process")
    monkeypatch.setenv("SECLOG_LOCAL_SINK", "none")
    instrumentor = SecLogInstrumentor()
    instrumentor.instrument()
    try:
        yield instrumentor
    finally:
        instrumentor.uninstrument()


def _forbidden(request: Request) -> PlainTextResponse:
    return PlainTextResponse("no", status_code=403)


def test_uninstrument_restores_every_framework() -> None:
    """instrument() patches one method per framework; uninstrument() puts each back."""
    originals = (django.setup, Flask.wsgi_app, Starlette.build_middleware_stack)
    instrumentor = SecLogInstrumentor()
    instrumentor.instrument()
    try:
        patched = (django.setup, Flask.wsgi_app, Starlette.build_middleware_stack)
        assert all(a is not b for a, b in zip(originals, patched, strict=True))
    finally:
        instrumentor.uninstrument()
    assert (django.setup, Flask.wsgi_app, Starlette.build_middleware_stack) == originals


@pytest.mark.usefixtures("instrumentor")
def test_starlette_app_gets_the_middleware_once_even_inside_an_outer_wrapper() -> None:
    """A plain app is logged; an app also wrapped in SecurityLoggingMiddleware is not doubled."""
    plain = Starlette(routes=[Route("/admin", _forbidden)])
    wrapped = SecurityLoggingMiddleware(Starlette(routes=[Route("/admin", _forbidden)]))
    for app in (plain, wrapped):
        with capture_security_events() as events, TestClient(app) as client:
            assert client.get("/admin").status_code == 403
        assert events.types == ["authz_fail"]


@pytest.mark.usefixtures("instrumentor")
def test_flask_app_without_seclog_gets_one_on_its_first_request() -> None:
    """The first request initializes SecLog, and that request is already logged."""
    app = Flask(__name__)

    @app.get("/admin")
    def admin() -> str:
        abort(403)

    assert "seclog" not in app.extensions
    with capture_security_events() as events:
        assert app.test_client().get("/admin").status_code == 403
        assert app.test_client().get("/admin").status_code == 403
    assert "seclog" in app.extensions
    assert events.types == ["authz_fail", "authz_fail"]


def test_django_settings_gain_the_app_and_the_middleware_after_authentication() -> None:
    """The middleware goes right after AuthenticationMiddleware; existing wiring is kept."""

    settings = SimpleNamespace(
        INSTALLED_APPS=["django.contrib.auth"],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
    )
    wire_settings(settings)
    wire_settings(settings)  # idempotent
    assert settings.INSTALLED_APPS == ["django.contrib.auth", "seclog_django"]
    assert settings.MIDDLEWARE[2] == MIDDLEWARE
    assert settings.MIDDLEWARE.count(MIDDLEWARE) == 1
