"""Django: add seclog's app and middleware to the settings just before ``django.setup()``."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import django

APP = "seclog_django"
MIDDLEWARE = "seclog_django.middleware.SecurityLoggingMiddleware"
_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
_original: Callable[..., None] | None = None


def wire_settings(settings: Any) -> None:
    """Add the app and the middleware (after authentication) unless the settings have them."""
    apps = list(settings.INSTALLED_APPS)
    if not any(app == APP or app.startswith(f"{APP}.") for app in apps):
        settings.INSTALLED_APPS = [*apps, APP]
    middleware = list(settings.MIDDLEWARE or [])
    if MIDDLEWARE not in middleware:
        at = middleware.index(_AUTH) + 1 if _AUTH in middleware else len(middleware)
        middleware.insert(at, MIDDLEWARE)
        settings.MIDDLEWARE = middleware


def _setup(*args: Any, **kwargs: Any) -> None:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    assert _original is not None
    # No settings module: Django's own setup reports that, in its words.
    with contextlib.suppress(ImproperlyConfigured):
        wire_settings(settings)
    _original(*args, **kwargs)


def install() -> None:
    # manage.py, wsgi.py and asgi.py all call django.setup() through the module attribute.
    global _original
    if _original is None:
        _original = django.setup
        django.setup = _setup


def uninstall() -> None:
    global _original
    if _original is not None:
        django.setup = _original
        _original = None
