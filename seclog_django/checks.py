"""Django system checks for a seclog setup (``manage.py check``).

| id | what |
|---|---|
| ``seclog.E001`` | the ``SECLOG`` settings are invalid (the message names the key) |
| ``seclog.W001`` | ``SecurityLoggingMiddleware`` is not in ``MIDDLEWARE`` |
| ``seclog.W002`` | it sits before ``AuthenticationMiddleware`` |
| ``seclog.W003`` | ``seclog_django`` is not in ``INSTALLED_APPS`` |
| ``seclog.W004`` | proxy headers are trusted by Django but no trusted proxies are set |
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from seclog_core import ConfigError

from .settings import build_pipeline

__all__ = ["check_app", "check_middleware", "check_proxies", "check_settings"]

MIDDLEWARE = "seclog_django.middleware.SecurityLoggingMiddleware"
AUTH_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


@register(Tags.security)
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seclog.E001``: every seclog setting has a valid value."""
    try:
        build_pipeline()
    except ConfigError as exc:
        return [
            Error(
                str(exc),
                hint="Fix the key in settings.SECLOG (keys are seclog setting names).",
                id="seclog.E001",
            )
        ]
    return []


@register(Tags.security)
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seclog.W001``/``W002``: the middleware is installed, after authentication."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if MIDDLEWARE not in middleware:
        return [
            Warning(
                "seclog's middleware is not installed: requests get no client address, "
                "route or user, and 401/403/429/5xx responses are not reported.",
                hint=f'Add "{MIDDLEWARE}" to MIDDLEWARE, after {AUTH_MIDDLEWARE}.',
                id="seclog.W001",
            )
        ]
    if AUTH_MIDDLEWARE in middleware and middleware.index(MIDDLEWARE) < middleware.index(
        AUTH_MIDDLEWARE
    ):
        return [
            Warning(
                "SecurityLoggingMiddleware runs before AuthenticationMiddleware, so events "
                "emitted early in a request cannot name the user.",
                hint=f"Move {MIDDLEWARE} after {AUTH_MIDDLEWARE}.",
                id="seclog.W002",
            )
        ]
    return []


@register(Tags.security)
def check_app(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seclog.W003``: the app is installed (its receivers catch auth, CSRF, admin events)."""
    installed = [str(app) for app in getattr(settings, "INSTALLED_APPS", [])]
    if any(app == "seclog_django" or app.startswith("seclog_django.") for app in installed):
        return []
    return [
        Warning(
            "seclog_django is not in INSTALLED_APPS: logins, password and privilege "
            "changes, CSRF failures and suspicious operations are not reported.",
            hint='Add "seclog_django" to INSTALLED_APPS.',
            id="seclog.W003",
        )
    ]


@register(Tags.security)
def check_proxies(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``seclog.W004``: Django trusts proxy headers but seclog was told of no proxy."""
    behind_proxy = [
        name
        for name in ("USE_X_FORWARDED_HOST", "USE_X_FORWARDED_PORT", "SECURE_PROXY_SSL_HEADER")
        if getattr(settings, name, None)
    ]
    if not behind_proxy:
        return []
    try:
        proxies = build_pipeline().settings
    except ConfigError:
        return []  # seclog.E001 says it
    if proxies.trusted_proxies or proxies.trusted_proxy_count:
        return []
    return [
        Warning(
            f"{', '.join(behind_proxy)} says the site runs behind a proxy, but seclog has no "
            "trusted proxies: every event will carry the proxy's address as client.address.",
            hint='Set SECLOG = {"trusted_proxies": ["10.0.0.0/8"]} (your proxies) or '
            '{"trusted_proxy_count": 1}.',
            id="seclog.W004",
        )
    ]
